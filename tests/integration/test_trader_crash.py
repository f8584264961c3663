"""Crash test: ``python -m trader`` killed with SIGKILL at many points of a cycle, then restarted.

Each scenario: the account holds a long BTC position from an earlier bar; the bar under test
asks for BTC short (a reverse: close, then open) and ETH long (open; batched with BTC's open).
The trader subprocess (``--once``) is killed at a named point (``OKXFLEET_TRADER_CRASH_AT``),
optionally with the simulator losing the response to the order POST (the order is accepted but
the trader never hears of it), and is then started again. Afterwards, from the simulator's own
order log and positions: no clOrdId was ever sent twice, nothing is left working, and each
position is exactly the journaled target — no duplicate exposure, no missed target.

Time: the simulator's clock runs at wall speed from a fixed virtual anchor; each trader process
gets the same anchor through ``OKXFLEET_CLOCK``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from config import load_config
from config.credentials import simulator_credentials
from core.clock import CLOCK_ENV, ScaledClock, from_ms
from core.intervals import parse_interval
from core.markers import MarkerStore
from core.store import CandleStore
from exchange import make_account_client
from exchange.private import AccountClient
from exchange.records import OrderRequest
from simulator.server import RunningSimulator, start_background
from tests.integration.test_trader_helpers import config_text, publish_bar, register_account
from trader.crashpoints import CRASH_ENV
from trader.journal import Journal, SignalRow

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BAR = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)  # the 1h bar under test closes here
BTC, ETH = "BTC-USDT-SWAP", "ETH-USDT-SWAP"
LOST_SINGLE = {"kind": "lost_response", "path": "/api/v5/trade/order", "method": "POST", "count": 1}
LOST_BATCH = {"kind": "lost_response", "path": "/api/v5/trade/batch-orders", "count": 1}


@pytest.fixture(scope="module")
def crash_sim() -> Iterator[RunningSimulator]:
    running = start_background(seed=11, clock_start_ms=int((BAR + timedelta(seconds=5)).timestamp() * 1000))
    try:
        yield running
    finally:
        running.stop()


class Scenario:
    """One account, its config and data directory, and a way to run the trader on it."""

    def __init__(self, sim: RunningSimulator, tmp_path: Path) -> None:
        self.sim = sim
        self.account = "c" + uuid.uuid4().hex[:10]
        self.dir = tmp_path / self.account
        self.dir.mkdir(parents=True)
        register_account(sim.control, self.account, balance="10000", pos_mode="net")
        self.config = self.dir / "config.py"
        trader = {"order_wait_s": 3, "reprice_attempts": 1, "marker_deadline_s": 600}
        self.config.write_text(
            config_text(
                sim.base_url, self.dir / "data", self.account, {BTC: 3, ETH: 3}, interval="1h", trader=trader,
                register_strategy=True,
            ),
            encoding="utf-8",
        )  # fmt: skip
        self.cfg = load_config(self.config, environ={}, env_file=self.dir / "absent.env")

    def clock(self) -> ScaledClock:
        sim_now = from_ms(self.sim.control.now_ms())
        return ScaledClock(datetime.now(UTC), sim_now, 1.0)

    def client(self) -> AccountClient:
        return make_account_client(
            self.cfg.exchange, simulator_credentials(self.account), self.clock(), account=self.account
        )

    def prepare(self, away: Decimal = Decimal(0)) -> None:
        """Hold 3 BTC long (from "an earlier bar"), then publish the bar: BTC short, ETH long.

        ``away`` > 0 puts the bar's closes that far on the wrong side of the market, so the first
        limit orders rest (BTC sells above it, ETH buys below it) until cancelled and re-priced."""
        with self.client() as client:
            client.place_order(OrderRequest(BTC, "cross", "buy", "market", Decimal(3), "earlier1"))
            assert sum(p.signed_pos for p in client.positions(inst_id=BTC)) == 3
        iv = parse_interval("1h")
        closes = {
            BTC: (self.sim.control.price(BTC) * (1 + away)).quantize(Decimal("0.1")),
            ETH: (self.sim.control.price(ETH) * (1 - away)).quantize(Decimal("0.01")),
        }
        store = CandleStore(self.cfg.candles_dir, self.cfg.candle_timezone)
        publish_bar(store, MarkerStore(self.cfg.markers_dir), iv, BAR, {BTC: -1, ETH: 1}, closes)

    def run_trader(self, crash_at: str | None, faults: list[dict[str, Any]] | None = None) -> int:
        self.sim.control.set_faults(faults or [])
        env = {k: v for k, v in os.environ.items() if k not in (CRASH_ENV, CLOCK_ENV)}
        env[CLOCK_ENV] = self.clock().spec()
        if crash_at:
            env[CRASH_ENV] = crash_at
        proc = subprocess.run(
            [sys.executable, "-m", "trader", self.account, "--config", str(self.config), "--once"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        self.sim.control.clear_faults()
        self.last_stderr = proc.stderr
        return proc.returncode

    def check(self) -> dict[str, Any]:
        """The invariants; returns what was seen for scenario-specific assertions."""
        orders = [o for o in self.sim.control.orders() if o["account"] == self.account]
        with self.client() as client:
            signals = assert_converged_once(orders, self.cfg.journal_dir / f"{self.account}.sqlite", client)
        btc_target, eth_target = signals[BTC].desired, signals[ETH].desired
        assert btc_target is not None
        assert eth_target is not None
        assert btc_target > 0
        assert eth_target > 0
        return {"orders": [o for o in orders if o["clOrdId"] != "earlier1"]}


def assert_converged_once(
    orders: list[dict[str, Any]], journal_path: Path, client: AccountClient, bar: datetime = BAR
) -> dict[str, SignalRow]:
    """After the bar (BTC long 3 → short, ETH long): no clOrdId twice, nothing working, the bar's
    cycle done with no open order, positions equal the journaled sizes, the long closed exactly once.
    Returns the bar's journaled signals."""
    ids = Counter(o["clOrdId"] for o in orders)
    assert [cl for cl, n in ids.items() if n > 1] == [], "a clOrdId was sent twice"
    assert [o["clOrdId"] for o in orders if o["state"] in ("live", "partially_filled")] == []
    journal = Journal(journal_path)
    try:
        cycle = journal.cycle(bar)
        assert cycle is not None
        assert cycle.status == "done"
        assert journal.open_orders() == []
        signals = journal.signals(bar)
    finally:
        journal.close()
    pos = {i: sum((p.signed_pos for p in client.positions(inst_id=i)), Decimal(0)) for i in (BTC, ETH)}
    btc, eth = signals[BTC].desired, signals[ETH].desired
    assert btc is not None
    assert eth is not None
    assert pos == {BTC: -btc, ETH: eth}, "duplicate exposure or a missed target"
    closes = [o for o in orders if o["clOrdId"].startswith("oxc") and o["state"] == "filled"]
    assert sum(Decimal(o["order"]["accFillSz"]) for o in closes) == 3  # the long closed exactly once
    return signals


