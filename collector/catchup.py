"""Which base closes were missed and must still get their markers — pure apart from one marker read.

A cycle that overruns the next base close, a host that was suspended, or a collector that was down
leaves closes without markers (and a larger interval closing at one of them without its bar and
marker). The next cycle fetches everything up to the newest close in one go anyway; these helpers
say which earlier closes it must also mark, oldest first, so that no close goes unrecorded.
``MAX_CATCH_UP`` bounds the work after a long downtime (older closes are left unmarked and logged).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from collector.plan import CollectPlan
from core.markers import MarkerStore

__all__ = ["MAX_CATCH_UP", "last_marked_close", "missed_closes"]

log = logging.getLogger(__name__)
MAX_CATCH_UP = 1440  # base closes marked after a gap, newest first (a day of 1m bars)


def missed_closes(
    plan: CollectPlan, done: datetime | None, close: datetime, *, limit: int = MAX_CATCH_UP
) -> list[datetime]:
    """Base closes strictly between ``done`` (the last close processed) and ``close``, ascending;
    at most the newest ``limit``. None when nothing was processed yet."""
    if done is None or close <= done:
        return []
    step = plan.base.delta
    first = max(done + step, close - step * limit)
    if first > done + step:
        log.warning("%d base closes after %s are too old to mark", int((first - done) / step) - 1,
                    done.isoformat())  # fmt: skip
    count = int((close - first) / step)
    return [first + step * i for i in range(count)]


def last_marked_close(
    plan: CollectPlan, markers: MarkerStore, close: datetime, *, lookback: timedelta
) -> datetime | None:
    """The last close processed before ``close``: the newest base marker's close if it is older
    than ``close`` (and within ``lookback``), ``close - base`` if ``close`` already has its base
    marker (closes are marked in order), None if no marker is that recent."""
    latest = markers.latest(plan.base)
    if latest is None:
        return None
    marked = min(latest.bar_close, close - plan.base.delta)
    return marked if marked >= close - lookback else None
