"""Halt state, risk state and risk events in the account's journal, and the flatten action.

The tables (``risk_state``, ``risk_events``; see :mod:`trader.journal_schema`) live in the same
SQLite file as the rest of the journal, so a halt survives restarts: a halted trader keeps running,
reporting but never ordering, until ``python -m trader <account> --resume``. The flatten itself is
:mod:`trader.flatten`. This module opens its
own connection to the file, so ``--flatten`` / ``--resume`` can run while the trader does. A finished
flatten also sets every standing target (``targets``) to flat.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from trader.risk import RiskState

__all__ = ["HaltStore"]

log = logging.getLogger(__name__)
_KEYS = ("peak", "day", "day_open", "halted", "reason", "bills_seen")


def _iso(ts: datetime) -> str:
    if ts.tzinfo is None:
        raise ValueError("journal times must be aware")
    return ts.isoformat()


class HaltStore:
    """Risk state of one account. Open it on a journal file :class:`trader.journal.Journal` made."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(str(self.path), isolation_level=None, timeout=30)
        self._db.execute("PRAGMA busy_timeout = 30000")

    def close(self) -> None:
        self._db.close()

    def load(self) -> RiskState:
        raw = dict(self._db.execute("SELECT key, value FROM risk_state").fetchall())
        dec = {k: Decimal(raw[k]) if raw.get(k) else None for k in ("peak", "day_open")}
        day = date.fromisoformat(raw["day"]) if raw.get("day") else None
        halted, reason = raw.get("halted") == "1", raw.get("reason", "")
        return RiskState(dec["peak"], day, dec["day_open"], halted, reason, raw.get("bills_seen") or None)

    def save(self, state: RiskState, now: datetime) -> None:
        values = {
            "peak": "" if state.peak is None else str(state.peak),
            "day": "" if state.day is None else state.day.isoformat(),
            "day_open": "" if state.day_open is None else str(state.day_open),
            "halted": "1" if state.halted else "0",
            "reason": state.reason,
            "bills_seen": state.bills_seen or "",
        }
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for key in _KEYS:
                self._set(key, values[key], now)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def event(self, kind: str, detail: str, now: datetime, data: object = None) -> None:
        self._db.execute(
            "INSERT INTO risk_events (at, kind, detail, data) VALUES (?, ?, ?, ?)",
            (_iso(now), kind, detail, json.dumps(data, default=str)),
        )

    def events(self) -> list[tuple[str, str, str]]:
        return [tuple(r) for r in self._db.execute("SELECT at, kind, detail FROM risk_events ORDER BY id")]

    def halt(self, reason: str, now: datetime) -> None:
        """Halt the account and mark a flatten as pending (cleared by :meth:`flattened`)."""
        state = self.load()
        self.save(replace(state, halted=True, reason=reason), now)
        self._set("flatten_pending", "1", now)
        self.event("halt", reason, now)

    def flatten_pending(self) -> bool:
        row = self._db.execute("SELECT value FROM risk_state WHERE key = 'flatten_pending'").fetchone()
        return row is not None and row[0] == "1"

    def flattened(self, detail: str, now: datetime) -> None:
        """The flatten is done: every standing target becomes flat (source ``manual``), so that
        ``--resume`` does not re-enter what was just closed; a strategy's next signal sets a new one."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._set("flatten_pending", "0", now)
            self._db.execute(
                "UPDATE targets SET target = 0, size = NULL, source = 'manual', updated_at = ?, "
                "misses = 0, fails = 0, failed_bar = NULL",
                (_iso(now),),
            )
            self.event("flatten", detail, now)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _set(self, key: str, value: str, now: datetime) -> None:
        self._db.execute(
            "INSERT INTO risk_state (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) "
            "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (key, value, _iso(now)),
        )

    def resume(self, now: datetime) -> RiskState:
        """Lift the halt; the equity peak and the day restart from the next bar's equity."""
        previous = self.load()
        self.save(RiskState(), now)
        self._set("flatten_pending", "0", now)
        self.event("resume", f"halt lifted (was: {previous.reason or 'not halted'})", now)
        return previous
