"""``python -m trader <account> --report``: recent cycles, orders and PnL, from the journal only.

Realised PnL is OKX's per-order ``pnl`` (closing fills); fees are OKX's ``fee`` (negative =
charged). No exchange call is made: the report works while the trader runs, or with OKX down.

A strategy's ``None`` (keep the standing target) is shown as the target it kept — the last one a
strategy named for that instrument, marked ``(held)`` — and the current standing targets (with
manual ones) head the report.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from decimal import Decimal

from trader.journal import Journal
from trader.targets import TargetBook

__all__ = ["format_report", "pnl_by_instrument", "table"]

ZERO = Decimal(0)


def _d(text: str | None) -> Decimal:
    return Decimal(text) if text else ZERO


def table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return out


def _order_cells(o: sqlite3.Row) -> list[str]:
    side = o["side"] + (f"/{o['pos_side']}" if o["pos_side"] else "")
    return [
        o["created_at"], o["inst_id"], f"{o['leg']}#{o['attempt']}", side, o["ord_type"], o["sz"],
        o["px"] or "-", o["state"] or o["status"], o["acc_fill_sz"], o["avg_px"] or "-", o["fee"] or "-",
        o["pnl"] or "-", o["error_code"] or "", o["cl_ord_id"],
    ]  # fmt: skip


def pnl_by_instrument(journal: Journal) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    """inst_id -> (realised pnl, fees, filled size) over every order in the journal."""
    sums: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO])
    for r in journal.query("SELECT inst_id, pnl, fee, acc_fill_sz FROM orders WHERE status = 'done'"):
        acc = sums[r["inst_id"]]
        acc[0] += _d(r["pnl"])
        acc[1] += _d(r["fee"])
        acc[2] += _d(r["acc_fill_sz"])
    return {k: (v[0], v[1], v[2]) for k, v in sorted(sums.items())}


def _risk_lines(journal: Journal, limit: int) -> list[str]:
    """Halt state and the latest risk events (issue #16)."""
    state = dict((r[0], r[1]) for r in journal.query("SELECT key, value FROM risk_state"))
    events = journal.query("SELECT at, kind, detail FROM risk_events ORDER BY id DESC LIMIT ?", (limit,))
    if not state and not events:
        return []
    halted = state.get("halted") == "1"
    head = f"Risk: HALTED — {state.get('reason', '')}" if halted else "Risk: trading"
    if state.get("peak"):
        head += f" (equity peak {state['peak']}, day open {state.get('day_open') or '-'})"
    lines = [head]
    lines += table(["at", "event", "detail"], [[e["at"], e["kind"], e["detail"]] for e in events])
    return [*lines, ""]


def _standing_lines(journal: Journal) -> list[str]:
    """The standing targets now: what the trader trades towards, whatever the last bar said."""
    book = TargetBook(journal).all()
    if not book:
        return []
    rows = [
        [t.inst_id, str(t.target), str(t.size) if t.size is not None else "next bar", t.source,
         t.bar_close or "-", str(t.misses), str(t.fails)]
        for t in book.values()
    ]  # fmt: skip
    head = ["inst", "target", "size", "source", "set by bar", "missed", "failed"]
    return ["Standing targets:", *table(head, rows), ""]


def _held(journal: Journal, inst_id: str, bar_close: str) -> str:
    """A ``None`` signal as the target it kept: the last one named at or before ``bar_close``."""
    row = journal.query(
        "SELECT target FROM signals WHERE inst_id = ? AND bar_close <= ? AND target IS NOT NULL "
        "ORDER BY bar_close DESC LIMIT 1",
        (inst_id, bar_close),
    )
    return f"{row[0]['target']}(held)" if row else "held"


def _signal_cell(journal: Journal, s: sqlite3.Row) -> str:
    if s["status"] == "skipped":
        target = "skip"
    elif s["target"] is None:
        target = _held(journal, s["inst_id"], s["bar_close"])
    else:
        target = str(s["target"])
    return f"{s['inst_id']}={target}" + (f"x{s['desired']}" if s["desired"] else "")


def format_report(journal: Journal, account: str, limit: int = 20) -> str:
    lines = [f"okxfleet trader report — account {account} ({journal.path})", ""]
    lines += _risk_lines(journal, limit)
    lines += _standing_lines(journal)
    cycles = journal.query(
        "SELECT bar_close, status, runs, equity, reason FROM cycles ORDER BY bar_close DESC LIMIT ?", (limit,)
    )
    lines.append(f"Recent cycles ({len(cycles)}):")
    rows = []
    for c in cycles:
        signals = journal.query(
            "SELECT bar_close, inst_id, target, desired, status FROM signals WHERE bar_close = ? "
            "ORDER BY inst_id",
            (c["bar_close"],),
        )
        sig = ", ".join(_signal_cell(journal, s) for s in signals)
        rows.append(
            [c["bar_close"], c["status"], str(c["runs"]), c["equity"] or "-", sig or "-", c["reason"]]
        )
    lines += table(["bar_close", "status", "runs", "equity", "targets", "reason"], rows)
    lines.append("")
    orders = journal.query(
        "SELECT created_at, inst_id, leg, attempt, side, pos_side, ord_type, sz, px, status, state, "
        "acc_fill_sz, avg_px, fee, pnl, error_code, cl_ord_id FROM orders ORDER BY created_at DESC, "
        "cl_ord_id LIMIT ?",
        (limit,),
    )
    lines.append(f"Recent orders ({len(orders)}):")
    rows = [_order_cells(o) for o in orders]
    headers = [
        "created",
        "inst",
        "leg",
        "side",
        "type",
        "sz",
        "px",
        "state",
        "filled",
        "avg_px",
        "fee",
        "pnl",
    ]
    lines += table([*headers, "err", "clOrdId"], rows)
    lines.append("")
    lines.append("PnL by instrument (realised, from OKX order pnl and fees):")
    pnl = pnl_by_instrument(journal)
    rows = [[k, str(p), str(f), str(p + f), str(v)] for k, (p, f, v) in pnl.items()]
    total_p = sum((p for p, _, _ in pnl.values()), ZERO)
    total_f = sum((f for _, f, _ in pnl.values()), ZERO)
    rows.append(["TOTAL", str(total_p), str(total_f), str(total_p + total_f), ""])
    lines += table(["inst", "pnl", "fees", "net", "filled"], rows)
    return "\n".join(lines) + "\n"
