"""The standing targets, stored in the journal's ``targets`` table (one row per instrument).

A strategy's ``None`` keeps the standing target; every bar the trader diffs OKX's position
against it, so a dropped, rejected, partly filled or skipped order heals on a later bar. The
user can show the targets (``python -m trader ACCOUNT --targets``) and set one by hand
(``--set-target INST {1,-1,0}``, source ``manual``). Pure decisions on them live in
:mod:`trader.standing`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from trader.journal import Journal
from trader.journal_schema import dec, iso

__all__ = ["SOURCES", "StandingTarget", "TargetBook"]

SOURCES = ("strategy", "manual")


@dataclass(frozen=True)
class StandingTarget:
    inst_id: str
    strategy: str
    target: int
    size: Decimal | None  # the size it was sized at (None: size it on the next bar)
    bar_close: str | None  # the bar that set it (None for a manual target)
    source: str
    updated_at: str
    misses: int = 0  # bars in a row it was not reached
    fails: int = 0  # bars in a row whose orders for it failed
    failed_bar: str | None = None  # the last of those bars


def _row(r: sqlite3.Row) -> StandingTarget:
    return StandingTarget(
        r["inst_id"], r["strategy"], int(r["target"]), dec(r["size"]), r["bar_close"], r["source"],
        r["updated_at"], int(r["misses"]), int(r["fails"]), r["failed_bar"],
    )  # fmt: skip


class TargetBook:
    """Reads and writes standing targets; writes join the journal's open transaction, if any."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def all(self) -> dict[str, StandingTarget]:
        rows = self.journal.query("SELECT * FROM targets ORDER BY inst_id")
        return {r["inst_id"]: _row(r) for r in rows}

    def get(self, inst_id: str) -> StandingTarget | None:
        return self.all().get(inst_id)

    def set(
        self,
        inst_id: str,
        strategy: str,
        target: int,
        source: str,
        now: datetime,
        bar_close: datetime | None = None,
    ) -> None:
        """Set the target (sized again on its next bar). A changed target starts its miss and
        failure counts over; the same target named again (a strategy that states its level every
        bar) keeps them, so the backoff and ``target_not_reached`` still see it failing."""
        if isinstance(target, bool) or target not in (-1, 0, 1):
            raise ValueError(f"target must be 1, -1 or 0, got {target!r}")
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
        self.journal.write(
            "INSERT INTO targets (inst_id, strategy, target, size, bar_close, source, updated_at, "
            "misses, fails, failed_bar) VALUES (?, ?, ?, NULL, ?, ?, ?, 0, 0, NULL) "
            "ON CONFLICT (inst_id) DO UPDATE SET strategy = excluded.strategy, size = NULL, "
            "bar_close = excluded.bar_close, source = excluded.source, updated_at = excluded.updated_at, "
            "misses = CASE WHEN target = excluded.target THEN misses ELSE 0 END, "
            "fails = CASE WHEN target = excluded.target THEN fails ELSE 0 END, "
            "failed_bar = CASE WHEN target = excluded.target THEN failed_bar ELSE NULL END, "
            "target = excluded.target",
            (inst_id, strategy, target, iso(bar_close) if bar_close else None, source, iso(now)),
        )

    def set_size(self, inst_id: str, size: Decimal, now: datetime) -> None:
        self.journal.write(
            "UPDATE targets SET size = ?, updated_at = ? WHERE inst_id = ?", (str(size), iso(now), inst_id)
        )

    def record_bar(self, inst_id: str, *, reached: bool, failed: bool, bar_close: datetime) -> int:
        """After a bar: count a miss (or clear the count) and a failure; returns the misses."""
        if reached:
            self.journal.write(
                "UPDATE targets SET misses = 0, fails = 0, failed_bar = NULL WHERE inst_id = ?", (inst_id,)
            )
            return 0
        if failed:
            self.journal.write(
                "UPDATE targets SET misses = misses + 1, fails = fails + 1, failed_bar = ? WHERE inst_id = ?",
                (iso(bar_close), inst_id),
            )
        else:
            self.journal.write("UPDATE targets SET misses = misses + 1 WHERE inst_id = ?", (inst_id,))
        row = self.get(inst_id)
        return row.misses if row is not None else 0
