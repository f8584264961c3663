"""Helpers for the WebSocket feed's integration tests (no tests here).

The simulator's clock stays frozen and is moved by the test; the collector gets a
:class:`RunningClock` — virtual time that runs at wall speed from wherever the test last put it —
because the feed waits for pushes that arrive in real time (a fake clock would skip the wait).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from collector.cycle import CycleReport
from collector.service import CollectorService
from collector.ws_feed import WsFeed
from config import load_config
from core.bars import Bar
from exchange import PublicClient
from notify.service import RecordingNotifier
from simulator.server import RunningSimulator
from tests.integration.test_collector_support import native_bars, public_client, write_config

__all__ = ["RunningClock", "WsRig", "make_ws_rig", "wait_for"]


class RunningClock:
    """Virtual time running at wall speed from the last :meth:`set`; sleeps are real."""

    def __init__(self, start: datetime) -> None:
        self._lock = threading.Lock()
        self._anchor = start
        self._wall = time.monotonic()

    def now(self) -> datetime:
        with self._lock:
            return self._anchor + timedelta(seconds=time.monotonic() - self._wall)

    def set(self, ts: datetime) -> None:
        with self._lock:
            self._anchor, self._wall = ts, time.monotonic()

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        if stop is None:
            time.sleep(max(0.0, seconds))
            return True
        return not stop.wait(max(0.0, seconds))

    def sleep_until(self, deadline: datetime, stop: threading.Event | None = None) -> bool:
        return self.sleep((deadline - self.now()).total_seconds(), stop)


def wait_for(what: str, check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait (sleeping) until ``check()`` holds; fail naming ``what`` after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class WsRig:
    sim: RunningSimulator
    clock: RunningClock
    client: PublicClient
    service: CollectorService
    close: datetime  # the last close the rig moved to

    @property
    def feed(self) -> WsFeed:
        assert isinstance(self.service.feed, WsFeed)
        return self.service.feed

    def move_to(self, close: datetime) -> None:
        self.sim.control.set_clock(close, mode="frozen")
        self.clock.set(close)
        self.close = close

    def bar(self, minutes: int = 1) -> CycleReport:
        """Move both clocks to the next close (``minutes`` later) and run its cycle."""
        self.move_to(self.close + timedelta(minutes=minutes))
        return self.service.run_cycle(self.close)

    def wait_live(self, count: int) -> None:
        wait_for(f"{count} live instrument(s)", lambda: self.feed.status().live_instruments == count)

    def csv(self, inst: str) -> list[Bar]:
        return self.service.store.read_all(inst, "1m")

    def native(self, inst: str) -> list[Bar]:
        rows = self.csv(inst)
        end = rows[-1].ts + timedelta(minutes=1)
        return native_bars(self.client, inst, "1m", "Asia/Shanghai", rows[0].ts, end)

    def close_all(self) -> None:
        self.service.close()
        self.client.close()


def make_ws_rig(
    sim: RunningSimulator, tmp_path: Path, insts: Sequence[str], close: datetime, *, deadline_s: float = 1.0,
    extra: Mapping[str, str] | None = None, ping_every_s: float = 25.0,
) -> WsRig:  # fmt: skip
    """A started collector with the WebSocket feed, its CSVs caught up to ``close``."""
    settings = f"history_bars=30, confirm_retry_s=5, ws_deadline_s={deadline_s}"
    settings += "".join(f", {k}={v}" for k, v in (extra or {}).items())
    cfg = load_config(write_config(tmp_path, sim.base_url, {"a": ("1m", list(insts))}, collector=settings))
    clock = RunningClock(close)
    sim.control.set_clock(close, mode="frozen")
    client = public_client(cfg, close)
    service = CollectorService(cfg, clock=clock, client=client, notifier=RecordingNotifier(), progress=False)
    rig = WsRig(sim, clock, client, service, close)
    service.start_up()
    rig.feed.ping_every_s = ping_every_s
    service.feed.start()
    return rig
