"""When the collector wakes: an APScheduler trigger on base-interval closes, in the process clock.

The trigger fires at every base close ``C`` plus ``close_delay_s`` — computed on the process clock,
so the wake-up lands on OKX's bar boundaries whatever the host's time zone (the original aligned to
the *local* midnight and slept ``timedelta.seconds``, which is ~24 h for a past deadline, then
busy-waited: bugs 1, 2, 3). APScheduler sleeps on wall time, so virtual times are converted:

- :class:`~core.clock.SystemClock`: virtual time *is* wall time;
- :class:`~core.clock.ScaledClock` (accelerated demo/e2e, ``OKXFLEET_CLOCK``): through its anchors,
  ``wall = wall_anchor + (virtual - virtual_anchor) / speed``.

Jobs run one at a time (``max_instances=1``); a late wake-up within one base interval still runs,
and missed runs are coalesced into one — the cycle then repairs whatever it skipped.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger

from core.clock import Clock, ScaledClock, SystemClock
from core.intervals import Interval, floor_to_bar, next_close

__all__ = ["BarCloseTrigger", "build_scheduler", "to_virtual", "to_wall"]

log = logging.getLogger(__name__)


def to_wall(clock: Clock, virtual: datetime) -> datetime:
    """The wall-clock instant at which ``clock`` shows ``virtual``."""
    if isinstance(clock, SystemClock):
        return virtual.astimezone(UTC)
    if isinstance(clock, ScaledClock):
        # rounded up to the microsecond, so the clock shows at least ``virtual`` then (never early)
        elapsed_us = (virtual - clock.virtual_anchor) // timedelta(microseconds=1)
        return clock.wall_anchor + timedelta(microseconds=math.ceil(elapsed_us / clock.speed))
    raise TypeError(f"cannot schedule on a {type(clock).__name__}: use SystemClock or ScaledClock")


def to_virtual(clock: Clock, wall: datetime) -> datetime:
    """What ``clock`` shows at the wall-clock instant ``wall``."""
    if isinstance(clock, SystemClock):
        return wall.astimezone(UTC)
    if isinstance(clock, ScaledClock):
        return clock.virtual_anchor + (wall - clock.wall_anchor) * clock.speed
    raise TypeError(f"cannot schedule on a {type(clock).__name__}: use SystemClock or ScaledClock")


class BarCloseTrigger(BaseTrigger):
    """Fires at ``close + delay`` for every close of ``interval`` (virtual time of ``clock``)."""

    def __init__(self, interval: Interval, tz: str, clock: Clock, delay_s: float = 1.0) -> None:
        if delay_s < 0 or delay_s >= interval.seconds:
            raise ValueError(f"close delay must be within [0, {interval.seconds}) s, got {delay_s}")
        self.interval = interval
        self.tz = tz
        self.clock = clock
        self.delay = timedelta(seconds=delay_s)

    def fire_after(self, virtual: datetime) -> datetime:
        """The first virtual fire time strictly after ``virtual``."""
        return next_close(virtual - self.delay, self.interval, self.tz) + self.delay

    def fire_following(self, previous_virtual: datetime) -> datetime:
        """The virtual fire time after the one at ``previous_virtual`` (robust to rounding)."""
        nearest_close = floor_to_bar(
            previous_virtual - self.delay + self.interval.delta / 2, self.interval, self.tz
        )
        return nearest_close + self.interval.delta + self.delay

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime:
        if previous_fire_time is None:
            virtual = self.fire_after(to_virtual(self.clock, now))
        else:
            virtual = self.fire_following(to_virtual(self.clock, previous_fire_time))
        return to_wall(self.clock, virtual)

    def __str__(self) -> str:
        return f"bar-close[{self.interval}, +{self.delay.total_seconds():g}s]"

    def __repr__(self) -> str:
        return f"<BarCloseTrigger {self.interval} tz={self.tz} delay={self.delay.total_seconds():g}s>"


def build_scheduler(job: Callable[[], None], trigger: BarCloseTrigger) -> BackgroundScheduler:
    """A background scheduler running ``job`` at each trigger time, one run at a time."""
    wall_interval_s = trigger.interval.seconds
    if isinstance(trigger.clock, ScaledClock):
        wall_interval_s = int(wall_interval_s / trigger.clock.speed)
    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.add_job(
        job,
        trigger,
        id="collector-cycle",
        name="collector cycle",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=max(1, wall_interval_s),
    )
    return scheduler
