"""The trader against partial fills (the simulator's liquidity limit, per order and second).

The trader's design (trader/execution.py): a limit order still working after ``order_wait_s`` is
cancelled and what is left unfilled is re-priced under the next attempt's clOrdId, up to
``reprice_attempts`` times; what is still missing after that is topped up by the next bar's diff.
Each test checks the sizes end to end, that every clOrdId is new, and that the journal saw every
fill and state change the simulator made.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from simulator.server import RunningSimulator
from tests.integration.test_trader_helpers import T0, TraderRig
from trader.clordid import make_cl_ord_id

BTC = "BTC-USDT-SWAP"
MINUTE = timedelta(minutes=1)
D = Decimal


@pytest.fixture
def make_rig(sim: RunningSimulator, tmp_path: Path) -> Iterator[Any]:
    rigs: list[TraderRig] = []

    def make(contracts: str, **trader: Any) -> TraderRig:
        """A rig whose equity sizes about ``contracts`` BTC contracts at leverage 1."""
        sim.control.set_clock(T0 - timedelta(seconds=30), mode="frozen")
        close = sim.control.price(BTC)
        # desired = floor(balance * 0.98 / (close * 1.002 * ctVal 0.01), lot 0.01)
        balance = (D(contracts) * close * D("1.002") * D("0.01") / D("0.98")).quantize(D(1))
        name = "pf" + uuid.uuid4().hex[:8]
        rig = TraderRig(sim, tmp_path / name, account=name, insts={BTC: 1}, balance=str(balance + 1),
                        trader={"order_wait_s": 3, **trader})  # fmt: skip
        rigs.append(rig)
        rig.preflight()
        return rig

    yield make
    for rig in rigs:
        rig.close()


def sim_fills(rig: TraderRig, ord_id: str) -> list[dict[str, Any]]:
    rows = rig.client.fills(limit=100)
    return sorted(
        ({"sz": f.fill_sz, "trade_id": f.trade_id} for f in rows if f.ord_id == ord_id),
        key=lambda f: int(f["trade_id"]),
    )


def journal_events(rig: TraderRig, cl_ord_id: str) -> list[tuple[str, str | None, str | None]]:
    rows = rig.ctx.journal.query(
        "SELECT event, state, acc_fill_sz FROM order_events WHERE cl_ord_id = ? ORDER BY id", (cl_ord_id,)
    )
    return [(r[0], r[1], r[2]) for r in rows]


def check_journal_saw_everything(rig: TraderRig, order: dict[str, Any], states: list[str]) -> None:
    """One journal fill event per simulator fill (cumulative sizes match), the state changes
    ``states``, and the journal's fills table holds each execution."""
    cl = order["clOrdId"]
    fills = sim_fills(rig, order["ordId"])
    events = journal_events(rig, cl)
    cumulative, seen = D(0), []
    for f in fills:
        cumulative += f["sz"]
        seen.append(cumulative)
    assert [D(acc) for kind, _, acc in events if kind == "fill" and acc is not None] == seen
    assert [state for kind, state, _ in events if kind == "state"] == states
    assert events[:2] == [("intent", None, None), ("acked", None, None)]
    stored = rig.ctx.journal.query("SELECT trade_id, sz FROM fills WHERE cl_ord_id = ?", (cl,))
    assert sorted((r[0], D(r[1])) for r in stored) == sorted((f["trade_id"], f["sz"]) for f in fills)
    row = rig.ctx.journal.order(cl)
    assert row is not None
    assert row.status == "done"


