"""Larger-interval CSVs derived from the base CSV (complete bins only, OKX alignment).

:func:`derive` brings ``<INST>_<iv>.csv`` up to a given bar from the base bars on disk: the normal
case appends the bins that closed since its last row (reading only the tail of the base file, so
the cost does not grow with history); when the file is missing, or the base file no longer
reaches back to its last row, it is rebuilt from the base tail and replaced atomically.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from collector.plan import CollectPlan
from core.bars import Bar
from core.errors import DataError
from core.intervals import Interval
from core.resample import resample
from core.store import CandleStore

__all__ = ["Derived", "derive"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Derived:
    """Outcome of one :func:`derive`: rows added, whether the file was rebuilt, last bar, error."""

    inst_id: str
    interval: Interval
    added: int
    rebuilt: bool
    last: datetime | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _tail_covering(store: CandleStore, inst: str, base: Interval, first: datetime) -> list[Bar] | None:
    """Base bars from ``first`` to the end of the base file, or None if the file starts later."""
    base_last = store.last_time(inst, base)
    if base_last is None or base_last < first:
        return []
    count = int((base_last - first) / base.delta) + 1
    tail = store.tail(inst, base, count)
    if not tail or tail[0].ts > first:
        return None
    return tail


def derive(
    store: CandleStore, plan: CollectPlan, inst: str, iv: Interval, upto: datetime, *, rebuild_bars: int
) -> Derived:
    """Make ``inst``'s ``iv`` CSV end at the bar opening at ``upto`` (derived from base bars).

    ``rebuild_bars`` bounds how many base bars a rebuild reads (the history plan's base bars)."""
    base = plan.base
    last = store.last_time(inst, iv)
    if last is not None and last >= upto:
        return Derived(inst, iv, 0, False, last)
    try:
        if last is not None:
            first = last + iv.delta
            tail = _tail_covering(store, inst, base, first)
            if tail is not None:
                new = [b for b in resample(tail, base, iv, plan.tz) if first <= b.ts <= upto]
                added = store.append(inst, iv, new)
                return _finish(store, inst, iv, upto, added, rebuilt=False)
            log.warning(
                "%s %s: base %s file no longer reaches %s; rebuilding from base",
                inst, iv, base, first.isoformat(),
            )  # fmt: skip
        return _rebuild(store, plan, inst, iv, upto, rebuild_bars)
    except (DataError, ValueError) as exc:
        return Derived(inst, iv, 0, False, store.last_time(inst, iv), error=f"cannot derive {iv}: {exc}")


def _rebuild(
    store: CandleStore, plan: CollectPlan, inst: str, iv: Interval, upto: datetime, rebuild_bars: int
) -> Derived:
    base = plan.base
    bars = [b for b in resample(store.tail(inst, base, rebuild_bars), base, iv, plan.tz) if b.ts <= upto]
    old = store.read_all(inst, iv) if store.path(inst, iv).is_file() else []
    if bars:
        keep = [b for b in old if b.ts < bars[0].ts]
        if keep and keep[-1].ts + iv.delta != bars[0].ts:
            log.warning("%s %s: dropping %d old rows that cannot join the rebuilt ones", inst, iv, len(keep))
            keep = []
        merged = keep + bars
    else:
        merged = old
    if merged != old:
        store.rewrite(inst, iv, merged)
    return _finish(store, inst, iv, upto, max(0, len(merged) - len(old)), rebuilt=True)


def _finish(
    store: CandleStore, inst: str, iv: Interval, upto: datetime, added: int, *, rebuilt: bool
) -> Derived:
    last = store.last_time(inst, iv)
    error = None
    if last is None or last < upto:
        error = (
            f"base bars for the {iv} bar {upto.isoformat()} are incomplete "
            f"(CSV ends at {last.isoformat() if last else 'nothing'})"
        )
    return Derived(inst, iv, added, rebuilt, last, error)
