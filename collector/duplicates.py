"""Duplicated candle rows: detected in the tail of a CSV, repaired by an atomic rewrite.

``append`` never writes a bar at or before the last row, but a file restored from a backup, two
collectors on one data dir, or a hand edit can leave a row twice (or out of order); readers would
then see the same bar twice. :func:`repair_duplicates` reads the last ``window`` rows (cheap), and
only when they are not strictly ascending reads the whole file, keeps the last copy of each bar
and rewrites it. Run at start-up and by housekeeping.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence

from core.bars import Bar
from core.errors import DataError
from core.intervals import Interval
from core.store import CandleStore

__all__ = ["DUPLICATE_WINDOW", "dedupe", "repair_duplicates", "unordered"]

log = logging.getLogger(__name__)
DUPLICATE_WINDOW = 2000  # rows checked from the end of each file


def unordered(bars: Sequence[Bar]) -> int:
    """How many rows are at or before the row above them."""
    return sum(1 for a, b in itertools.pairwise(bars) if b.ts <= a.ts)


def dedupe(bars: Sequence[Bar]) -> list[Bar]:
    """One bar per open time (the last copy wins), ascending."""
    return sorted({b.ts: b for b in bars}.values(), key=lambda b: b.ts)


def repair_duplicates(store: CandleStore, inst: str, iv: Interval, window: int = DUPLICATE_WINDOW) -> int:
    """Remove duplicated rows of ``inst``'s ``iv`` CSV if its tail shows any; rows removed."""
    if unordered(store.tail(inst, iv, window)) == 0:
        return 0
    try:
        rows = store.read_all(inst, iv)
        clean = dedupe(rows)
        store.rewrite(inst, iv, clean)
    except DataError as exc:
        log.error("%s %s: duplicated rows found but the file cannot be repaired: %s", inst, iv, exc)
        return 0
    removed = len(rows) - len(clean)
    log.warning("%s %s: removed %d duplicated row(s)", inst, iv, removed)
    return removed
