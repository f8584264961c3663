"""Shared rig for the trader's integration tests (no tests here).

- ``test_target`` (:mod:`tests.integration.test_trader_strategy`): the strategy the tests trade,
  its target written into the candle data.
- :class:`SimLinkedClock`: a :class:`FakeClock` that moves the (frozen) simulator's clock with it,
  so signed requests stay within OKX's 30 s skew and polling sleeps cost no wall time.
- :class:`TraderRig`: a config file, a simulator account, real exchange clients and a
  :class:`~trader.context.TraderContext`; ``publish`` writes the CSVs and the marker for a bar,
  ``run`` runs that bar's cycle.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from config import load_config
from config.credentials import simulator_credentials
from core.bars import Bar
from core.clock import FakeClock
from core.intervals import Interval, parse_interval
from core.markers import InstrumentStatus, Marker, MarkerStore
from core.store import CandleStore
from exchange import make_account_client, make_public_client
from notify.service import RecordingNotifier, make_notifier
from simulator.control import SimControl
from simulator.server import RunningSimulator
from tests.integration.test_trader_strategy import STRATEGY, VOLUME, test_target
from trader.context import TraderContext, build_context
from trader.cycle import CycleResult, run_cycle
from trader.ports import NotifierPort
from trader.preflight import PreflightResult, preflight

__all__ = [
    "STRATEGY",
    "T0",
    "SimLinkedClock",
    "TraderRig",
    "config_text",
    "publish_bar",
    "register_account",
    "rig_pool",
    "test_target",
]

T0 = datetime(2025, 1, 6, 0, 0, tzinfo=UTC)  # a bar close for every interval up to 1d (UTC)


class SimLinkedClock(FakeClock):
    """A fake clock that keeps a frozen simulator's clock in step."""

    def __init__(self, start: datetime, control: SimControl) -> None:
        super().__init__(start)
        self.control = control
        control.set_clock(start, mode="frozen")

    def set(self, ts: datetime) -> None:
        super().set(ts)
        self.control.set_clock(ts, mode="frozen")

    def advance(self, seconds: float) -> datetime:
        now = super().advance(seconds)
        self.control.set_clock(now, mode="frozen")
        return now


def config_text(
    base_url: str,
    data_dir: Path,
    account: str,
    insts: dict[str, Any],
    *,
    interval: str = "1m",
    trader: dict[str, Any] | None = None,
    notify: str = "Notify(dingtalk=None, report_every_minutes=0)",
    register_strategy: bool = False,
) -> str:
    """A simulator-mode config.py with one account trading ``insts`` (inst -> leverage)."""
    strategies = ",\n".join(
        f"        Strategy({inst!r}, {STRATEGY!r}, params={{}}, leverage={lev!r})"
        for inst, lev in insts.items()
    )
    opts = {"order_type": "limit", "slippage": "0.002", "reprice_attempts": 2, "order_wait_s": 5}
    opts.update(trader or {})
    trader_args = ", ".join(f"{k}={v!r}" for k, v in opts.items())
    imports = (
        "import tests.integration.test_trader_strategy  # registers test_target\n"
        if register_strategy
        else ""
    )
    return (
        f"from config import Account, DingTalk, Exchange, Notify, Strategy, Trader\n{imports}\n"
        f"EXCHANGE = Exchange(mode='simulator', base_url={base_url!r})\n"
        f"DATA_DIR = {str(data_dir)!r}\n"
        "CANDLE_TIMEZONE = 'UTC'\n"
        "MAX_LEVERAGE = 20\n"
        f"TRADER = Trader({trader_args})\n"
        f"NOTIFY = {notify}\n"
        "ACCOUNTS = {\n"
        f"    {account!r}: Account(credentials='OKX_{account.upper()}', interval={interval!r}, strategies=[\n"
        f"{strategies}\n    ]),\n"
        "}\n"
    )


def register_account(control: SimControl, account: str, *, balance: str, pos_mode: str) -> None:
    creds = simulator_credentials(account)
    control.add_account(
        creds.api_key, creds.secret, creds.passphrase, balance=balance, pos_mode=pos_mode, name=account
    )


def publish_bar(
    store: CandleStore,
    markers: MarkerStore | None,
    interval: Interval,
    bar_close: datetime,
    targets: dict[str, int | None],
    closes: dict[str, Decimal],
    *,
    status: dict[str, str] | None = None,
    created_at: datetime | None = None,
) -> None:
    """Each instrument's CSV through the bar closing at ``bar_close`` (its target in the last
    bar's volume, its close from ``closes``), then the marker unless ``markers`` is None.

    ``status`` per instrument: ``ok`` (default), ``failed`` (marker says failed) or ``stale``
    (marker and CSV stop one bar early)."""
    iv = interval
    bar_open = bar_close - iv.delta
    statuses: dict[str, InstrumentStatus] = {}
    for inst, target in targets.items():
        state = (status or {}).get(inst, "ok")
        close = closes[inst]
        last = bar_open - iv.delta if state == "stale" else bar_open
        bars = [
            Bar(last - iv.delta * k, close, close, close, close, Decimal(9), Decimal(0), Decimal(0))
            for k in (2, 1)
        ] + [Bar(last, close, close, close, close, VOLUME[target], Decimal(0), Decimal(0))]
        store.rewrite(inst, iv, bars)
        if state == "failed":
            statuses[inst] = InstrumentStatus(ok=False, reason="fetch failed 3 times")
        else:
            statuses[inst] = InstrumentStatus(ok=True, last_candle=last)
    if markers is not None:
        markers.write(Marker(iv.name, bar_open, bar_close, created_at or bar_close, statuses))


