"""Shared set-up of the monitor tests (no tests here): a fleet directory written by the project's
own writers — candle CSVs (``CandleStore``), markers (``MarkerStore``), journals (the trader's
``Journal``) — and a monitor server on a free loopback port.

A standing target and an alert are written through the trader's own ``TargetBook`` and
``Alerter`` (:func:`add_target_and_alert`); :func:`as_older_journal` drops the ``targets`` and
``alerts`` tables so that the "n/a" display of journals from before schema version 2 is tested too.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from aiohttp import web

from config import load_config
from config.schema import FleetConfig
from core.bars import Bar
from core.clock import FakeClock
from core.markers import InstrumentStatus, Marker, MarkerStore
from core.store import CandleStore
from exchange.records import Fill, Order
from monitor.app import build_app
from monitor.views import FleetViews
from notify.events import Event
from tests.e2e.fleet_harness import AccountPlan, StrategyPlan, free_port, write_config
from trader.alerts import Alerter
from trader.journal import Journal, OrderIntent, SignalRow
from trader.targets import TargetBook

__all__ = [
    "BTC",
    "CLOSE",
    "ETH",
    "NOW",
    "MonitorServer",
    "add_target_and_alert",
    "as_older_journal",
    "fleet_config",
    "fleet_files",
    "make_bars",
    "write_candles",
    "write_journal",
    "write_marker",
]

BTC, ETH = "BTC-USDT-SWAP", "ETH-USDT-SWAP"
NOW = datetime(2026, 3, 2, 12, 0, 30, tzinfo=UTC)  # 30 s after a 1m (and 5m) bar closed
CLOSE = NOW.replace(second=0)


def fleet_config(directory: Path) -> FleetConfig:
    """Two accounts: ``alpha`` 1m (sma_cross on BTC, bollinger on ETH), ``beta`` 5m (sma_cross on ETH)."""
    path = write_config(directory, port=free_port(), accounts=[
        AccountPlan("alpha", "1m", (StrategyPlan(BTC), StrategyPlan(ETH, "bollinger", {"n": 20, "m": 2}))),
        AccountPlan("beta", "5m", (StrategyPlan(ETH),)),
    ])  # fmt: skip
    return load_config(path, environ={}, check_credentials=False)


def make_bars(n: int, interval_s: int, end_open: datetime, seed: int = 1) -> list[Bar]:
    rnd = random.Random(seed)
    price = 100.0
    out = []
    for i in range(n):
        ts = end_open - timedelta(seconds=interval_s * (n - 1 - i))
        o = price
        c = max(1.0, o + rnd.uniform(-1, 1))
        hi, lo = max(o, c) + rnd.uniform(0, 0.5), min(o, c) - rnd.uniform(0, 0.5)
        price = c
        d = [Decimal(f"{x:.2f}") for x in (o, hi, lo, c)]
        vol = Decimal(rnd.randint(1, 500))
        out.append(Bar(ts, d[0], d[1], d[2], d[3], vol, vol / 10, vol * d[3]))
    return out


def write_candles(cfg: FleetConfig, inst_id: str, interval: str, bars: list[Bar]) -> Path:
    store = CandleStore(cfg.candles_dir, cfg.candle_timezone)
    store.rewrite(inst_id, interval, bars)
    return store.path(inst_id, interval)


def write_marker(
    cfg: FleetConfig,
    interval: str,
    bar_close: datetime,
    *,
    lag_s: float = 1.5,
    failed: dict[str, str] | None = None,
) -> Path:
    iv_s = {"1m": 60, "5m": 300}[interval]
    bar_open = bar_close - timedelta(seconds=iv_s)
    failed = failed or {}
    statuses = {
        inst: InstrumentStatus(False, reason=failed[inst])
        if inst in failed
        else InstrumentStatus(True, bar_open)
        for inst in cfg.instruments
    }
    marker = Marker(interval, bar_open, bar_close, bar_close + timedelta(seconds=lag_s), statuses)
    return MarkerStore(cfg.markers_dir).write(marker)


def _order(cl: str, inst: str, side: str, sz: str, px: str, fee: str, pnl: str) -> Order:
    return Order(
        inst_id=inst, inst_type="SWAP", ord_id="9" + cl[-6:], cl_ord_id=cl, state="filled", side=side,
        pos_side="net", ord_type="limit", td_mode="cross", px=Decimal(px), sz=Decimal(sz),
        acc_fill_sz=Decimal(sz), avg_px=Decimal(px), fee=Decimal(fee), fee_ccy="USDT", pnl=Decimal(pnl),
        lever=Decimal(2), reduce_only=False, c_time=None, u_time=None,
    )  # fmt: skip


def write_journal(
    cfg: FleetConfig, account: str, closes: list[datetime], *, last_status: str = "done", reason: str = ""
) -> Path:
    """Cycles at ``closes`` (equity rising), a BTC target flip with one filled order each way."""
    path = cfg.journal_dir / f"{account}.sqlite"
    j = Journal(path)
    try:
        for i, close in enumerate(closes):
            j.start_cycle(close, cfg.accounts[account].interval, close)
            last = i == len(closes) - 1
            status = last_status if last else "done"
            j.record_signal(close, SignalRow(BTC, "sma_cross", Decimal(i % 2), 1 - 2 * (i % 2), Decimal(100),
                                             Decimal("0.5"), "sized"), close)  # fmt: skip
            if i < 2:
                cl = f"{account}x{i}bar{int(close.timestamp())}"
                side = "buy" if i == 0 else "sell"
                j.record_intents([OrderIntent(cl, close, BTC, "open", 0, side, "net", "limit", "cross",
                                              Decimal("0.5"), Decimal(100), None)], close)  # fmt: skip
                j.mark_acked(cl, "9" + cl[-6:], close)
                j.update_order(_order(cl, BTC, side, "0.5", "100.5", "-0.02", "1.25" if i else "0"), close)
                at = close + timedelta(seconds=2)
                fill = Fill(BTC, f"t{account}{i}", "9" + cl[-6:], cl, Decimal("100.5"), Decimal("0.5"), side,
                            "net", Decimal("-0.02"), "USDT", at)  # fmt: skip
                j.record_fills([fill])
            j.set_cycle_status(close, status, close + timedelta(seconds=3), equity=Decimal(1000 + i),
                               reason=reason if last else "")  # fmt: skip
    finally:
        j.close()
    return path


class _Sent:
    """A notifier that keeps what it is given (the rig has no DingTalk)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def notify(self, event: Event) -> None:
        self.events.append(event)

    def close(self) -> None:
        pass


