"""Journal round-trips: cycles, signals, write-ahead intents, order state changes, fills, migrations."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest

from exchange.records import Fill, Order
from trader.journal import SCHEMA_VERSION, Journal, OrderIntent, SignalRow

BAR = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
NOW = BAR + timedelta(seconds=5)


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    j = Journal(tmp_path / "journal" / "sub1.sqlite")
    yield j
    j.close()


def intent(
    cl: str = "oxo00abc", leg: str = "open", attempt: int = 0, inst: str = "X-USDT-SWAP"
) -> OrderIntent:
    return OrderIntent(
        cl_ord_id=cl,
        bar_close=BAR,
        inst_id=inst,
        leg=leg,
        attempt=attempt,
        side="buy",
        pos_side=None,
        ord_type="limit",
        td_mode="cross",
        sz=D("1.5"),
        px=D("95000.1"),
        reduce_only=None,
    )


def order(cl: str = "oxo00abc", state: str = "live", filled: str = "0", avg: str | None = None) -> Order:
    return Order(
        inst_id="BTC-USDT-SWAP",
        inst_type="SWAP",
        ord_id="123",
        cl_ord_id=cl,
        state=state,
        side="buy",
        pos_side="net",
        ord_type="limit",
        td_mode="cross",
        px=D("95000.1"),
        sz=D("1.5"),
        acc_fill_sz=D(filled),
        avg_px=D(avg) if avg else None,
        fee=D("-0.5"),
        fee_ccy="USDT",
        pnl=D("1.25"),
        lever=D(3),
        reduce_only=False,
        c_time=BAR,
        u_time=NOW,
    )


def test_creates_schema_and_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    Journal(path).close()
    j = Journal(path)
    assert j.query("SELECT value FROM meta WHERE key = 'schema_version'")[0][0] == str(SCHEMA_VERSION)
    assert j.query("PRAGMA journal_mode")[0][0] == "wal"
    j.close()


def test_refuses_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    Journal(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(RuntimeError, match="newer"):
        Journal(path)


def test_cycle_lifecycle(journal: Journal) -> None:
    assert journal.cycle(BAR) is None
    row = journal.start_cycle(BAR, "1h", NOW)
    assert (row.status, row.runs) == ("started", 1)
    journal.set_cycle_status(BAR, "targets")
    assert journal.start_cycle(BAR, "1h", NOW).runs == 2
    journal.set_cycle_status(BAR, "done", NOW, equity=D("1000.5"))
    row = journal.cycle(BAR)
    assert row is not None
    assert (row.status, row.equity, row.finished_at) == ("done", D("1000.5"), NOW.isoformat())
    journal.set_cycle_status(BAR, "skipped", NOW, reason="marker late")
    assert journal.cycle(BAR).reason == "marker late"  # type: ignore[union-attr]


def test_signals_round_trip(journal: Journal) -> None:
    a = SignalRow("BTC-USDT-SWAP", "sma_cross", D(0), 1, D("95000"), None, "target")
    b = SignalRow("ETH-USDT-SWAP", "bollinger", D("-2"), None, None, None, "skipped", "marker failed")
    journal.record_signal(BAR, a, NOW)
    journal.record_signal(BAR, b, NOW)
    sized = SignalRow("BTC-USDT-SWAP", "sma_cross", D(0), 1, D("95000"), D("7.73"), "sized")
    journal.record_signal(BAR, sized, NOW)
    assert journal.signals(BAR) == {"BTC-USDT-SWAP": sized, "ETH-USDT-SWAP": b}
    assert journal.signals(BAR + timedelta(hours=1)) == {}


def test_intent_is_journaled_before_anything_else(journal: Journal) -> None:
    journal.record_intents([intent("a1"), intent("a2", leg="close")], NOW)
    rows = journal.open_orders()
    assert [(r.cl_ord_id, r.status, r.sz, r.px) for r in rows] == [
        ("a1", "intent", D("1.5"), D("95000.1")),
        ("a2", "intent", D("1.5"), D("95000.1")),
    ]
    events = journal.query("SELECT event FROM order_events WHERE cl_ord_id = 'a1'")
    assert [e[0] for e in events] == ["intent"]


def test_intents_are_all_or_nothing(journal: Journal) -> None:
    journal.record_intents([intent("dup")], NOW)
    with pytest.raises(sqlite3.IntegrityError):
        journal.record_intents([intent("fresh"), intent("dup")], NOW)
    assert [r.cl_ord_id for r in journal.open_orders()] == ["dup"]


def test_order_state_changes_and_fills(journal: Journal) -> None:
    journal.record_intents([intent("o1")], NOW)
    journal.mark_acked("o1", "123", NOW)
    assert journal.order("o1").status == "live"  # type: ignore[union-attr]
    journal.update_order(order("o1", "partially_filled", "0.5", "95000"), NOW)
    journal.update_order(order("o1", "partially_filled", "0.5", "95000"), NOW)  # no change, no event
    journal.update_order(order("o1", "filled", "1.5", "95000.05"), NOW)
    row = journal.order("o1")
    assert row is not None
    assert (row.status, row.state, row.acc_fill_sz, row.avg_px, row.fee, row.pnl) == (
        "done",
        "filled",
        D("1.5"),
        D("95000.05"),
        D("-0.5"),
        D("1.25"),
    )
    sql = "SELECT event, state, acc_fill_sz FROM order_events WHERE cl_ord_id = 'o1'"
    events = [tuple(e) for e in journal.query(sql)]
    assert events == [
        ("intent", None, None),
        ("acked", None, None),
        ("fill", "partially_filled", "0.5"),
        ("state", "partially_filled", "0.5"),
        ("fill", "filled", "1.5"),
        ("state", "filled", "1.5"),
    ]
    assert journal.open_orders() == []


@pytest.mark.parametrize(
    ("mark", "status"),
    [("rejected", "rejected"), ("not_placed", "not_placed"), ("unknown", "unknown")],
)
def test_other_outcomes(journal: Journal, mark: str, status: str) -> None:
    journal.record_intents([intent("x")], NOW)
    if mark == "rejected":
        journal.mark_rejected("x", "51008", "Insufficient USDT margin", NOW)
    elif mark == "not_placed":
        journal.mark_not_placed("x", NOW)
    else:
        journal.mark_unknown("x", "timeout", NOW)
    row = journal.order("x")
    assert row is not None
    assert row.status == status
    assert (row in journal.open_orders()) == (status == "unknown")
    if mark == "rejected":
        assert (row.error_code, row.error_msg) == ("51008", "Insufficient USDT margin")


def test_update_of_unknown_order_raises(journal: Journal) -> None:
    with pytest.raises(KeyError):
        journal.update_order(order("nope"), NOW)


def test_next_attempt_never_reuses_an_id(journal: Journal) -> None:
    assert journal.next_attempt(BAR, "X-USDT-SWAP", "open") == 0
    journal.record_intents([intent("a", attempt=0), intent("b", attempt=1), intent("c", leg="close")], NOW)
    journal.mark_rejected("b", "51008", "x", NOW)
    assert journal.next_attempt(BAR, "X-USDT-SWAP", "open") == 2
    assert journal.next_attempt(BAR, "X-USDT-SWAP", "close") == 1
    assert journal.next_attempt(BAR, "ETH-USDT-SWAP", "open") == 0
    assert journal.next_attempt(BAR + timedelta(hours=1), "X-USDT-SWAP", "open") == 0
    assert [r.cl_ord_id for r in journal.orders_for_bar(BAR, "X-USDT-SWAP")] == ["a", "b", "c"]


def test_fills_are_deduplicated(journal: Journal) -> None:
    fill = Fill("BTC-USDT-SWAP", "t1", "123", "o1", D("95000"), D("1"), "buy", "net", D("-0.1"), "USDT", NOW)
    assert journal.record_fills([fill]) == 1
    assert journal.record_fills([fill]) == 0
    assert journal.query("SELECT px, sz FROM fills")[0][:] == ("95000", "1")


def test_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    j = Journal(path)
    j.record_intents([intent("keep")], NOW)
    j.close()
    j2 = Journal(path)
    assert [r.cl_ord_id for r in j2.open_orders()] == ["keep"]
    j2.close()


def test_naive_times_refused(journal: Journal) -> None:
    with pytest.raises(ValueError, match="aware"):
        journal.start_cycle(datetime(2024, 1, 1), "1h", NOW)  # noqa: DTZ001