class TraderRig:
    """One account of a running simulator, traded in-process by a real TraderContext."""

    def __init__(
        self,
        sim: RunningSimulator,
        tmp_path: Path,
        *,
        account: str = "t1",
        insts: dict[str, Any] | None = None,
        pos_mode: str = "net",
        balance: str = "10000",
        trader: dict[str, Any] | None = None,
        interval: str = "1m",
        notifier: NotifierPort | str | None = None,
        env: dict[str, str] | None = None,
        notify: str = "Notify(dingtalk=None, report_every_minutes=0)",
        start: datetime = T0,
    ) -> None:
        self.sim = sim
        self.control = sim.control
        self.account = account
        self.interval = parse_interval(interval)
        self.insts = insts or {"BTC-USDT-SWAP": 3}
        # The simulator's budgets run on wall time while this rig's clock is fake: a test crams a
        # day of requests into a second, so OKX's per-2 s limits are off here (not in the bench).
        self.control.set_rate_limits(False)
        register_account(self.control, account, balance=balance, pos_mode=pos_mode)
        tmp_path.mkdir(parents=True, exist_ok=True)
        path = tmp_path / "config.py"
        text = config_text(
            sim.base_url,
            tmp_path / "data",
            account,
            self.insts,
            interval=interval,
            trader=trader,
            notify=notify,
        )
        path.write_text(text, encoding="utf-8")
        self.cfg = load_config(path, environ=env or {}, env_file=tmp_path / "absent.env")
        self.clock = SimLinkedClock(start - timedelta(seconds=30), self.control)
        creds = simulator_credentials(account)
        self.client = make_account_client(self.cfg.exchange, creds, self.clock, account=account)
        self.public = make_public_client(self.cfg.exchange, self.clock)
        if notifier == "real":  # DingTalk as configured (the fake robot in tests)
            notifier = make_notifier(self.cfg, process=f"trader-{account}", account=account)
        self.notifier: Any = notifier if notifier is not None else RecordingNotifier()
        self.ctx: TraderContext = build_context(
            self.cfg,
            account,
            client=self.client,
            public=self.public,
            clock=self.clock,
            notifier=self.notifier,
            poll_s=0.5,
        )

    # ---- driving ------------------------------------------------------------------------------
    def preflight(self) -> PreflightResult:
        return preflight(self.ctx)

    def price(self, inst_id: str) -> Decimal:
        return self.control.price(inst_id)

    def publish(
        self,
        bar_close: datetime,
        targets: dict[str, int | None],
        *,
        closes: dict[str, Decimal] | None = None,
        status: dict[str, str] | None = None,
        marker: bool = True,
    ) -> None:
        """Write the CSVs through the bar closing at ``bar_close`` and the marker (see publish_bar)."""
        prices = {i: (closes or {}).get(i) or self.price(i) for i in targets}
        publish_bar(
            self.ctx.store, self.ctx.markers if marker else None, self.interval, bar_close, targets, prices,
            status=status, created_at=self.clock.now(),
        )  # fmt: skip

    def run(self, bar_close: datetime, delay_s: float = 2.0) -> CycleResult:
        self.clock.set(bar_close + timedelta(seconds=delay_s))
        return run_cycle(self.ctx, bar_close)

    # ---- reading --------------------------------------------------------------------------------
    def position(self, inst_id: str) -> Decimal:
        return sum((p.signed_pos for p in self.client.positions() if p.inst_id == inst_id), Decimal(0))

    def sim_orders(self) -> list[dict[str, Any]]:
        return [o for o in self.control.orders() if o["account"] == self.account]

    def events(self, kind: type) -> list[Any]:
        return [e for e in self.notifier.events if isinstance(e, kind)]

    def close(self) -> None:
        self.notifier.close()
        self.ctx.close()
        self.client.close()
        self.public.close()


@contextlib.contextmanager
def rig_pool(sim: RunningSimulator, tmp_path: Path, prefix: str) -> Iterator[Callable[..., TraderRig]]:
    """Makes rigs on ``sim``, each its own account ``<prefix><random>`` in its own folder, preflighted;
    closes them all at the end."""
    rigs: list[TraderRig] = []

    def make(**kwargs: Any) -> TraderRig:
        name = prefix + uuid.uuid4().hex[:10]
        rig = TraderRig(sim, tmp_path / name, account=name, **kwargs)
        rigs.append(rig)
        rig.preflight()
        return rig

    try:
        yield make
    finally:
        for rig in rigs:
            rig.close()
