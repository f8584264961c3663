"""The trader's journal: one SQLite file per account (``<journal_dir>/<account>.sqlite``).

Write-ahead for orders: an order's *intent* (clOrdId, request) is committed before the request
leaves the process, so after a crash every id that may exist at OKX is in the journal and is
looked up before anything new is sent. WAL mode with ``synchronous=FULL``; ``--report`` can read
while the trader writes.

Tables and statuses: see :mod:`trader.journal_schema`. Times are ISO 8601 UTC strings, money
and sizes ``Decimal`` strings. One thread per journal (SQLite's default check).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from exchange.records import Fill, Order
from trader.journal_open import check_journal_file, integrity_problem, unreadable
from trader.journal_schema import (
    MIGRATIONS,
    OPEN_STATUSES,
    SCHEMA_VERSION,
    CycleRow,
    OrderIntent,
    OrderRow,
    SignalRow,
    cycle_row,
    intent_row,
    order_row,
    signal_row,
)
from trader.journal_schema import iso as _iso
from trader.journal_schema import s as _s

__all__ = ["OPEN_STATUSES", "SCHEMA_VERSION", "CycleRow", "Journal", "OrderIntent", "OrderRow", "SignalRow"]


class Journal:
    """The account's journal. ``Journal(path)`` creates or migrates the file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        check_journal_file(self.path)
        self._db = sqlite3.connect(str(self.path), isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._depth = 0
        try:
            problem = integrity_problem(self._db)
            if problem is not None:
                raise sqlite3.DatabaseError(problem)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise unreadable(self.path, exc) from exc

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes into one durable commit; nested blocks join the outermost one."""
        if self._depth == 0:
            self._db.execute("BEGIN IMMEDIATE")
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            if self._depth == 0:
                self._db.execute("ROLLBACK")
            raise
        self._depth -= 1
        if self._depth == 0:
            self._db.execute("COMMIT")

    def _migrate(self) -> None:
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise RuntimeError(f"{self.path}: journal schema {version} is newer than this trader's")
        for number in range(version, SCHEMA_VERSION):
            # One script = one transaction: DDL and the version bump commit together or not at all.
            bump = f"INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', '{number + 1}');"  # noqa: S608 - an int we made
            script = "BEGIN IMMEDIATE;" + MIGRATIONS[number] + ";" + bump + "COMMIT;"
            try:
                self._db.executescript(script)
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def _insert(self, table: str, values: dict[str, Any], *, verb: str = "INSERT") -> sqlite3.Cursor:
        cols, marks = ", ".join(values), ", ".join("?" * len(values))
        return self._db.execute(f"{verb} INTO {table} ({cols}) VALUES ({marks})", tuple(values.values()))

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Read-only queries for reports."""
        return list(self._db.execute(sql, params))

    def write(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One write statement for the journal's satellite stores (targets, alerts); rows changed."""
        return self._db.execute(sql, params).rowcount

    # ---- cycles --------------------------------------------------------
    def start_cycle(self, bar_close: datetime, interval: str, now: datetime) -> CycleRow:
        """Create the cycle row, or count one more run of it. Returns the row after the update."""
        self._db.execute(
            "INSERT INTO cycles (bar_close, interval, status, started_at) VALUES (?, ?, 'started', ?) "
            "ON CONFLICT (bar_close) DO UPDATE SET runs = runs + 1",
            (_iso(bar_close), interval, _iso(now)),
        )
        row = self.cycle(bar_close)
        assert row is not None
        return row

    def cycle(self, bar_close: datetime) -> CycleRow | None:
        r = self._db.execute("SELECT * FROM cycles WHERE bar_close = ?", (_iso(bar_close),)).fetchone()
        if r is None:
            return None
        return cycle_row(r)

    def unfinished_cycles(self) -> list[CycleRow]:
        """Cycles a crash interrupted (``started`` or ``targets``), oldest first."""
        rows = self._db.execute(
            "SELECT * FROM cycles WHERE status IN ('started', 'targets') ORDER BY bar_close"
        )
        return [cycle_row(r) for r in rows]

    def set_cycle_status(
        self,
        bar_close: datetime,
        status: str,
        now: datetime | None = None,
        *,
        equity: Decimal | None = None,
        reason: str = "",
    ) -> None:
        self._db.execute(
            "UPDATE cycles SET status = ?, finished_at = COALESCE(?, finished_at), "
            "equity = COALESCE(?, equity), reason = CASE WHEN ? = '' THEN reason ELSE ? END "
            "WHERE bar_close = ?",
            (status, _iso(now) if now else None, _s(equity), reason, reason, _iso(bar_close)),
        )

    # ---- signals -------------------------------------------------------
    def record_signal(self, bar_close: datetime, row: SignalRow, now: datetime) -> None:
        values = {
            "bar_close": _iso(bar_close), "inst_id": row.inst_id, "strategy": row.strategy,
            "now_pos": _s(row.now_pos), "target": row.target, "signal_px": _s(row.signal_px),
            "desired": _s(row.desired), "status": row.status, "reason": row.reason, "updated_at": _iso(now),
        }  # fmt: skip
        self._insert("signals", values, verb="INSERT OR REPLACE")

    def signals(self, bar_close: datetime) -> dict[str, SignalRow]:
        rows = self._db.execute("SELECT * FROM signals WHERE bar_close = ?", (_iso(bar_close),))
        return {r["inst_id"]: signal_row(r) for r in rows}

    def reduce_desired(self, bar_close: datetime, inst_id: str, by: Decimal, now: datetime) -> None:
        """An open shrunk at a re-price: the bar's target size is that much smaller."""
        row = self.signals(bar_close).get(inst_id)
        if row is None or row.desired is None:
            return
        self._db.execute(
            "UPDATE signals SET desired = ?, reason = ?, updated_at = ? WHERE bar_close = ? AND inst_id = ?",
            (str(row.desired - by), f"re-priced: size cut by {by}", _iso(now), _iso(bar_close), inst_id),
        )

    # ---- orders --------------------------------------------------------
    def record_intents(self, intents: Iterable[OrderIntent], now: datetime) -> None:
        """Journal orders about to be sent, in one transaction, durably. Call BEFORE sending."""
        if self._depth:
            raise RuntimeError("record_intents must commit on its own, before the orders are sent")
        at = _iso(now)
        with self.transaction():
            for it in intents:
                values, request = intent_row(it, at)
                self._insert("orders", values)
                self._event(it.cl_ord_id, at, "intent", detail=request)

    def _event(
        self,
        cl_ord_id: str,
        at: str,
        event: str,
        *,
        state: str | None = None,
        acc_fill_sz: Decimal | None = None,
        avg_px: Decimal | None = None,
        detail: Any = None,
    ) -> None:
        values = {
            "cl_ord_id": cl_ord_id, "at": at, "event": event, "state": state, "acc_fill_sz": _s(acc_fill_sz),
            "avg_px": _s(avg_px), "detail": json.dumps(detail) if detail is not None else None,
        }  # fmt: skip
        self._insert("order_events", values)

    def _set_status(self, cl_ord_id: str, status: str, now: datetime, event: str, **fields: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in fields)
        values = [*fields.values()]
        self._db.execute(
            f"UPDATE orders SET status = ?, updated_at = ?{', ' + sets if sets else ''} WHERE cl_ord_id = ?",  # noqa: S608 - column names are ours
            (status, _iso(now), *values, cl_ord_id),
        )
        self._event(cl_ord_id, _iso(now), event, detail=fields or None)

    def add_event(self, cl_ord_id: str, event: str, now: datetime, detail: Any = None) -> None:
        self._event(cl_ord_id, _iso(now), event, detail=detail)

    def mark_acked(self, cl_ord_id: str, ord_id: str, now: datetime) -> None:
        self._set_status(cl_ord_id, "live", now, "acked", ord_id=ord_id)

    def mark_unknown(self, cl_ord_id: str, message: str, now: datetime) -> None:
        self._set_status(cl_ord_id, "unknown", now, "unknown_outcome", error_msg=message)

    def mark_rejected(self, cl_ord_id: str, code: str, message: str, now: datetime) -> None:
        self._set_status(cl_ord_id, "rejected", now, "rejected", error_code=code, error_msg=message)

    def mark_not_placed(self, cl_ord_id: str, now: datetime) -> None:
        self._set_status(cl_ord_id, "not_placed", now, "not_found_at_okx")

    def mark_lost(self, cl_ord_id: str, now: datetime) -> None:
        self._set_status(cl_ord_id, "lost", now, "aged_out_at_okx")

    def update_order(self, order: Order, now: datetime) -> None:
        """Store OKX's view of an order; a fill or state change becomes an event."""
        before = self.order(order.cl_ord_id)
        if before is None:
            raise KeyError(f"order {order.cl_ord_id} is not in the journal")
        status = "done" if order.is_terminal else "live"
        self._db.execute(
            "UPDATE orders SET status = ?, ord_id = ?, state = ?, acc_fill_sz = ?, avg_px = ?, fee = ?, "
            "fee_ccy = ?, pnl = ?, updated_at = ? WHERE cl_ord_id = ?",
            (
                status, order.ord_id, order.state, str(order.acc_fill_sz), _s(order.avg_px), str(order.fee),
                order.fee_ccy, _s(order.pnl), _iso(now), order.cl_ord_id,
            ),
        )  # fmt: skip
        if order.acc_fill_sz != before.acc_fill_sz:
            delta = order.acc_fill_sz - before.acc_fill_sz
            self._order_event(order, now, "fill", {"fill_sz": str(delta), "fee": str(order.fee)})
        if order.state != before.state:
            self._order_event(order, now, "state")

    def _order_event(self, order: Order, now: datetime, event: str, detail: Any = None) -> None:
        self._event(
            order.cl_ord_id, _iso(now), event, state=order.state, acc_fill_sz=order.acc_fill_sz,
            avg_px=order.avg_px, detail=detail,
        )  # fmt: skip

    def record_fills(self, fills: Iterable[Fill]) -> int:
        n = 0
        for f in fills:
            values = {
                "trade_id": f.trade_id, "inst_id": f.inst_id, "ord_id": f.ord_id, "cl_ord_id": f.cl_ord_id,
                "side": f.side, "pos_side": f.pos_side, "px": str(f.fill_px), "sz": str(f.fill_sz),
                "fee": str(f.fee), "fee_ccy": f.fee_ccy, "ts": _iso(f.ts),
            }  # fmt: skip
            cur = self._insert("fills", values, verb="INSERT OR IGNORE")
            n += cur.rowcount
        return n

    def order(self, cl_ord_id: str) -> OrderRow | None:
        r = self._db.execute("SELECT * FROM orders WHERE cl_ord_id = ?", (cl_ord_id,)).fetchone()
        return order_row(r) if r is not None else None

    def open_orders(self) -> list[OrderRow]:
        """Orders that may still be working at OKX or whose outcome is unknown."""
        marks = ",".join("?" * len(OPEN_STATUSES))
        rows = self._db.execute(
            f"SELECT * FROM orders WHERE status IN ({marks}) ORDER BY created_at, cl_ord_id",  # noqa: S608
            OPEN_STATUSES,
        )
        return [order_row(r) for r in rows]

    def orders_for_bar(self, bar_close: datetime, inst_id: str | None = None) -> list[OrderRow]:
        sql = "SELECT * FROM orders WHERE bar_close = ?"
        params: list[Any] = [_iso(bar_close)]
        if inst_id is not None:
            sql += " AND inst_id = ?"
            params.append(inst_id)
        return [order_row(r) for r in self._db.execute(sql + " ORDER BY created_at, cl_ord_id", params)]

    def next_attempt(self, bar_close: datetime, inst_id: str, leg: str) -> int:
        """One more than every attempt journaled for (bar, instrument, leg): a never-used id."""
        row = self._db.execute(
            "SELECT MAX(attempt) FROM orders WHERE bar_close = ? AND inst_id = ? AND leg = ?",
            (_iso(bar_close), inst_id, leg),
        ).fetchone()
        return 0 if row[0] is None else int(row[0]) + 1

    # ---- hooks (issue #17: Redis mode, :class:`trader.failover.MirroredJournal`) ------------
    def state_changed(self) -> None:
        """The ``targets`` or ``risk_state`` rows changed (files mode: they are the record)."""

    def before_bar(self, now: datetime) -> None:
        """Before a bar's cycle (files mode: nothing to bring in)."""
