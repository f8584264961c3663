"""Identity: the trader against the simulator, then the backtest of the same account on the same
CSVs, give the same targets at the same bars and orders of the same size.

The collector (the real service, in-process) writes the CSVs and markers bar by bar from the
simulator, the trader (the real cycle, in-process) trades them; both run on one fake clock that
keeps the frozen simulator in step. Then the backtester reads those CSVs.

Equity is the one input the two cannot share: the trader sizes from the equity OKX reports, and
the simulator fills at its own prices (fills may differ in price), so the simulated equity drifts
from the real one. The comparison is made honest by sizing the backtest from the equity the
trader journaled for each cycle (``sizing_equity``); every other input of the sizing — the
signal price, slippage, leverage caps, ``ctVal``, ``lotSz``, ``minSz``, the band — is the
backtester's own.

The second scenario covers the rest of the trader's sizing (QA 10): ``Strategy(weight=...)``,
the account's ``max_notional`` clip, a strategy that restates its target every bar (re-sized
each bar, within the band) and one that names a target once an hour and returns ``None`` in
between while a price shock on another coin moves the equity by more than the band: the trader
keeps the size it stored for the standing target, and so must the backtest.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import Field

from backtest.model import Costs, settings_for
from backtest.runner import Outcome, Request, StrategyRequest, execute, prepare
from collector.service import CollectorService
from config import load_config
from config.credentials import simulator_credentials
from exchange import make_account_client, make_public_client
from notify.service import RecordingNotifier
from simulator.fills import MAKER_FEE, TAKER_FEE
from simulator.server import RunningSimulator, start_background
from strategies.registry import StrategyParams, register
from tests.e2e.fleet_strategy import REGIME
from tests.integration.test_trader_helpers import SimLinkedClock, register_account
from trader.context import build_context
from trader.cycle import run_cycle
from trader.preflight import preflight

START = datetime(2025, 3, 3, 0, 0, tzinfo=UTC)
ACCOUNT = "ident"
Spec = tuple[str, str, dict[str, object], int, int]  # inst, strategy, params, leverage, weight
STRATEGIES: list[Spec] = [
    ("BTC-USDT-SWAP", "bollinger", {"n": 12, "m": 1.5}, 3, 1),
    ("ETH-USDT-SWAP", "sma_cross", {"fast": 3, "slow": 8}, 2, 1),
    ("SOL-USDT", "sma_cross", {"fast": 2, "slow": 6}, 1, 1),
]
SCHEDULE = "ident_schedule"


class ScheduleParams(StrategyParams):
    period: int = Field(60, ge=2, strict=True)


@register(SCHEDULE, ScheduleParams, lookback=lambda p: 1)
def ident_schedule(
    df: pd.DataFrame, now_pos: int, avg_price: Decimal | None, params: ScheduleParams
) -> int | None:
    """Every ``period`` minutes a target (long, then short, alternating); ``None`` in between."""
    minute = int(df["candle_begin_time"].iloc[-1].timestamp()) // 60
    if minute % params.period:
        return None
    return 1 if (minute // params.period) % 2 == 0 else -1


def _config(tmp_path: Path, base_url: str, strategies: list[Spec], risk: str) -> Path:
    lines = ",\n".join(
        f"        Strategy({inst!r}, {name!r}, params={params!r}, leverage={lev!r}, weight={weight!r})"
        for inst, name, params, lev, weight in strategies
    )
    path = tmp_path / "config.py"
    path.write_text(
        "from config import Account, Collector, Exchange, Notify, Risk, Strategy, Trader\n"
        f"EXCHANGE = Exchange(mode='simulator', base_url={base_url!r})\n"
        f"DATA_DIR = {str(tmp_path / 'data')!r}\n"
        "CANDLE_TIMEZONE = 'UTC'\n"
        "COLLECTOR = Collector(history_bars=40, confirm_retry_s=5)\n"
        "TRADER = Trader(order_type='limit', slippage='0.002', reprice_attempts=2, order_wait_s=5)\n"
        "NOTIFY = Notify(dingtalk=None, report_every_minutes=0)\n"
        f"ACCOUNTS = {{{ACCOUNT!r}: Account(credentials='OKX_IDENT', interval='1m', risk=Risk({risk}),"
        f" strategies=[\n{lines}\n    ])}}\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    running = start_background(seed=11, accounts=[])
    try:
        yield running
    finally:
        running.stop()


@dataclass
class Traded:
    """What the trader journaled, and the backtest of the same account."""

    closes: list[datetime]
    equity: dict[datetime, Decimal]
    signals: dict[tuple[datetime, str], int | None]
    orders: list[tuple[datetime, str, str, str, Decimal]]
    sized: dict[tuple[datetime, str], Decimal]  # the trader's "sized" signal rows
    clipped: dict[tuple[datetime, str], str]  # their clip reasons
    filled: int
    outcome: Outcome


def _trade_then_backtest(
    sim: RunningSimulator, tmp_path: Path, strategies: list[Spec], bars: int, *, risk: str = "",
    shocks: Mapping[int, tuple[str, Decimal]] | None = None,
) -> Traded:  # fmt: skip
    """Trade ``bars`` one-minute bars (``shocks``: after bar k, move a coin's price by a factor),
    then backtest the account on the CSVs the collector wrote."""
    sim.control.set_rate_limits(False)
    register_account(sim.control, ACCOUNT, balance="10000", pos_mode="net")
    cfg = load_config(_config(tmp_path, sim.base_url, strategies, risk), environ={},
                      env_file=tmp_path / "absent.env")  # fmt: skip
    clock = SimLinkedClock(START + timedelta(seconds=1), sim.control)
    public = make_public_client(cfg.exchange, clock)
    client = make_account_client(cfg.exchange, simulator_credentials(ACCOUNT), clock, account=ACCOUNT)
    notifier = RecordingNotifier()
    collector = CollectorService(cfg, clock=clock, client=public, notifier=notifier, progress=False)
    ctx = build_context(
        cfg, ACCOUNT, client=client, public=public, clock=clock, notifier=notifier, poll_s=0.5
    )
    try:
        collector.start_up()
        assert not preflight(ctx).warnings
        closes = [START + timedelta(minutes=k) for k in range(1, bars + 1)]
        for k, close in enumerate(closes):
            clock.set(close + timedelta(seconds=1))
            assert collector.tick() is not None
            clock.set(close + timedelta(seconds=2))
            assert run_cycle(ctx, close).status == "done"
            if shocks and k in shocks:
                inst, factor = shocks[k]
                sim.control.set_price(inst, sim.control.price(inst) * factor)
        journal = ctx.journal
        equity = {
            datetime.fromisoformat(r["bar_close"]): Decimal(r["equity"])
            for r in journal.query("SELECT bar_close, equity FROM cycles WHERE status = 'done'")
        }
        rows = journal.query("SELECT * FROM signals")
        signals = {
            (datetime.fromisoformat(r["bar_close"]), r["inst_id"]): r["target"]
            for r in rows
            if r["status"] != "skipped"
        }
        sized = {
            (datetime.fromisoformat(r["bar_close"]), r["inst_id"]): Decimal(r["desired"])
            for r in rows
            if r["status"] == "sized"
        }
        clipped = {
            (datetime.fromisoformat(r["bar_close"]), r["inst_id"]): r["reason"]
            for r in rows
            if r["status"] == "sized" and r["reason"]
        }
        orders = sorted(
            (datetime.fromisoformat(r["bar_close"]), r["inst_id"], r["leg"], r["side"], Decimal(r["sz"]))
            for r in journal.query("SELECT * FROM orders WHERE attempt = 0")
        )
        filled = journal.query("SELECT COUNT(*) AS n FROM orders WHERE attempt > 0")[0]["n"]

        account = cfg.account(ACCOUNT)
        request = Request(
            ACCOUNT,
            account.interval_obj,
            tuple(
                StrategyRequest(s.inst_id, s.name, s.params, s.leverage, s.weight) for s in account.strategies
            ),
            settings_for(  # the account's own trader settings and risk limits, the simulator's fees
                account.trader,
                initial_equity=Decimal(10000),
                costs=Costs(maker=MAKER_FEE, taker=TAKER_FEE),
                risk=account.risk,
            ),
            start=closes[0] - timedelta(minutes=1),
            end=closes[-1],
        )
        lanes = prepare(cfg, request, public=public, clock=clock, fetch=False)
        outcome = execute(request, lanes, sizing_equity=equity)
    finally:
        ctx.close()
        collector.close()
        client.close()
        public.close()
    return Traded(closes, equity, signals, orders, sized, clipped, filled, outcome)


def _assert_identical(t: Traded, n_strategies: int, min_orders: int) -> None:
    # the same targets at the same bars ...
    result = t.outcome.result
    bar_closes = [datetime.fromtimestamp(int(c), tz=UTC) for c in result.closes]
    assert bar_closes == t.closes
    assert len(t.signals) == len(t.closes) * n_strategies
    for lane in result.lanes:
        ours = [None if np.isnan(v) else int(v) for v in lane.raw]
        theirs = [t.signals[(close, lane.run.inst_id)] for close in t.closes]
        assert ours == theirs, lane.run.inst_id
        assert sum(x is not None for x in theirs) >= 3, f"{lane.run.inst_id}: too few signals to compare"
    # ... and orders of the same size (first attempts; a re-priced remainder has no backtest twin)
    assert t.filled == 0, "every trader order filled at its first price, so the first attempts are all"
    backtested = sorted((f.time, f.inst_id, f.kind, f.side, f.sz) for f in result.fills)
    assert len(t.orders) >= min_orders
    assert {kind for _, _, kind, _, _ in t.orders} >= {"open", "close"}
    assert backtested == t.orders
    assert not any(lane.refusals or lane.skips for lane in result.lanes)


def test_trader_and_backtest_agree_bar_for_bar(sim: RunningSimulator, tmp_path: Path) -> None:
    traded = _trade_then_backtest(sim, tmp_path, STRATEGIES, 240)
    _assert_identical(traded, len(STRATEGIES), min_orders=20)


WEIGHTED: list[Spec] = [
    ("BTC-USDT-SWAP", SCHEDULE, {"period": 60}, 2, 3),  # a target once an hour, None in between
    ("ETH-USDT-SWAP", REGIME, {"fast": 2, "slow": 4}, 10, 2),  # restates its target every bar
    ("SOL-USDT", "sma_cross", {"fast": 2, "slow": 6}, 1, 1),
]


def test_weights_risk_clips_and_standing_sizes_agree(sim: RunningSimulator, tmp_path: Path) -> None:
    # ETH (~1.2x the equity, clipped to max notional 12000) jumps 12% while BTC's hourly target
    # stands: the equity moves by more than the band between BTC's sizing bar and its next target
    eth = "ETH-USDT-SWAP"
    shocks = {25: (eth, Decimal("1.12")), 85: (eth, Decimal("0.88")), 145: (eth, Decimal("1.12"))}
    traded = _trade_then_backtest(sim, tmp_path, WEIGHTED, 170, risk="max_notional=12000", shocks=shocks)

    _assert_identical(traded, len(WEIGHTED), min_orders=20)
    sized_at = sorted(close for close, inst in traded.sized if inst == "BTC-USDT-SWAP")
    assert len(sized_at) >= 2, "BTC was sized only on its hourly targets"
    drift = max(
        abs(traded.equity[c] / traded.equity[sized_at[0]] - 1)
        for c in traded.closes
        if sized_at[0] < c < sized_at[1]
    )
    assert drift > Decimal("0.1"), f"the equity moved only {drift:.1%} while BTC's size stood"
    assert any(inst == eth and "max notional" in why for (_, inst), why in traded.clipped.items())