def test_partial_fill_is_cancelled_and_the_rest_repriced_to_the_target(make_rig: Any) -> None:
    rig: TraderRig = make_rig("1.5", reprice_attempts=2)
    rig.control.set_liquidity(BTC, "0.3")
    rig.publish(T0, {BTC: 1})
    result = rig.run(T0)
    orders = rig.sim_orders()
    ids = [o["clOrdId"] for o in orders]
    assert len(set(ids)) == len(ids) == 2  # never the same clOrdId twice
    assert ids == [make_cl_ord_id(rig.account, BTC, T0, "open", n) for n in range(2)]
    first, second = orders
    # Attempt 0 filled a part within order_wait_s, was cancelled with its fills kept...
    assert first["state"] == "canceled"
    filled0 = D(first["order"]["accFillSz"])
    assert 0 < filled0 < D(first["request"]["sz"])
    assert len(sim_fills(rig, first["ordId"])) >= 3  # several partial fills, one per second
    # ... and attempt 1 ordered only what was missing and completed it.
    assert second["state"] == "filled"
    assert D(second["request"]["sz"]) <= D(first["request"]["sz"]) - filled0
    desired = rig.ctx.journal.signals(T0)[BTC].desired
    assert desired is not None
    total = filled0 + D(second["order"]["accFillSz"])
    assert rig.position(BTC) == total == desired == result.outcomes[0].filled
    assert result.status == "done"
    events = [kind for kind, _, _ in journal_events(rig, first["clOrdId"])]
    assert events.index("cancel_requested") < len(events) - 1
    assert events[-1] == "state"
    check_journal_saw_everything(rig, first, ["partially_filled", "canceled"])
    check_journal_saw_everything(rig, second, ["filled"])
    assert rig.ctx.journal.open_orders() == []
    assert rig.control.orders(state="partially_filled") == []


def test_a_partial_left_after_the_last_reprice_is_topped_up_next_bar(make_rig: Any) -> None:
    rig: TraderRig = make_rig("1.5", reprice_attempts=0)
    rig.control.set_liquidity(BTC, "0.2")
    rig.publish(T0, {BTC: 1})
    first = rig.run(T0)
    (order,) = rig.sim_orders()
    held = rig.position(BTC)
    desired = rig.ctx.journal.signals(T0)[BTC].desired
    assert desired is not None
    assert order["state"] == "canceled"
    assert held == D(order["order"]["accFillSz"]) == first.outcomes[0].filled
    assert 0 < held < desired * D("0.9")  # short of the target by more than the band
    assert first.status == "done"
    check_journal_saw_everything(rig, order, ["partially_filled", "canceled"])
    assert rig.ctx.journal.open_orders() == []

    rig.control.clear_liquidity(BTC)  # the book fills up again
    rig.publish(T0 + MINUTE, {BTC: 1})
    second = rig.run(T0 + MINUTE)
    (leg,) = [o.leg_order.leg for o in second.outcomes]
    assert (leg.kind, leg.side) == ("open", "buy")
    top_up = rig.sim_orders()[-1]
    assert top_up["clOrdId"] == make_cl_ord_id(rig.account, BTC, T0 + MINUTE, "open", 0)
    assert D(top_up["request"]["sz"]) == rig.ctx.journal.signals(T0 + MINUTE)[BTC].desired - held  # type: ignore[operator]
    assert rig.position(BTC) == rig.ctx.journal.signals(T0 + MINUTE)[BTC].desired
    check_journal_saw_everything(rig, top_up, ["filled"])


def test_market_orders_cut_short_by_liquidity_are_sent_again(make_rig: Any) -> None:
    rig: TraderRig = make_rig("1.5", order_type="market", reprice_attempts=3)
    rig.control.set_liquidity(BTC, "0.5")
    rig.publish(T0, {BTC: 1})
    result = rig.run(T0)
    orders = rig.sim_orders()
    ids = [o["clOrdId"] for o in orders]
    assert len(set(ids)) == len(ids) >= 3
    assert all(o["request"]["ordType"] == "market" for o in orders)
    for order in orders[:-1]:  # IOC-style: what the book had, the rest cancelled by OKX
        assert order["state"] == "canceled"
        assert D(order["order"]["accFillSz"]) == D("0.5")
    assert orders[-1]["state"] in {"filled", "canceled"}
    desired = rig.ctx.journal.signals(T0)[BTC].desired
    filled = sum((D(o["order"]["accFillSz"]) for o in orders), D(0))
    assert rig.position(BTC) == filled == desired == result.outcomes[0].filled
    for order in orders:  # straight from live to terminal: no resting state to see
        check_journal_saw_everything(rig, order, [order["state"]])
