"""Execution against the simulator: re-pricing, order types, batches, unknown outcomes, healing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from exchange.records import OrderRequest
from notify.events import TradingAlert
from simulator.server import RunningSimulator
from tests.integration.test_trader_helpers import T0, TraderRig, rig_pool
from trader.clordid import make_cl_ord_id

MINUTE = timedelta(minutes=1)
BTC, ETH = "BTC-USDT-SWAP", "ETH-USDT-SWAP"


@pytest.fixture
def rig_factory(sim_module: RunningSimulator, tmp_path: Path) -> Iterator[Any]:
    sim_module.control.clear_faults()
    with rig_pool(sim_module, tmp_path, "e") as make:
        yield make
        sim_module.control.clear_faults()


def events_of(rig: TraderRig, cl_ord_id: str) -> list[str]:
    rows = rig.ctx.journal.query(
        "SELECT event FROM order_events WHERE cl_ord_id = ? ORDER BY id", (cl_ord_id,)
    )
    return [r[0] for r in rows]


def test_unfilled_limit_is_cancelled_and_repriced_with_a_new_id(rig_factory: Any) -> None:
    rig: TraderRig = rig_factory(trader={"order_wait_s": 3, "reprice_attempts": 2})
    market = rig.price(BTC)
    # The bar closed 3 % below the market: a buy limited at close * 1.002 rests unfilled.
    rig.publish(T0, {BTC: 1}, closes={BTC: (market * Decimal("0.97")).quantize(Decimal("0.1"))})
    result = rig.run(T0)
    orders = rig.sim_orders()
    first, second = (
        make_cl_ord_id(rig.account, BTC, T0, "open", 0),
        make_cl_ord_id(rig.account, BTC, T0, "open", 1),
    )
    assert [(o["clOrdId"], o["state"]) for o in orders] == [(first, "canceled"), (second, "filled")]
    first_px, second_px = (Decimal(o["request"]["px"]) for o in orders)
    assert second_px > first_px  # re-priced from the ticker...
    first_sz, second_sz = (Decimal(o["request"]["sz"]) for o in orders)
    assert second_sz < first_sz  # ... and shrunk to the notional it was sized for (else 51008)
    assert second_sz * second_px <= first_sz * first_px
    assert rig.position(BTC) == second_sz == result.outcomes[0].filled
    assert events_of(rig, first) == ["intent", "acked", "state", "cancel_requested", "state"]
    assert events_of(rig, second)[:2] == ["intent", "acked"]
    assert "fill" in events_of(rig, second)


def test_gives_up_after_the_last_reprice_and_leaves_nothing_working(rig_factory: Any) -> None:
    rig: TraderRig = rig_factory(trader={"order_wait_s": 2, "reprice_attempts": 1, "slippage": "0"})
    market = rig.price(BTC)
    rig.publish(T0, {BTC: 1}, closes={BTC: (market * Decimal("0.9")).quantize(Decimal("0.1"))})
    rig.control.set_price(BTC, market * Decimal("1.2"))  # runs away: every limit at the ticker rests
    result = rig.run(T0)
    states = [o["state"] for o in rig.sim_orders()]
    assert len(states) == 2
    assert "live" not in states
    assert "partially_filled" not in states
    assert rig.ctx.journal.open_orders() == []
    assert result.status == "done"


@pytest.mark.parametrize("order_type", ["market", "optimal_limit_ioc"])
def test_market_like_order_types(rig_factory: Any, order_type: str) -> None:
    rig: TraderRig = rig_factory(trader={"order_type": order_type})
    rig.publish(T0, {BTC: -1})
    rig.run(T0)
    (sent,) = [o["request"] for o in rig.sim_orders()]
    assert sent["ordType"] == order_type
    assert not sent.get("px")
    assert rig.position(BTC) == -Decimal(sent["sz"])


def test_several_instruments_go_out_in_one_batch(rig_factory: Any) -> None:
    insts = {BTC: 2, ETH: 2, "SOL-USDT-SWAP": 2, "XRP-USDT-SWAP": 2}
    rig: TraderRig = rig_factory(insts=insts)
    rig.control.clear_requests()
    rig.publish(T0, dict.fromkeys(insts, 1))
    rig.run(T0)
    posts = [r for r in rig.control.requests(path="/api/v5/trade/") if r["method"] == "POST"]
    assert [r["path"] for r in posts] == ["/api/v5/trade/batch-orders"]
    assert all(rig.position(i) > 0 for i in insts)


def test_lost_response_is_resolved_by_clordid_never_resent(rig_factory: Any) -> None:
    rig: TraderRig = rig_factory()
    rig.control.set_faults(
        [{"kind": "lost_response", "path": "/api/v5/trade/order", "method": "POST", "count": 1}]
    )
    rig.publish(T0, {BTC: 1})
    result = rig.run(T0)
    cl = make_cl_ord_id(rig.account, BTC, T0, "open", 0)
    orders = rig.sim_orders()
    assert [o["clOrdId"] for o in orders] == [cl]  # placed once, looked up, not sent again
    assert rig.position(BTC) == result.outcomes[0].filled > 0
    assert "unknown_outcome" in events_of(rig, cl)
    assert rig.ctx.journal.order(cl).status == "done"  # type: ignore[union-attr]


def test_lost_batch_response_resolves_every_order(rig_factory: Any) -> None:
    rig: TraderRig = rig_factory(insts={BTC: 2, ETH: 2})
    rig.control.set_faults([{"kind": "lost_response", "path": "/api/v5/trade/batch-orders", "count": 1}])
    rig.publish(T0, {BTC: 1, ETH: -1})
    rig.run(T0)
    ids = [o["clOrdId"] for o in rig.sim_orders()]
    assert sorted(ids) == sorted({make_cl_ord_id(rig.account, i, T0, "open", 0) for i in (BTC, ETH)})
    assert rig.position(BTC) > 0 > rig.position(ETH)


def test_dropped_request_is_proven_absent_then_retried_with_a_new_attempt(rig_factory: Any) -> None:
    rig: TraderRig = rig_factory()
    rig.control.set_faults([{"kind": "drop", "path": "/api/v5/trade/order", "method": "POST", "count": 1}])
    rig.publish(T0, {BTC: 1})
    first = rig.run(T0)
    lost = make_cl_ord_id(rig.account, BTC, T0, "open", 0)
    row = rig.ctx.journal.order(lost)
    assert row is not None
    assert row.status == "not_placed"
    assert row.exp_at is not None
    # proven absent only after its expTime passed: then a new attempt (a new clOrdId), never a resend
    assert [o["clOrdId"] for o in rig.sim_orders()] == [make_cl_ord_id(rig.account, BTC, T0, "open", 1)]
    assert rig.position(BTC) > 0
    assert first.outcomes[0].filled == rig.position(BTC)


def test_a_late_order_keeps_the_instrument_blocked_until_resolved(rig_factory: Any) -> None:
    """An order that may still reach OKX is never retried: its instrument waits (issue 12, item 2)."""
    rig: TraderRig = rig_factory()
    rig.control.set_faults([{"kind": "drop", "path": "/api/v5/trade/order", "method": "POST", "count": 1}])
    rig.control.set_faults(
        [{"kind": "http_503", "path": "/api/v5/trade/order", "method": "GET"}], append=True
    )
    rig.publish(T0, {BTC: 1})
    first = rig.run(T0)
    assert first.outcomes[0].unresolved  # lookups keep failing: neither found nor proven absent
    assert rig.sim_orders() == []
    assert [a.kind for a in rig.events(TradingAlert)].count("order_unresolved") >= 1
    rig.publish(T0 + MINUTE, {BTC: None})
    second = rig.run(T0 + MINUTE)
    assert second.outcomes == []  # still unknown: not traded, alerted
    assert any("unresolved" in s for s in second.skipped)
    rig.control.clear_faults()
    rig.publish(T0 + 2 * MINUTE, {BTC: None})
    rig.run(T0 + 2 * MINUTE)  # proven absent now: the standing target is traded
    assert rig.position(BTC) > 0
    assert [o["clOrdId"] for o in rig.sim_orders()] == [
        make_cl_ord_id(rig.account, BTC, T0 + 2 * MINUTE, "open", 0)
    ]


def test_partial_position_is_topped_up_next_bar(rig_factory: Any) -> None:
    rig: TraderRig = rig_factory()
    rig.publish(T0, {BTC: 1})
    rig.run(T0)
    full = rig.position(BTC)
    # Leave only 40 % of it, as a partly filled order would.
    cut = (full * Decimal("0.6")).quantize(Decimal("0.01"))
    rig.client.place_order(OrderRequest(BTC, "cross", "sell", "market", cut, "manualcut1", reduce_only=True))
    assert rig.position(BTC) == full - cut
    rig.publish(T0 + MINUTE, {BTC: 1})
    healed = rig.run(T0 + MINUTE)
    (leg,) = [o.leg_order.leg for o in healed.outcomes]
    assert (leg.kind, leg.side) == ("open", "buy")
    desired = rig.ctx.journal.signals(T0 + MINUTE)[BTC].desired
    assert rig.position(BTC) == desired
    assert desired is not None
    assert abs(desired - full) / full < Decimal("0.05")


def test_oversized_position_is_reduced(rig_factory: Any) -> None:
    rig: TraderRig = rig_factory()
    rig.publish(T0, {BTC: -1})
    rig.run(T0)
    held = -rig.position(BTC)
    # The next bar closes 30 % higher: the same equity now sizes a smaller short.
    rig.publish(
        T0 + MINUTE, {BTC: -1}, closes={BTC: (rig.price(BTC) * Decimal("1.3")).quantize(Decimal("0.1"))}
    )
    result = rig.run(T0 + MINUTE)
    (leg,) = [o.leg_order.leg for o in result.outcomes]
    assert (leg.kind, leg.side, leg.reduce_only) == ("reduce", "buy", True)
    desired = rig.ctx.journal.signals(T0 + MINUTE)[BTC].desired
    assert desired is not None
    assert desired < held
    assert -rig.position(BTC) == desired
