"""Read-only queries on one account's journal (``<journal_dir>/<account>.sqlite``).

The file is opened with ``mode=ro`` for the length of one request: in WAL mode a reader never
blocks the trader's writes, and a read-only connection cannot take a write lock. Tables written by
newer trader versions (``targets``, ``alerts``) are read when ``sqlite_master`` lists them and
reported as absent (``None``) otherwise. Money and sizes stay the journal's decimal strings;
sums are computed in ``Decimal``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from core.errors import DataError

__all__ = ["JournalUnreadable", "JournalView", "open_journal"]

Row = dict[str, Any]
_OPEN = ("intent", "unknown", "live")


class JournalUnreadable(DataError):
    """The journal file is there but is no readable sqlite journal (corrupt, empty, not a database);
    the message starts with "journal unreadable:" and names the file and what sqlite said."""


@contextmanager
def open_journal(path: Path) -> Iterator[JournalView | None]:
    """A :class:`JournalView` of ``path``, or ``None`` while the trader has not created it.

    :class:`JournalUnreadable` when the file is empty (the trader refuses to start on it too) or
    sqlite cannot read it — opening it or in any query made inside the ``with`` block."""
    path = Path(path)
    if not path.is_file():
        yield None
        return
    if path.stat().st_size == 0:
        raise JournalUnreadable(f"journal unreadable: {path.name} is empty (0 bytes)")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2, check_same_thread=False)
    except sqlite3.Error as exc:
        raise JournalUnreadable(f"journal unreadable: {path.name}: {exc}") from None
    db.row_factory = sqlite3.Row
    try:
        db.execute("PRAGMA query_only = ON")
        view = JournalView(db)
        yield view
    except sqlite3.DatabaseError as exc:  # corrupt, or not a database at all
        raise JournalUnreadable(f"journal unreadable: {path.name}: {exc}") from None
    finally:
        db.close()


def _dec(value: object, what: str) -> Decimal:
    try:
        out = Decimal(str(value))
    except InvalidOperation:
        raise DataError(f"journal {what}: {value!r} is not a number") from None
    if not out.is_finite():
        raise DataError(f"journal {what}: {value!r} is not a finite number")
    return out


def _rows(cur: sqlite3.Cursor) -> list[Row]:
    return [dict(r) for r in cur.fetchall()]


class JournalView:
    """Plain SQL over one open read-only journal connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        names = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        self.tables = frozenset(r[0] for r in names)

    def _q(self, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
        return _rows(self._db.execute(sql, params))

    def _has(self, *tables: str) -> bool:
        return all(t in self.tables for t in tables)

    # ---- cycles ----------------------------------------------------------------------------------
    def last_cycle(self) -> Row | None:
        if not self._has("cycles"):
            return None
        rows = self._q("SELECT * FROM cycles ORDER BY bar_close DESC LIMIT 1")
        return rows[0] if rows else None

    def cycle_counts(self) -> dict[str, int]:
        if not self._has("cycles"):
            return {}
        return {
            r["status"]: r["n"] for r in self._q("SELECT status, COUNT(*) AS n FROM cycles GROUP BY status")
        }

    def recent_skips(self, limit: int = 10) -> list[Row]:
        """Skipped or failed cycles and skipped instruments, newest first, with their reasons."""
        out: list[Row] = []
        if self._has("cycles"):
            out += self._q(
                "SELECT bar_close, '' AS inst_id, status, reason FROM cycles "
                "WHERE status IN ('skipped', 'failed') ORDER BY bar_close DESC LIMIT ?",
                (limit,),
            )
        if self._has("signals"):
            out += self._q(
                "SELECT bar_close, inst_id, status, reason FROM signals WHERE status = 'skipped' "
                "ORDER BY bar_close DESC LIMIT ?",
                (limit,),
            )
        return sorted(out, key=lambda r: r["bar_close"], reverse=True)[:limit]

    def equity_curve(self) -> list[Row]:
        if not self._has("cycles"):
            return []
        rows = self._q(
            "SELECT bar_close, equity FROM cycles WHERE equity IS NOT NULL AND equity != '' "
            "ORDER BY bar_close"
        )
        return [{"bar_close": r["bar_close"], "equity": str(_dec(r["equity"], "equity"))} for r in rows]

    # ---- positions and targets -----------------------------------------------------------------
    def positions(self) -> list[Row]:
        """Per instrument, the latest signal: the position seen then, the target, the desired size."""
        if not self._has("signals"):
            return []
        return self._q(
            "SELECT s.inst_id, s.strategy, s.bar_close, s.now_pos, s.target, s.desired, s.status, s.reason "
            "FROM signals s JOIN (SELECT inst_id, MAX(bar_close) AS bc FROM signals GROUP BY inst_id) m "
            "ON s.inst_id = m.inst_id AND s.bar_close = m.bc ORDER BY s.inst_id"
        )

    def standing_targets(self) -> list[Row] | None:
        """The ``targets`` table (standing targets) or ``None`` if this journal has none."""
        if not self._has("targets"):
            return None
        return self._q("SELECT * FROM targets ORDER BY inst_id")

    def target_changes(self, inst_id: str) -> list[Row]:
        """Bars where the strategy's target for ``inst_id`` changed (``None`` = keep is skipped)."""
        if not self._has("signals"):
            return []
        rows = self._q(
            "SELECT bar_close, target FROM signals WHERE inst_id = ? AND target IS NOT NULL "
            "ORDER BY bar_close",
            (inst_id,),
        )
        out, last = [], None
        for r in rows:
            if r["target"] != last:
                out.append(r)
                last = r["target"]
        return out

    # ---- orders and fills ----------------------------------------------------------------------
    def open_orders(self) -> list[Row]:
        if not self._has("orders"):
            return []
        return self._q(
            "SELECT cl_ord_id, bar_close, inst_id, leg, side, pos_side, ord_type, sz, px, status, state, "
            "acc_fill_sz, updated_at FROM orders WHERE status IN (?, ?, ?) ORDER BY created_at",
            _OPEN,
        )

    def orders(self, limit: int = 100) -> list[Row]:
        if not self._has("orders"):
            return []
        return self._q(
            "SELECT cl_ord_id, bar_close, inst_id, leg, side, pos_side, ord_type, sz, px, status, state, "
            "acc_fill_sz, avg_px, fee, fee_ccy, pnl, error_code, error_msg, created_at FROM orders "
            "ORDER BY created_at DESC LIMIT ?",
            (limit,),
        )

    def fills(self, inst_id: str | None = None, limit: int = 1000) -> list[Row]:
        if not self._has("fills"):
            return []
        return self._q(
            "SELECT trade_id, inst_id, cl_ord_id, side, pos_side, px, sz, fee, fee_ccy, ts FROM fills "
            "WHERE ? IS NULL OR inst_id = ? ORDER BY ts DESC LIMIT ?",
            (inst_id, inst_id, limit),
        )

    def last_error(self) -> Row | None:
        """The newest rejected order or failed cycle."""
        found: list[Row] = []
        if self._has("orders"):
            found += self._q(
                "SELECT updated_at AS at, inst_id, 'order ' || cl_ord_id || ' rejected: ' || "
                "COALESCE(error_code, '') || ' ' || COALESCE(error_msg, '') AS message FROM orders "
                "WHERE status = 'rejected' ORDER BY updated_at DESC LIMIT 1"
            )
        if self._has("cycles"):
            found += self._q(
                "SELECT COALESCE(finished_at, started_at) AS at, '' AS inst_id, "
                "'cycle ' || bar_close || ' failed: ' || reason AS message FROM cycles "
                "WHERE status = 'failed' ORDER BY bar_close DESC LIMIT 1"
            )
        return max(found, key=lambda r: r["at"]) if found else None

    def pnl_by_strategy(self) -> list[Row]:
        """Realised PnL and fees of filled orders by instrument and strategy (Decimal sums)."""
        if not self._has("orders"):
            return []
        join = "LEFT JOIN signals s ON s.bar_close = o.bar_close AND s.inst_id = o.inst_id"
        strategy = "COALESCE(s.strategy, '?')" if self._has("signals") else "'?'"
        rows = self._q(
            f"SELECT o.inst_id, {strategy} AS strategy, o.pnl, o.fee, o.fee_ccy, o.acc_fill_sz "  # noqa: S608
            f"FROM orders o {join if self._has('signals') else ''} WHERE o.acc_fill_sz NOT IN ('0', '')"
        )
        sums: dict[tuple[str, str, str], list[Decimal | int]] = {}
        for r in rows:
            key = (r["inst_id"], r["strategy"], r["fee_ccy"] or "")
            acc = sums.setdefault(key, [Decimal(0), Decimal(0), 0])
            acc[0] += _dec(r["pnl"] or "0", "pnl")
            acc[1] += _dec(r["fee"] or "0", "fee")
            acc[2] += 1
        return [
            {
                "inst_id": k[0],
                "strategy": k[1],
                "fee_ccy": k[2],
                "pnl": str(v[0]),
                "fee": str(v[1]),
                "orders": v[2],
            }
            for k, v in sorted(sums.items())
        ]

    def alerts(self, limit: int = 50) -> list[Row] | None:
        """The ``alerts`` table, newest first, or ``None`` if this journal has none."""
        if not self._has("alerts"):
            return None
        return self._q("SELECT * FROM alerts ORDER BY at DESC LIMIT ?", (limit,))
