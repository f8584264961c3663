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
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from backtest.model import Costs, settings_for
from backtest.runner import Request, StrategyRequest, execute, prepare
from collector.service import CollectorService
from config import load_config
from config.credentials import simulator_credentials
from exchange import make_account_client, make_public_client
from notify.service import RecordingNotifier
from simulator.fills import MAKER_FEE, TAKER_FEE
from simulator.server import RunningSimulator, start_background
from tests.integration.test_trader_helpers import SimLinkedClock, register_account
from trader.context import build_context
from trader.cycle import run_cycle
from trader.preflight import preflight

START = datetime(2025, 3, 3, 0, 0, tzinfo=UTC)
BARS = 240
ACCOUNT = "ident"
STRATEGIES = [
    ("BTC-USDT-SWAP", "bollinger", {"n": 12, "m": 1.5}, 3),
    ("ETH-USDT-SWAP", "sma_cross", {"fast": 3, "slow": 8}, 2),
    ("SOL-USDT", "sma_cross", {"fast": 2, "slow": 6}, 1),
]


def _config(tmp_path: Path, base_url: str) -> Path:
    strategies = ",\n".join(
        f"        Strategy({inst!r}, {name!r}, params={params!r}, leverage={lev!r})"
        for inst, name, params, lev in STRATEGIES
    )
    path = tmp_path / "config.py"
    path.write_text(
        "from config import Account, Collector, Exchange, Notify, Strategy, Trader\n"
        f"EXCHANGE = Exchange(mode='simulator', base_url={base_url!r})\n"
        f"DATA_DIR = {str(tmp_path / 'data')!r}\n"
        "CANDLE_TIMEZONE = 'UTC'\n"
        "COLLECTOR = Collector(history_bars=40, confirm_retry_s=5)\n"
        "TRADER = Trader(order_type='limit', slippage='0.002', reprice_attempts=2, order_wait_s=5)\n"
        "NOTIFY = Notify(dingtalk=None, report_every_minutes=0)\n"
        f"ACCOUNTS = {{{ACCOUNT!r}: Account(credentials='OKX_IDENT', interval='1m', strategies=[\n"
        f"{strategies}\n    ])}}\n",
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


def test_trader_and_backtest_agree_bar_for_bar(sim: RunningSimulator, tmp_path: Path) -> None:
    # Arrange: a collector and a trader on one clock, trading BARS one-minute bars
    sim.control.set_rate_limits(False)
    register_account(sim.control, ACCOUNT, balance="10000", pos_mode="net")
    cfg = load_config(_config(tmp_path, sim.base_url), environ={}, env_file=tmp_path / "absent.env")
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
        closes = [START + timedelta(minutes=k) for k in range(1, BARS + 1)]
        for close in closes:
            clock.set(close + timedelta(seconds=1))
            assert collector.tick() is not None
            clock.set(close + timedelta(seconds=2))
            assert run_cycle(ctx, close).status == "done"
        journal = ctx.journal
        equity = {
            datetime.fromisoformat(r["bar_close"]): Decimal(r["equity"])
            for r in journal.query("SELECT bar_close, equity FROM cycles WHERE status = 'done'")
        }
        signals = {
            (datetime.fromisoformat(r["bar_close"]), r["inst_id"]): r["target"]
            for r in journal.query("SELECT bar_close, inst_id, target, status FROM signals")
            if r["status"] != "skipped"
        }
        orders = sorted(
            (datetime.fromisoformat(r["bar_close"]), r["inst_id"], r["leg"], r["side"], Decimal(r["sz"]))
            for r in journal.query("SELECT * FROM orders WHERE attempt = 0")
        )
        filled = journal.query("SELECT COUNT(*) AS n FROM orders WHERE attempt > 0")[0]["n"]

        # Act: backtest the same account on the CSVs the collector wrote
        account = cfg.account(ACCOUNT)
        request = Request(
            ACCOUNT,
            account.interval_obj,
            tuple(StrategyRequest(s.inst_id, s.name, s.params, s.leverage) for s in account.strategies),
            settings_for(  # the account's own trader settings, the simulator's fees
                account.trader, initial_equity=Decimal(10000), costs=Costs(maker=MAKER_FEE, taker=TAKER_FEE)
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

    # Assert: the same targets at the same bars ...
    result = outcome.result
    bar_closes = [datetime.fromtimestamp(int(t), tz=UTC) for t in result.closes]
    assert bar_closes == closes
    assert len(signals) == BARS * len(STRATEGIES)
    for lane in result.lanes:
        ours = [None if np.isnan(v) else int(v) for v in lane.raw]
        theirs = [signals[(close, lane.run.inst_id)] for close in closes]
        assert ours == theirs, lane.run.inst_id
        assert sum(t is not None for t in theirs) >= 5, f"{lane.run.inst_id}: too few signals to compare"
    # ... and orders of the same size (first attempts; a re-priced remainder has no backtest twin)
    assert filled == 0, "every trader order filled at its first price, so the first attempts are all"
    backtested = sorted((f.time, f.inst_id, f.kind, f.side, f.sz) for f in result.fills)
    assert len(orders) >= 20
    assert {kind for _, _, kind, _, _ in orders} >= {"open", "close"}
    assert backtested == orders
    assert not any(lane.refusals or lane.skips for lane in result.lanes)