def add_target_and_alert(path: Path, at: datetime) -> None:
    """A standing BTC target and an order-rejected alert, written as the trader writes them."""
    j = Journal(path)
    try:
        TargetBook(j).set(BTC, "sma_cross", -1, "strategy", at, bar_close=at.replace(second=0))
        TargetBook(j).set_size(BTC, Decimal("0.5"), at)
        Alerter("alpha", j, _Sent(), FakeClock(at))("order_rejected", "51008 insufficient margin", BTC)
    finally:
        j.close()


def as_older_journal(path: Path) -> None:
    """The journal as written before schema version 2: no ``targets``, no ``alerts``."""
    import sqlite3

    db = sqlite3.connect(path)
    with db:
        db.execute("DROP TABLE targets")
        db.execute("DROP TABLE alerts")
    db.close()


def fleet_files(cfg: FleetConfig, *, new_tables: bool) -> None:
    """The standard picture: 1m fine, 5m with a failed instrument, ``alpha`` trading fine,
    ``beta``'s last cycle skipped; ``new_tables`` adds ``targets``/``alerts`` to ``alpha``."""
    write_candles(cfg, BTC, "1m", make_bars(300, 60, CLOSE - timedelta(minutes=1)))
    write_candles(cfg, ETH, "1m", make_bars(300, 60, CLOSE - timedelta(minutes=1), seed=2))
    write_candles(cfg, ETH, "5m", make_bars(100, 300, CLOSE - timedelta(minutes=5), seed=3))
    write_marker(cfg, "1m", CLOSE - timedelta(minutes=1), lag_s=1.0)
    write_marker(cfg, "1m", CLOSE, lag_s=2.5)
    write_marker(cfg, "5m", CLOSE, failed={BTC: "gap in history"})
    closes = [CLOSE - timedelta(minutes=k) for k in range(5, -1, -1)]
    alpha = write_journal(cfg, "alpha", closes)
    beta = write_journal(cfg, "beta", closes[-2:], last_status="skipped",
                         reason="no marker before the deadline")
    if new_tables:
        add_target_and_alert(alpha, NOW)
    else:
        as_older_journal(alpha)
        as_older_journal(beta)


@dataclass
class MonitorServer:
    """The monitor app on a free 127.0.0.1 port in a background thread (its own event loop)."""

    cfg: FleetConfig
    clock: FakeClock
    token: str | None = None
    url: str = ""

    @contextlib.contextmanager
    def running(self) -> Iterator[MonitorServer]:
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        runner = web.AppRunner(build_app(FleetViews(self.cfg, self.clock), token=self.token, poll_s=0.1))
        port = free_port()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
            ready.set()
            loop.run_forever()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        assert ready.wait(10), "monitor did not start"
        self.url = f"http://127.0.0.1:{port}"
        try:
            yield self
        finally:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()
