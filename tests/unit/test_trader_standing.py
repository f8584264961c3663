"""Standing targets (pure rules and the journal's ``targets``/``alerts`` tables), missed bars,
trading alert formatting, and the journal refusing a corrupt or empty file (issue 12)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest

from core.clock import FakeClock
from core.intervals import parse_interval
from notify.events import TRADING_ALERT_KINDS, TradingAlert
from notify.format import format_event
from notify.service import RecordingNotifier
from trader.alerts import Alerter, recent_alerts
from trader.diff import Holding
from trader.journal import SCHEMA_VERSION, Journal
from trader.journal_open import JournalUnreadable
from trader.missed import missed_closes, record_missed
from trader.signals import Decision
from trader.standing import alert_due, apply_standing, backoff_bars, reached, retry_due
from trader.targets import StandingTarget, TargetBook

BAR = datetime(2025, 1, 6, tzinfo=UTC)
M = timedelta(minutes=1)


def standing(target: int, fails: int = 0, failed_bar: datetime | None = None) -> StandingTarget:
    return StandingTarget(
        "BTC",
        "s",
        target,
        D(2),
        None,
        "strategy",
        "",
        0,
        fails,
        failed_bar.isoformat() if failed_bar else None,
    )


def test_none_trades_the_standing_target_and_new_targets_win() -> None:
    decisions = [
        Decision("BTC", "s", None, D(100)),
        Decision("ETH", "s", 1, D(10)),
        Decision("SOL", "s", None, D(5)),
        Decision("XRP", "s", skipped="stale"),
    ]
    held = {"BTC": standing(0), "ETH": standing(-1), "XRP": standing(1)}
    out = apply_standing(decisions, held)
    assert [(d.inst_id, d.target) for d in out] == [("BTC", 0), ("ETH", 1), ("SOL", None), ("XRP", None)]
    assert out[3].skipped == "stale"


@pytest.mark.parametrize(("fails", "bars"), [(0, 0), (1, 0), (2, 1), (3, 3), (4, 7), (5, 15), (30, 15)])
def test_backoff_bars(fails: int, bars: int) -> None:
    assert backoff_bars(fails) == bars


@pytest.mark.parametrize(
    ("fails", "since_bars", "due"),
    [(0, 0, True), (1, 1, True), (2, 1, False), (2, 2, True), (3, 3, False), (3, 4, True)],
)
def test_retry_due(fails: int, since_bars: int, due: bool) -> None:
    held = standing(1, fails, BAR)
    assert retry_due(held, BAR + since_bars * M, M) is due


@pytest.mark.parametrize(
    ("target", "holding", "size", "mode", "ok"),
    [
        (0, Holding(), None, "net", True),
        (0, Holding(long=D(1)), None, "net", False),
        (1, Holding(long=D("1.9")), D(2), "net", True),  # within the 10 % band
        (1, Holding(long=D("1.7")), D(2), "net", False),
        (1, Holding(long=D(2), short=D(1)), D(2), "long_short", False),
        (-1, Holding(short=D(3)), None, "net", True),  # size not known yet: any short
        (-1, Holding(), D(2), "net", False),
        (-1, Holding(long=D("0.00001")), None, "spot", True),  # spot -1 is flat, dust allowed
    ],
)
def test_reached(target: int, holding: Holding, size: D | None, mode: str, ok: bool) -> None:
    assert reached(target, holding, size, mode, dust=D("0.0001") if mode == "spot" else D(0)) is ok  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("misses", "due"), [(0, False), (2, False), (3, True), (4, False), (6, True), (9, True)]
)
def test_alert_due_every_three(misses: int, due: bool) -> None:
    assert alert_due(misses, 3) is due


def test_target_book_round_trip(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    book = TargetBook(journal)
    book.set("BTC", "sma", 1, "strategy", BAR, BAR)
    book.set_size("BTC", D("2.5"), BAR)
    assert book.record_bar("BTC", reached=False, failed=True, bar_close=BAR) == 1
    assert book.record_bar("BTC", reached=False, failed=False, bar_close=BAR + M) == 2
    row = book.get("BTC")
    assert row is not None
    assert (row.target, row.size, row.misses, row.fails, row.failed_bar) == (
        1,
        D("2.5"),
        2,
        1,
        BAR.isoformat(),
    )
    book.set("BTC", "sma", -1, "manual", BAR + 2 * M)  # a new target starts over, sized next bar
    row = book.get("BTC")
    assert row is not None
    assert (row.target, row.size, row.misses, row.source) == (-1, None, 0, "manual")
    with pytest.raises(ValueError, match="target must be"):
        book.set("BTC", "sma", 2, "manual", BAR)
    with pytest.raises(ValueError, match="source must be"):
        book.set("BTC", "sma", 1, "robot", BAR)
    columns = {r[1] for r in journal.query("PRAGMA table_info(targets)")}
    assert {"inst_id", "strategy", "target", "size", "bar_close", "source", "updated_at"} <= columns
    journal.close()


def test_the_same_target_named_again_keeps_its_miss_and_failure_counts(tmp_path: Path) -> None:
    """A level-style strategy names its target every bar: the counts (backoff, alert) survive."""
    journal = Journal(tmp_path / "j.sqlite")
    book = TargetBook(journal)
    book.set("BTC", "sma", 1, "strategy", BAR, BAR)
    book.set_size("BTC", D("2.5"), BAR)
    book.record_bar("BTC", reached=False, failed=True, bar_close=BAR)
    book.record_bar("BTC", reached=False, failed=True, bar_close=BAR + M)
    book.set("BTC", "sma", 1, "strategy", BAR + 2 * M, BAR + 2 * M)
    row = book.get("BTC")
    assert row is not None
    assert (row.target, row.misses, row.fails, row.failed_bar) == (1, 2, 2, (BAR + M).isoformat())
    assert (row.size, row.bar_close) == (None, (BAR + 2 * M).isoformat())  # re-sized on its next bar
    book.set("BTC", "sma", 0, "strategy", BAR + 3 * M, BAR + 3 * M)  # a changed target starts over
    row = book.get("BTC")
    assert row is not None
    assert (row.target, row.misses, row.fails, row.failed_bar) == (0, 0, 0, None)
    journal.close()


def test_alerter_journals_and_notifies(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    notifier = RecordingNotifier()
    alert = Alerter("acct", journal, notifier, FakeClock(BAR))
    alert("order_unresolved", "lookups failing", "BTC", BAR)
    alert("order_rejected", "51008", "ETH", notify=False)
    assert [(a.kind, a.inst_id, a.message) for a in recent_alerts(journal)] == [
        ("order_rejected", "ETH", "51008"),
        ("order_unresolved", "BTC", "lookups failing"),
    ]
    assert notifier.events == [TradingAlert("acct", "order_unresolved", "lookups failing", "BTC", BAR)]
    journal.close()


def test_every_trading_alert_kind_has_a_label() -> None:
    for kind in TRADING_ALERT_KINDS:
        title, text = format_event(TradingAlert("acct", kind, "detail", "BTC-USDT-SWAP", BAR))
        assert kind not in title  # a human label, not the raw kind
        assert "2025-01-06T00:00:00Z" in text
        assert "BTC-USDT-SWAP" in title


def test_missed_closes_are_the_bars_strictly_between() -> None:
    iv = parse_interval("1m")
    assert missed_closes(BAR, BAR + M, iv, "UTC") == []
    assert missed_closes(BAR, BAR + 4 * M, iv, "UTC") == [BAR + M, BAR + 2 * M, BAR + 3 * M]


def test_record_missed_journals_each_bar_once_and_alerts_once(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    alerts: list[tuple[str, str]] = []
    iv = parse_interval("1m")
    closes = [BAR + n * M for n in range(3)]
    assert (
        record_missed(journal, closes, iv, "overrun", BAR + 4 * M, lambda k, m, **_: alerts.append((k, m)))
        == 3
    )
    rows = journal.query("SELECT bar_close, status, reason FROM cycles ORDER BY bar_close")
    assert [(r[0], r[1], r[2]) for r in rows] == [(c.isoformat(), "skipped", "overrun") for c in closes]
    assert len(alerts) == 1
    assert alerts[0][0] == "bar_skipped"
    assert "3 1m bar(s)" in alerts[0][1]
    journal.close()


def test_an_empty_journal_file_is_refused_not_started_afresh(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    path.write_bytes(b"")
    with pytest.raises(JournalUnreadable, match="empty"):
        Journal(path)
    assert path.stat().st_size == 0  # left as it was for the operator


def test_a_corrupt_journal_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(JournalUnreadable, match="unreadable"):
        Journal(path)


def test_a_damaged_journal_page_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = Journal(path)
    journal.write("PRAGMA wal_checkpoint(TRUNCATE)")
    journal.close()
    raw = bytearray(path.read_bytes())
    raw[100 : len(raw)] = b"\xff" * (len(raw) - 100)  # keep the header, wreck every page
    path.write_bytes(bytes(raw))
    with pytest.raises(JournalUnreadable):
        Journal(path)


def test_a_fresh_path_still_creates_a_journal(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "new" / "j.sqlite")
    assert journal.query("SELECT value FROM meta WHERE key = 'schema_version'")[0][0] == str(SCHEMA_VERSION)
    journal.close()
