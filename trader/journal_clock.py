"""The running trader's clock, kept in the journal so a shell command stamps the same time.

The accelerated demo runs its traders on a :class:`~core.clock.ScaledClock` handed over in
``OKXFLEET_CLOCK``; a ``--set-target`` typed in another shell has no such variable and would stamp
wall-clock time onto a journal of virtual times. The trader records its clock's spec (table
``meta``, key ``clock``) when it opens the journal — and removes it when it runs on real time — and
the journal-only commands use it when their own process has no scaled clock.
"""

from __future__ import annotations

from core.clock import Clock, ScaledClock, parse_clock_spec
from trader.journal import Journal

__all__ = ["journal_clock", "record_clock"]

_KEY = "clock"


def record_clock(journal: Journal, clock: Clock) -> None:
    """Remember the trader's clock (a scaled one), or forget an old one (real time)."""
    if isinstance(clock, ScaledClock):
        journal.write("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (_KEY, clock.spec()))
    else:
        journal.write("DELETE FROM meta WHERE key = ?", (_KEY,))


def journal_clock(journal: Journal, clock: Clock) -> Clock:
    """``clock`` if it is scaled itself or the trader runs on real time; else the trader's clock."""
    if isinstance(clock, ScaledClock):
        return clock
    rows = journal.query("SELECT value FROM meta WHERE key = ?", (_KEY,))
    return parse_clock_spec(rows[0]["value"]) if rows else clock