# (crash point, faults while the crashing process runs)
POINTS = [
    ("cycle_start", None),
    ("after_targets", None),
    ("after_intent", None),  # close journaled, not sent
    ("after_send", None),  # close sent, acknowledgement not journaled
    ("after_send", [LOST_SINGLE]),  # close accepted, response lost, then killed
    ("after_ack", None),
    ("after_closes", None),
    ("after_intent:2", None),  # the opens journaled, not sent
    ("after_send:2", [LOST_BATCH]),  # the opens' batch accepted, response lost, then killed
    ("after_ack:2", None),
    ("before_done", None),
]


@pytest.mark.parametrize(("crash_at", "faults"), POINTS, ids=[p + ("+lost" if f else "") for p, f in POINTS])
def test_kill_and_restart(crash_sim: RunningSimulator, tmp_path: Path, crash_at: str, faults: Any) -> None:
    scenario = Scenario(crash_sim, tmp_path)
    scenario.prepare()
    assert scenario.run_trader(crash_at, faults) == -9, scenario.last_stderr[-2000:]
    assert scenario.run_trader(None) == 0, scenario.last_stderr[-2000:]
    seen = scenario.check()
    # close BTC, open BTC, open ETH — plus one more of a leg whose first order never reached OKX
    assert 3 <= len(seen["orders"]) <= 4


@pytest.mark.parametrize("crash_at", ["after_ack", "after_ack:3"])  # phase 1 round 0; phase 2 round 0
def test_kill_while_orders_rest(crash_sim: RunningSimulator, tmp_path: Path, crash_at: str) -> None:
    """Killed with a limit order resting at OKX: the restart cancels it before anything new."""
    scenario = Scenario(crash_sim, tmp_path)
    scenario.prepare(away=Decimal("0.03"))
    assert scenario.run_trader(crash_at) == -9, scenario.last_stderr[-2000:]
    resting = [
        o for o in crash_sim.control.orders() if o["account"] == scenario.account and o["state"] == "live"
    ]
    assert resting, "the crash left no resting order: the scenario does not test what it says"
    assert scenario.run_trader(None) == 0, scenario.last_stderr[-2000:]
    seen = scenario.check()
    states = {o["clOrdId"]: o["state"] for o in seen["orders"]}
    assert all(states[o["clOrdId"]] == "canceled" for o in resting)


def test_killed_again_and_again(crash_sim: RunningSimulator, tmp_path: Path) -> None:
    """One bar, a kill at each step in turn (every restart resumes from the journal)."""
    scenario = Scenario(crash_sim, tmp_path)
    scenario.prepare()
    chain = [
        ("after_intent", None),
        ("after_send", [LOST_SINGLE]),
        ("after_closes", None),
        ("after_send", [LOST_BATCH]),
        ("before_done", None),
    ]
    for crash_at, faults in chain:
        assert scenario.run_trader(crash_at, faults) == -9, (crash_at, scenario.last_stderr[-2000:])
    assert scenario.run_trader(None) == 0, scenario.last_stderr[-2000:]
    scenario.check()


def test_clean_run_for_reference(crash_sim: RunningSimulator, tmp_path: Path) -> None:
    scenario = Scenario(crash_sim, tmp_path)
    scenario.prepare()
    assert scenario.run_trader(None) == 0, scenario.last_stderr[-2000:]
    seen = scenario.check()
    assert len(seen["orders"]) == 3  # close BTC, then open BTC and ETH in one batch
    assert scenario.run_trader(None) == 0  # a second start finds the bar done and orders nothing
    assert len(scenario.check()["orders"]) == 3
