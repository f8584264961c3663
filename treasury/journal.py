"""The treasury's journal: ``<journal_dir>/treasury.sqlite`` (write-ahead for transfers).

A plan and all its transfers (each with its deterministic ``clientId``) are committed before the
first one is sent, so after a crash every clientId that may exist at OKX is known and looked up
(``transfer-state``) before anything is sent again. Tables::

    plans(plan_id PK, created_at, ccy, band, status, detail)          status: open | done | stopped
    transfers(client_id PK, plan_id, step, src, src_kind, dst, dst_kind, ccy, amt, status,
              trans_id, code, message, updated_at)
        status: planned -> sent -> done | refused (never sent: it would starve positions, or
        locked out) | failed (OKX refused it: code and message)
    events(id PK, at, client_id, event, detail)
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from treasury.plan import Move

__all__ = ["TERMINAL", "StepRow", "TreasuryJournal"]

TERMINAL = ("done", "refused", "failed")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS plans (plan_id TEXT PRIMARY KEY, created_at TEXT NOT NULL, ccy TEXT NOT NULL,
    band TEXT NOT NULL, status TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS transfers (client_id TEXT PRIMARY KEY, plan_id TEXT NOT NULL,
    step INTEGER NOT NULL, src TEXT NOT NULL, src_kind TEXT NOT NULL, dst TEXT NOT NULL,
    dst_kind TEXT NOT NULL, ccy TEXT NOT NULL, amt TEXT NOT NULL, status TEXT NOT NULL,
    trans_id TEXT, code TEXT, message TEXT, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,
    client_id TEXT, event TEXT NOT NULL, detail TEXT);
"""


@dataclass(frozen=True)
class StepRow:
    client_id: str
    plan_id: str
    step: int
    move: Move
    ccy: str
    status: str
    trans_id: str | None


def _iso(ts: datetime) -> str:
    if ts.tzinfo is None:
        raise ValueError("journal times must be aware")
    return ts.isoformat()


class TreasuryJournal:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), isolation_level=None, timeout=30, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def record_plan(
        self,
        plan_id: str,
        ccy: str,
        band: Decimal,
        moves: list[tuple[str, Move]],
        now: datetime,
        detail: str = "",
    ) -> None:
        """The plan and every transfer of it, in one commit (before anything is sent)."""
        at = _iso(now)
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute(
                "INSERT INTO plans VALUES (?, ?, ?, ?, 'open', ?)", (plan_id, at, ccy, str(band), detail)
            )
            for step, (client_id, m) in enumerate(moves, start=1):
                self._db.execute(
                    "INSERT INTO transfers (client_id, plan_id, step, src, src_kind, dst, dst_kind, ccy,"
                    " amt, status, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'planned', ?)",
                    (client_id, plan_id, step, m.src, m.src_kind, m.dst, m.dst_kind, ccy, str(m.amount), at),
                )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def set_status(
        self,
        client_id: str,
        status: str,
        now: datetime,
        *,
        trans_id: str | None = None,
        code: str | None = None,
        message: str | None = None,
    ) -> None:
        self._db.execute(
            "UPDATE transfers SET status = ?, trans_id = COALESCE(?, trans_id), code = COALESCE(?, code),"
            " message = COALESCE(?, message), updated_at = ? WHERE client_id = ?",
            (status, trans_id, code, message, _iso(now), client_id),
        )
        self.event(client_id, status, now, {"transId": trans_id, "code": code, "message": message})

    def event(self, client_id: str | None, event: str, now: datetime, detail: Any = None) -> None:
        self._db.execute(
            "INSERT INTO events (at, client_id, event, detail) VALUES (?, ?, ?, ?)",
            (_iso(now), client_id, event, json.dumps(detail, default=str)),
        )

    def close_plan(self, plan_id: str, status: str) -> None:
        self._db.execute("UPDATE plans SET status = ? WHERE plan_id = ?", (status, plan_id))

    def steps(self, plan_id: str) -> list[StepRow]:
        rows = self._db.execute("SELECT * FROM transfers WHERE plan_id = ? ORDER BY step", (plan_id,))
        return [
            StepRow(r["client_id"], r["plan_id"], r["step"],
                    Move(r["src"], r["src_kind"], r["dst"], r["dst_kind"], Decimal(r["amt"])),
                    r["ccy"], r["status"], r["trans_id"])
            for r in rows
        ]  # fmt: skip

    def open_plans(self) -> list[str]:
        return [
            r[0]
            for r in self._db.execute("SELECT plan_id FROM plans WHERE status = 'open' ORDER BY created_at")
        ]

    def plan_exists(self, plan_id: str) -> bool:
        return self._db.execute("SELECT 1 FROM plans WHERE plan_id = ?", (plan_id,)).fetchone() is not None

    def moved_since(self, since: datetime) -> Decimal:
        """Sum of the transfers done since ``since`` (the daily cap)."""
        rows = self._db.execute(
            "SELECT amt FROM transfers WHERE status IN ('done', 'sent') AND updated_at >= ?", (_iso(since),)
        )
        return sum((Decimal(r[0]) for r in rows), Decimal(0))

    def transfers(self) -> list[sqlite3.Row]:
        return list(self._db.execute("SELECT * FROM transfers ORDER BY plan_id, step"))
