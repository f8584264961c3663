"""Helpers for the collector's integration tests (no tests here).

A :class:`Rig` is a collector service wired to the module's simulator, with a :class:`LinkedClock`
(a fake clock whose sleeps also advance the simulator's frozen clock, so confirm-retries see time
pass on both sides) and a recording notifier. The exchange client itself waits on the real clock
for its rate budget, and its notion of "now" follows the simulator's start time.
"""

from __future__ import annotations

import textwrap
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from collector.cycle import CycleReport
from collector.fetch import candle_to_bar
from collector.service import CollectorService
from config import load_config
from config.schema import FleetConfig
from core.bars import Bar
from core.clock import FakeClock, ScaledClock
from core.intervals import Interval, okx_bar, parse_interval
from core.markers import Marker
from exchange import PublicClient, make_public_client
from notify.events import DataAlert
from notify.service import RecordingNotifier
from simulator.server import RunningSimulator

__all__ = [
    "LinkedClock", "Rig", "make_rig", "minutes", "native_bars", "public_client", "started_rig",
    "write_config",
]  # fmt: skip

HK = "Asia/Shanghai"


def write_config(
    tmp_path: Path,
    base_url: str,
    accounts: Mapping[str, tuple[str, Sequence[str]]],
    *,
    tz: str = HK,
    collector: str = "history_bars=30, confirm_retry_s=5",
    notify: str = "Notify(dingtalk=None)",
    data_dir: Path | None = None,
) -> Path:
    """A config.py: ``accounts`` maps name -> (interval, instruments), one sma_cross per instrument."""
    lines = []
    for name, (interval, insts) in accounts.items():
        strategies = ", ".join(
            f'Strategy("{inst}", "sma_cross", params={{"fast": 2, "slow": 5}})' for inst in insts
        )
        lines.append(
            f'    "{name}": Account(credentials="OKX_{name.upper()}", interval="{interval}", '
            f"strategies=[{strategies}]),"
        )
    text = textwrap.dedent(
        f"""
        from config import Account, Collector, DingTalk, Exchange, Notify, Strategy
        EXCHANGE = Exchange(mode="simulator", base_url={base_url!r})
        CANDLE_TIMEZONE = {tz!r}
        DATA_DIR = {str(data_dir or tmp_path / "data")!r}
        COLLECTOR = Collector({collector})
        NOTIFY = {notify}
        ACCOUNTS = {{
        """
    )
    path = tmp_path / "config.py"
    path.write_text(text + "\n".join(lines) + "\n}\n")
    return path


class LinkedClock(FakeClock):
    """A fake clock whose sleeps also move the (frozen) simulator clock forward."""

    def __init__(self, start: datetime, sim: RunningSimulator) -> None:
        super().__init__(start)
        self.sim = sim
        self.linked = True
        self._sim_lock = threading.Lock()

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        if self.linked and seconds > 0:
            with self._sim_lock:
                self.sim.control.advance(round(seconds * 1000))
        return super().sleep(seconds, stop)


def public_client(cfg: FleetConfig, virtual_now: datetime) -> PublicClient:
    """A client waiting on wall time for its budget, whose "now" starts at ``virtual_now``."""
    return make_public_client(cfg.exchange, ScaledClock(datetime.now(UTC), virtual_now, 1.0), max_workers=8)


@dataclass
class Rig:
    sim: RunningSimulator
    cfg: FleetConfig
    clock: LinkedClock
    client: PublicClient
    notifier: RecordingNotifier
    service: CollectorService

    @property
    def base(self) -> Interval:
        return self.service.plan.base

    def advance(self, seconds: float) -> None:
        """Move both clocks (the simulator's stays frozen)."""
        self.sim.control.advance(round(seconds * 1000))
        self.clock.advance(seconds)

    def step(self, bars: int = 1) -> CycleReport | None:
        """Advance ``bars`` base bars and run the scheduled job once."""
        self.advance(self.base.seconds * bars)
        return self.service.tick()

    def csv(self, inst: str, interval: str | None = None) -> list[Bar]:
        return self.service.store.read_all(inst, interval or self.base.name)

    def marker(self, interval: str, close: datetime) -> Marker | None:
        return self.service.markers.read(interval, close)

    def alerts(self, kind: str) -> list[DataAlert]:
        return [e for e in self.notifier.of_type(DataAlert) if isinstance(e, DataAlert) and e.kind == kind]

    def new_service(self) -> CollectorService:
        """A second service on the same data (a restarted process)."""
        return CollectorService(self.cfg, clock=self.clock, client=self.client, notifier=self.notifier)

    def close(self) -> None:
        self.service.close()
        self.client.close()


def make_rig(
    sim: RunningSimulator,
    tmp_path: Path,
    accounts: Mapping[str, tuple[str, Sequence[str]]],
    start: datetime,
    **config: str,
) -> Rig:
    """A collector on ``sim`` with both clocks frozen at ``start``."""
    sim.control.set_clock(start, mode="frozen")
    cfg = load_config(write_config(tmp_path, sim.base_url, accounts, **config))
    clock = LinkedClock(start, sim)
    client = public_client(cfg, start)
    notifier = RecordingNotifier()
    service = CollectorService(cfg, clock=clock, client=client, notifier=notifier, progress=False)
    return Rig(sim, cfg, clock, client, notifier, service)


@contextmanager
def started_rig(
    sim: RunningSimulator,
    tmp_path: Path,
    accounts: Mapping[str, tuple[str, Sequence[str]]],
    start: datetime,
    **config: str,
) -> Iterator[Rig]:
    """A started-up :func:`make_rig` on a reset simulator (candle edits cleared before and after)."""
    sim.control.reset()
    sim.control.clear_candle_edits()
    rig = make_rig(sim, tmp_path, accounts, start, **config)
    try:
        rig.service.start_up()
        yield rig
    finally:
        rig.close()
        sim.control.clear_candle_edits()
        sim.control.reset()


def native_bars(
    client: PublicClient, inst: str, interval: str | Interval, tz: str, start: datetime, end: datetime
) -> list[Bar]:
    """The simulator's own confirmed bars of ``interval`` opening in ``[start, end)``."""
    iv = parse_interval(interval) if isinstance(interval, str) else interval
    candles = client.candles_range(inst, okx_bar(iv, tz), start, end)
    return [candle_to_bar(c) for c in candles if c.confirmed]


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
