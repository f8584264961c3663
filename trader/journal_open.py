"""Opening a journal safely: a corrupt or empty file stops start-up with a clear message.

A journal is the trader's memory of what it sent to OKX. Starting on a fresh history when the
file is damaged would forget orders that may still exist at OKX, so :func:`check_journal_file`
refuses a 0-byte file and :func:`unreadable` turns SQLite's ``DatabaseError`` into
:class:`JournalUnreadable`, which ``python -m trader`` reports (and alerts) before exiting with
:data:`EXIT_JOURNAL` — a status neither systemd nor the supervisor restarts.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from core.errors import OkxfleetError

__all__ = ["EXIT_JOURNAL", "JournalUnreadable", "check_journal_file", "integrity_problem", "unreadable"]

EXIT_JOURNAL = 3
_HELP = (
    "the trader will not start on a damaged history (it may have orders at OKX that only this "
    "file knows). Restore the file from a backup; if this account never traded, move the file "
    "away to start a new journal."
)


class JournalUnreadable(OkxfleetError):
    """The journal file exists but cannot be used."""


def check_journal_file(path: Path) -> None:
    """Refuse an existing journal file of 0 bytes (SQLite would read it as a new, empty one)."""
    if path.is_file() and path.stat().st_size == 0:
        raise JournalUnreadable(f"journal {path} is empty (0 bytes): {_HELP}")


def unreadable(path: Path, exc: BaseException) -> JournalUnreadable:
    """The error for a journal SQLite cannot read (``file is not a database``, malformed...)."""
    return JournalUnreadable(f"journal {path} is unreadable ({exc}): {_HELP}")


def integrity_problem(db: sqlite3.Connection) -> str | None:
    """``PRAGMA quick_check``'s complaint, or None when the file is sound."""
    row = db.execute("PRAGMA quick_check").fetchone()
    result = str(row[0]) if row else "no answer"
    return None if result == "ok" else result
