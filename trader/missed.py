"""Bars the trader did not trade: journaled (cycle status ``skipped`` with the reason) and alerted.

A bar can pass untraded because the trader was down (``downtime``), because the previous cycle
ran past its close (``overrun``), because trading was paused, or because its marker came late
(:mod:`trader.cycle`). :func:`missed_closes` is pure; :func:`record_missed` journals a run of
missed bars (at most :data:`MAX_ROWS` rows; the alert gives the whole span) and sends one alert.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from core.intervals import Interval, next_close
from trader.journal import Journal
from trader.journal_schema import iso

__all__ = ["MAX_ROWS", "last_cycle_close", "missed_closes", "record_missed"]

log = logging.getLogger(__name__)
MAX_ROWS = 1440  # a day of 1m bars; older ones are summarised by the alert only


def missed_closes(after: datetime, before: datetime, interval: Interval, tz: str) -> list[datetime]:
    """Bar closes strictly between ``after`` and ``before`` (both bar closes), oldest first."""
    out: list[datetime] = []
    close = next_close(after, interval, tz)
    while close < before:
        out.append(close)
        close = next_close(close, interval, tz)
    return out


def last_cycle_close(journal: Journal) -> datetime | None:
    """The newest bar the journal has a cycle for, in any status."""
    rows = journal.query("SELECT bar_close FROM cycles ORDER BY bar_close DESC LIMIT 1")
    return datetime.fromisoformat(rows[0][0]) if rows else None


def record_missed(
    journal: Journal,
    closes: list[datetime],
    interval: Interval,
    reason: str,
    now: datetime,
    alert: Callable[..., None],
) -> int:
    """Journal each of ``closes`` as a skipped cycle (unless the journal has it) and alert once."""
    if not closes:
        return 0
    kept = closes[-MAX_ROWS:]
    with journal.transaction():
        for close in kept:
            journal.write(
                "INSERT OR IGNORE INTO cycles (bar_close, interval, status, started_at, finished_at, reason) "
                "VALUES (?, ?, 'skipped', ?, ?, ?)",
                (iso(close), interval.name, iso(now), iso(now), reason),
            )
        span = (
            closes[0].isoformat()
            if len(closes) == 1
            else f"{closes[0].isoformat()} .. {closes[-1].isoformat()}"
        )
        alert(
            "bar_skipped",
            f"{len(closes)} {interval.name} bar(s) not traded ({span}): {reason}",
            bar_close=closes[-1],
        )
    return len(closes)
