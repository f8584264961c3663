"""The journal's schema (migrations), its row types and value conversions.

A new version appends a script to ``MIGRATIONS``; :class:`trader.journal.Journal` applies the
missing ones at open, each in one transaction together with the version bump.

Tables (schema version 1)::

    meta(key PK, value)                               schema_version
    cycles(bar_close PK, interval, status, started_at, finished_at, equity, reason, runs)
        status: started -> targets (strategies ran, targets stored) -> done | skipped | failed
    signals(bar_close, inst_id PK, strategy, now_pos, target, signal_px, desired, status, reason,
            updated_at)
        status: target (strategy ran; target None = keep) | skipped (reason) | sized (desired set)
    orders(cl_ord_id PK, bar_close, inst_id, leg, attempt, side, pos_side, ord_type, td_mode, sz,
           px, reduce_only, request, status, ord_id, state, acc_fill_sz, avg_px, fee, fee_ccy,
           pnl, error_code, error_msg, created_at, updated_at)
        status: intent (journaled, maybe sent) | unknown (sent, outcome unknown) | live (at OKX,
        not terminal) | done (terminal at OKX) | rejected (OKX refused) | not_placed (looked up:
        OKX never got it) | lost (acknowledged, then aged out of OKX's history unseen)
    order_events(id PK, cl_ord_id, at, event, state, acc_fill_sz, avg_px, detail)
    fills(trade_id PK, inst_id, ord_id, cl_ord_id, side, pos_side, px, sz, fee, fee_ccy, ts)

Version 2 (standing targets, alerts, order deadlines)::

    targets(inst_id PK, strategy, target, size, bar_close, source, updated_at, misses, fails,
            failed_bar)
        the standing target per instrument: the last non-None target (source 'strategy' or
        'manual') and its size; every bar the position is diffed against it. ``misses`` = bars
        it was not reached, ``fails`` = consecutive bars whose orders failed (backoff).
    alerts(id PK, at, kind, inst_id, message)        every immediate trading alert
    orders.exp_at                                     the order's expTime (our clock): a lookup that
                                                      does not find it after that proves it absent

Version 3 — risk limits and the kill switch (issue #16, :mod:`trader.halt`)::

    risk_state(key PK, value, updated_at)   peak, day, day_open, halted ("1"/"0"), reason,
                                            bills_seen (the last transfer bill netted)
    risk_events(id PK, at, kind, detail, data)   kind: halt | resume | flatten | daily_loss | clip
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

__all__ = [
    "MIGRATIONS",
    "OPEN_STATUSES",
    "SCHEMA_VERSION",
    "CycleRow",
    "OrderIntent",
    "OrderRow",
    "SignalRow",
    "cycle_row",
    "dec",
    "intent_row",
    "iso",
    "order_row",
    "s",
    "signal_row",
]

OPEN_STATUSES = ("intent", "unknown", "live")
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE cycles (bar_close TEXT PRIMARY KEY, interval TEXT NOT NULL, status TEXT NOT NULL,
        started_at TEXT NOT NULL, finished_at TEXT, equity TEXT, reason TEXT NOT NULL DEFAULT '',
        runs INTEGER NOT NULL DEFAULT 1);
    CREATE TABLE signals (bar_close TEXT NOT NULL, inst_id TEXT NOT NULL, strategy TEXT NOT NULL,
        now_pos TEXT, target INTEGER, signal_px TEXT, desired TEXT, status TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '', updated_at TEXT NOT NULL, PRIMARY KEY (bar_close, inst_id));
    CREATE TABLE orders (cl_ord_id TEXT PRIMARY KEY, bar_close TEXT NOT NULL, inst_id TEXT NOT NULL,
        leg TEXT NOT NULL, attempt INTEGER NOT NULL, side TEXT NOT NULL, pos_side TEXT,
        ord_type TEXT NOT NULL, td_mode TEXT NOT NULL, sz TEXT NOT NULL, px TEXT, reduce_only INTEGER,
        request TEXT NOT NULL, status TEXT NOT NULL, ord_id TEXT, state TEXT,
        acc_fill_sz TEXT NOT NULL DEFAULT '0', avg_px TEXT, fee TEXT, fee_ccy TEXT, pnl TEXT,
        error_code TEXT, error_msg TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
    CREATE INDEX orders_by_bar ON orders (bar_close, inst_id, leg);
    CREATE INDEX orders_by_status ON orders (status);
    CREATE TABLE order_events (id INTEGER PRIMARY KEY AUTOINCREMENT, cl_ord_id TEXT NOT NULL,
        at TEXT NOT NULL, event TEXT NOT NULL, state TEXT, acc_fill_sz TEXT, avg_px TEXT, detail TEXT);
    CREATE INDEX events_by_order ON order_events (cl_ord_id);
    CREATE TABLE fills (trade_id TEXT PRIMARY KEY, inst_id TEXT NOT NULL, ord_id TEXT, cl_ord_id TEXT,
        side TEXT, pos_side TEXT, px TEXT, sz TEXT, fee TEXT, fee_ccy TEXT, ts TEXT);
    """,
    """
    CREATE TABLE targets (inst_id TEXT PRIMARY KEY, strategy TEXT NOT NULL, target INTEGER NOT NULL,
        size TEXT, bar_close TEXT, source TEXT NOT NULL, updated_at TEXT NOT NULL,
        misses INTEGER NOT NULL DEFAULT 0, fails INTEGER NOT NULL DEFAULT 0, failed_bar TEXT);
    CREATE TABLE alerts (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, kind TEXT NOT NULL,
        inst_id TEXT, message TEXT NOT NULL);
    ALTER TABLE orders ADD COLUMN exp_at TEXT;
    """,
    # issue #16: risk limits and the kill switch (trader.halt)
    """
    CREATE TABLE risk_state (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL);
    CREATE TABLE risk_events (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, kind TEXT NOT NULL,
        detail TEXT NOT NULL, data TEXT);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def iso(ts: datetime) -> str:
    if ts.tzinfo is None:
        raise ValueError("journal times must be aware")
    return ts.isoformat()


def dec(text: str | None) -> Decimal | None:
    return Decimal(text) if text not in (None, "") else None


def s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class OrderIntent:
    """An order about to be sent, as journaled before sending."""

    cl_ord_id: str
    bar_close: datetime
    inst_id: str
    leg: str
    attempt: int
    side: str
    pos_side: str | None
    ord_type: str
    td_mode: str
    sz: Decimal
    px: Decimal | None
    reduce_only: bool | None
    exp_at: datetime | None = None  # the request's expTime, on our clock


@dataclass(frozen=True)
class OrderRow:
    cl_ord_id: str
    bar_close: str
    inst_id: str
    leg: str
    attempt: int
    side: str
    pos_side: str | None
    ord_type: str
    sz: Decimal
    px: Decimal | None
    status: str
    ord_id: str | None
    state: str | None
    acc_fill_sz: Decimal
    avg_px: Decimal | None
    fee: Decimal | None
    pnl: Decimal | None
    error_code: str | None
    error_msg: str | None
    exp_at: datetime | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class SignalRow:
    inst_id: str
    strategy: str
    now_pos: Decimal | None
    target: int | None
    signal_px: Decimal | None
    desired: Decimal | None
    status: str
    reason: str = ""


@dataclass(frozen=True)
class CycleRow:
    bar_close: str
    status: str
    runs: int
    equity: Decimal | None
    reason: str
    started_at: str
    finished_at: str | None


def order_row(r: sqlite3.Row) -> OrderRow:
    return OrderRow(
        cl_ord_id=r["cl_ord_id"],
        bar_close=r["bar_close"],
        inst_id=r["inst_id"],
        leg=r["leg"],
        attempt=r["attempt"],
        side=r["side"],
        pos_side=r["pos_side"],
        ord_type=r["ord_type"],
        sz=Decimal(r["sz"]),
        px=dec(r["px"]),
        status=r["status"],
        ord_id=r["ord_id"],
        state=r["state"],
        acc_fill_sz=Decimal(r["acc_fill_sz"]),
        avg_px=dec(r["avg_px"]),
        fee=dec(r["fee"]),
        pnl=dec(r["pnl"]),
        error_code=r["error_code"],
        error_msg=r["error_msg"],
        exp_at=datetime.fromisoformat(r["exp_at"]) if r["exp_at"] else None,
        created_at=datetime.fromisoformat(r["created_at"]),
    )


def signal_row(r: sqlite3.Row) -> SignalRow:
    return SignalRow(
        r["inst_id"], r["strategy"], dec(r["now_pos"]), r["target"], dec(r["signal_px"]),
        dec(r["desired"]), r["status"], r["reason"],
    )  # fmt: skip


def cycle_row(r: sqlite3.Row) -> CycleRow:
    return CycleRow(
        r["bar_close"], r["status"], r["runs"], dec(r["equity"]), r["reason"], r["started_at"],
        r["finished_at"],
    )  # fmt: skip


def intent_row(it: OrderIntent, at: str) -> tuple[dict[str, object], dict[str, object]]:
    """The ``orders`` row of a new intent and the request it stands for."""
    request: dict[str, object] = {
        "instId": it.inst_id, "side": it.side, "posSide": it.pos_side, "ordType": it.ord_type,
        "tdMode": it.td_mode, "sz": str(it.sz), "px": s(it.px), "reduceOnly": it.reduce_only,
        "clOrdId": it.cl_ord_id,
    }  # fmt: skip
    values: dict[str, object] = {
        "cl_ord_id": it.cl_ord_id, "bar_close": iso(it.bar_close), "inst_id": it.inst_id, "leg": it.leg,
        "attempt": it.attempt, "side": it.side, "pos_side": it.pos_side, "ord_type": it.ord_type,
        "td_mode": it.td_mode, "sz": str(it.sz), "px": s(it.px),
        "reduce_only": None if it.reduce_only is None else int(it.reduce_only),
        "request": json.dumps(request), "status": "intent", "created_at": at, "updated_at": at,
        "exp_at": iso(it.exp_at) if it.exp_at else None,
    }  # fmt: skip
    return values, request
