"""Execution rounds against a scripted exchange: partial fills, re-pricing of the remainder.

The simulator fills an order completely or not at all, so the partially-filled path (fill part,
rest, cancel, re-price only what is left) is driven here by a small scripted exchange that
implements the trader's port.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest

from config.schema import TraderSettings
from core.clock import FakeClock
from exchange.errors import ExchangeError, ExchangeUnavailable, OrderNotFound, UnknownOutcome
from exchange.records import Order, OrderAck, OrderRequest, Ticker
from notify.service import RecordingNotifier
from trader.diff import Leg
from trader.execution import Executor, LegOrder
from trader.journal import Journal, OrderIntent
from trader.tracking import OrderTracker

BAR = datetime(2025, 1, 6, tzinfo=UTC)
INST = "BTC-USDT-SWAP"


class ScriptedExchange:
    """Orders fill ``fill_ratio`` of their size on placement, then rest until cancelled."""

    def __init__(self, fill_ratios: Sequence[D], lose_first_reply: bool = False) -> None:
        self.fill_ratios = list(fill_ratios)
        self.orders: dict[str, Order] = {}
        self.sent: list[OrderRequest] = []
        self.lose_first_reply = lose_first_reply

    def _new(self, req: OrderRequest) -> Order:
        ratio = self.fill_ratios.pop(0) if self.fill_ratios else D(1)
        filled = (req.sz * ratio).quantize(D("0.01"))
        state = "filled" if filled == req.sz else ("partially_filled" if filled else "live")
        return Order(
            INST, "SWAP", str(len(self.orders) + 1), req.cl_ord_id, state, req.side, "net", req.ord_type,
            req.td_mode, req.px, req.sz, filled, req.px if filled else None, D("-0.01"), "USDT", D(0), D(3),
            bool(req.reduce_only), BAR, BAR,
        )  # fmt: skip

    def place_order(self, req: OrderRequest) -> OrderAck:
        self.sent.append(req)
        order = self._new(req)
        self.orders[req.cl_ord_id] = order
        if self.lose_first_reply:
            self.lose_first_reply = False
            raise UnknownOutcome("", "connection closed before the reply")
        return OrderAck(order.ord_id, req.cl_ord_id, BAR)

    def place_orders(self, reqs: Sequence[OrderRequest]) -> list[OrderAck | ExchangeError]:
        return [self.place_order(r) for r in reqs]

    def get_order(self, inst_id: str, *, ord_id: str | None = None, cl_ord_id: str | None = None) -> Order:
        if cl_ord_id not in self.orders:
            raise OrderNotFound("51603", "no such order")
        return self.orders[cl_ord_id]

    def find_order(self, inst_id: str, cl_ord_id: str) -> Order | None:
        return self.orders.get(cl_ord_id)

    def cancel_order(
        self, inst_id: str, *, ord_id: str | None = None, cl_ord_id: str | None = None
    ) -> OrderAck:
        order = self.orders[str(cl_ord_id)]
        if order.is_terminal:
            raise OrderNotFound("51400", "already terminal")
        self.orders[str(cl_ord_id)] = replace(order, state="canceled")
        return OrderAck(order.ord_id, order.cl_ord_id, BAR)

    def pending_orders(self, inst_type: str | None = None, inst_id: str | None = None) -> list[Order]:
        return [o for o in self.orders.values() if not o.is_terminal]

    def order_history(self, inst_type: str, inst_id: str | None = None, limit: int = 100) -> list[Order]:
        return [o for o in self.orders.values() if o.is_terminal][-limit:]


class FixedTicker:
    def instrument(self, inst_id: str, *, refresh: bool = False) -> object:
        raise NotImplementedError

    def ticker(self, inst_id: str) -> Ticker:
        return Ticker(inst_id, D(100), None, None, None, None, None, None, None, None, None, BAR)

    def close(self) -> None:
        return None


def executor(tmp_path: Path, exchange: ScriptedExchange, **settings: object) -> tuple[Executor, Journal]:
    journal = Journal(tmp_path / "j.sqlite")
    clock = FakeClock(BAR + timedelta(seconds=2))
    tracker = OrderTracker(exchange, journal, clock, poll_s=0.5, lookup_tries=2)  # type: ignore[arg-type]
    trader = TraderSettings(order_wait_s=2, reprice_attempts=2, **settings)  # type: ignore[arg-type]
    ex = Executor(
        account="acct", client=exchange, public=FixedTicker(), journal=journal, tracker=tracker,  # type: ignore[arg-type]
        settings=trader, notifier=RecordingNotifier(),
    )  # fmt: skip
    return ex, journal


def leg(sz: str = "10", kind: str = "open") -> LegOrder:
    side = "buy"
    return LegOrder(
        INST, Leg(kind, 1, side, None, D(sz), None), "cross", D(100), D("0.1"), D("0.01"), D("0.01")
    )  # type: ignore[arg-type]


def test_partial_fill_is_cancelled_and_only_the_rest_repriced(tmp_path: Path) -> None:
    exchange = ScriptedExchange([D("0.4"), D(1)])
    ex, journal = executor(tmp_path, exchange)
    (out,) = ex.execute(BAR, [leg("10")])
    assert [(r.sz, r.cl_ord_id[2:5]) for r in exchange.sent] == [(D(10), "o00"), (D(6), "o01")]
    assert [o.state for o in out.orders] == ["canceled", "filled"]
    assert out.filled == D(10)
    assert out.remaining == 0
    first = journal.order(exchange.sent[0].cl_ord_id)
    assert first is not None
    assert (first.status, first.state, first.acc_fill_sz) == ("done", "canceled", D(4))
    journal.close()


def test_partial_fills_across_every_attempt_then_give_up(tmp_path: Path) -> None:
    exchange = ScriptedExchange([D("0.5"), D("0.5"), D("0.5")])
    ex, journal = executor(tmp_path, exchange)
    (out,) = ex.execute(BAR, [leg("8")])
    assert [r.sz for r in exchange.sent] == [D(8), D(4), D(2)]
    assert out.filled == D(7)
    assert out.remaining == D(1)  # healed on the next bar
    assert journal.open_orders() == []
    assert all(o.is_terminal for o in exchange.orders.values())
    journal.close()


def test_remainder_below_min_size_is_not_repriced(tmp_path: Path) -> None:
    exchange = ScriptedExchange([D("0.999")])
    ex, journal = executor(tmp_path, exchange)
    lo = replace(leg("10"), min_sz=D(1))
    (out,) = ex.execute(BAR, [lo])
    assert len(exchange.sent) == 1
    assert out.filled == D("9.99")
    journal.close()


def test_unknown_outcome_found_by_clordid(tmp_path: Path) -> None:
    exchange = ScriptedExchange([D(1)], lose_first_reply=True)
    ex, journal = executor(tmp_path, exchange)
    (out,) = ex.execute(BAR, [leg("3")])
    assert len(exchange.sent) == 1
    assert out.filled == D(3)
    events = [r[0] for r in journal.query("SELECT event FROM order_events ORDER BY id")]
    assert events[:2] == ["intent", "unknown_outcome"]
    journal.close()


@pytest.mark.parametrize("ratio", [D(0), D("0.3")])
def test_market_orders_are_not_priced(tmp_path: Path, ratio: D) -> None:
    exchange = ScriptedExchange([ratio, D(1)])
    ex, journal = executor(tmp_path, exchange, order_type="market")
    ex.execute(BAR, [leg("5")])
    assert all(r.px is None and r.ord_type == "market" for r in exchange.sent)
    journal.close()


def test_close_legs_are_never_shrunk_by_repricing(tmp_path: Path) -> None:
    exchange = ScriptedExchange([D(0), D(1)])
    ex, journal = executor(tmp_path, exchange)
    lo = replace(leg("5", kind="close"), size_px=D(50))
    (out,) = ex.execute(BAR, [lo])
    assert [r.sz for r in exchange.sent] == [D(5), D(5)]
    assert out.filled == D(5)
    journal.close()


def test_open_repriced_above_its_sizing_price_shrinks(tmp_path: Path) -> None:
    exchange = ScriptedExchange([D(0), D(1)])
    ex, journal = executor(tmp_path, exchange)
    lo = replace(leg("10"), size_px=D("80.2"))  # sized at 80.2, re-priced from the ticker at 100
    (out,) = ex.execute(BAR, [lo])
    second = exchange.sent[1]
    assert second.px == D("100.4")
    assert second.sz == D("7.98")  # 10 * 80.2 / 100.4, rounded down to the lot
    assert out.filled == D("7.98")
    assert out.remaining == 0
    journal.close()


class DownExchange(ScriptedExchange):
    def find_order(self, inst_id: str, cl_ord_id: str) -> Order | None:
        raise ExchangeUnavailable("50001", "service temporarily unavailable")


def tracker_for(tmp_path: Path, exchange: ScriptedExchange) -> tuple[OrderTracker, Journal]:
    journal = Journal(tmp_path / "t.sqlite")
    clock = FakeClock(BAR)
    return OrderTracker(exchange, journal, clock, poll_s=0.5, lookup_tries=3), journal  # type: ignore[arg-type]


def intent(cl: str) -> OrderIntent:
    return OrderIntent(cl, BAR, INST, "open", 0, "buy", None, "limit", "cross", D(1), D(100), None)


def test_a_failing_lookup_never_decides_the_order_was_not_placed(tmp_path: Path) -> None:
    tracker, journal = tracker_for(tmp_path, DownExchange([]))
    journal.record_intents([intent("x1")], BAR)
    journal.mark_unknown("x1", "timeout", BAR)
    assert tracker.resolve(INST, "x1") is None
    assert journal.order("x1").status == "unknown"  # type: ignore[union-attr]
    assert [r.cl_ord_id for r in journal.open_orders()] == ["x1"]  # looked up again next time
    journal.close()


def test_definitely_unknown_orders(tmp_path: Path) -> None:
    tracker, journal = tracker_for(tmp_path, ScriptedExchange([]))
    journal.record_intents([intent("never"), intent("aged")], BAR)
    journal.mark_acked("aged", "77", BAR)
    assert tracker.recover() == []
    # Not found, but journaled without an expTime: OKX could still register it for a while.
    assert journal.order("never").status == "intent"  # type: ignore[union-attr]
    assert journal.order("aged").status == "lost"  # type: ignore[union-attr]
    tracker.clock.advance(61)  # type: ignore[attr-defined]
    assert tracker.recover() == []
    assert journal.order("never").status == "not_placed"  # type: ignore[union-attr]
    assert journal.open_orders() == []
    journal.close()


def test_absent_is_proven_only_after_the_exp_time(tmp_path: Path) -> None:
    tracker, journal = tracker_for(tmp_path, ScriptedExchange([]))
    journal.record_intents([replace(intent("e1"), exp_at=BAR + timedelta(seconds=5))], BAR)
    journal.mark_unknown("e1", "timeout", BAR)

    assert tracker.resolve(INST, "e1") is None  # three lookups, 1 s: not proof yet
    assert journal.order("e1").status == "unknown"  # type: ignore[union-attr]

    assert tracker.resolve(INST, "e1", wait_until=BAR + timedelta(seconds=30)) is None
    assert journal.order("e1").status == "not_placed"  # type: ignore[union-attr]
    assert tracker.clock.now() >= BAR + timedelta(seconds=7)  # expTime + grace, no later than needed
    assert tracker.clock.now() < BAR + timedelta(seconds=8)
    journal.close()


def test_recover_cancels_what_is_still_working(tmp_path: Path) -> None:
    exchange = ScriptedExchange([D(0)])
    tracker, journal = tracker_for(tmp_path, exchange)
    journal.record_intents([intent("w1")], BAR)
    exchange.place_order(OrderRequest(INST, "cross", "buy", "limit", D(1), "w1", px=D(100)))  # then a crash
    (order,) = tracker.recover()
    assert order.state == "canceled"
    assert journal.order("w1").state == "canceled"  # type: ignore[union-attr]
    journal.close()
