"""``collector.schedule``: fire times on bar closes, virtual <-> wall conversion, no drift."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from collector.schedule import BarCloseTrigger, build_scheduler, to_virtual, to_wall
from core.clock import FakeClock, ScaledClock, SystemClock
from core.intervals import parse_interval

M1, M5, H1, D1 = (parse_interval(x) for x in ("1m", "5m", "1h", "1d"))
HK = "Asia/Shanghai"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("interval", "tz", "delay", "now", "expected"),
    [
        (M1, HK, 1.0, utc(2024, 3, 1, 0, 0, 30), utc(2024, 3, 1, 0, 1, 1)),
        (M1, HK, 1.0, utc(2024, 3, 1, 0, 1, 0), utc(2024, 3, 1, 0, 1, 1)),  # before close + delay
        (M1, HK, 1.0, utc(2024, 3, 1, 0, 1, 1), utc(2024, 3, 1, 0, 2, 1)),  # exactly at a fire time
        (M5, HK, 2.5, utc(2024, 3, 1, 0, 4, 59), utc(2024, 3, 1, 0, 5, 2, 500000)),
        (H1, "UTC", 0.0, utc(2024, 3, 1, 0, 0, 0), utc(2024, 3, 1, 1, 0, 0)),
        (D1, HK, 1.0, utc(2024, 3, 1, 10, 0, 0), utc(2024, 3, 1, 16, 0, 1)),  # HK midnight = 16:00 UTC
        (D1, "UTC", 1.0, utc(2024, 3, 1, 10, 0, 0), utc(2024, 3, 2, 0, 0, 1)),
    ],
)
def test_first_fire_on_system_clock(interval, tz, delay, now, expected) -> None:  # type: ignore[no-untyped-def]
    trigger = BarCloseTrigger(interval, tz, SystemClock(), delay)

    assert trigger.get_next_fire_time(None, now) == expected


def test_following_fires_step_one_interval_on_system_clock() -> None:
    trigger = BarCloseTrigger(M1, HK, SystemClock(), 1.0)
    fire = trigger.get_next_fire_time(None, utc(2024, 3, 1, 0, 0, 10))
    fires = [fire]
    for _ in range(5):
        fire = trigger.get_next_fire_time(fire, fire)
        fires.append(fire)

    assert fires == [utc(2024, 3, 1, 0, m, 1) for m in range(1, 7)]


def test_a_late_previous_fire_still_lands_on_the_next_boundary() -> None:
    """Jitter in the previous fire time never shifts the schedule (no drift, no double fire)."""
    trigger = BarCloseTrigger(M1, HK, SystemClock(), 1.0)
    for jitter_ms in (-20_000, -3, 0, 7, 25_000):
        previous = utc(2024, 3, 1, 0, 1, 1) + timedelta(milliseconds=jitter_ms)
        assert trigger.get_next_fire_time(previous, previous) == utc(2024, 3, 1, 0, 2, 1)


def test_scaled_clock_converts_through_its_anchors() -> None:
    wall0 = utc(2026, 1, 1, 12, 0, 0)
    virtual0 = utc(2024, 3, 1, 0, 0, 30)
    clock = ScaledClock(wall0, virtual0, speed=60.0)  # one virtual minute per wall second
    trigger = BarCloseTrigger(M1, HK, clock, 1.0)

    first = trigger.get_next_fire_time(None, wall0)
    second = trigger.get_next_fire_time(first, first)

    # virtual 00:01:01 is 31 virtual seconds after the anchor = 31/60 wall seconds
    assert first == wall0 + timedelta(microseconds=516667)  # rounded up: never early
    assert utc(2024, 3, 1, 0, 1, 1) <= to_virtual(clock, first) < utc(2024, 3, 1, 0, 1, 1, 60)
    assert utc(2024, 3, 1, 0, 2, 1) <= to_virtual(clock, second) < utc(2024, 3, 1, 0, 2, 1, 60)
    assert (second - first).total_seconds() == pytest.approx(1.0)


def test_scaled_clock_round_trip_survives_rounding_for_many_bars() -> None:
    clock = ScaledClock(utc(2026, 1, 1), utc(2024, 3, 1, 0, 0, 7), speed=7.3)
    trigger = BarCloseTrigger(M1, "UTC", clock, 0.0)
    fire = trigger.get_next_fire_time(None, utc(2026, 1, 1))
    virtual_fires = []
    for _ in range(500):
        virtual_fires.append(to_virtual(clock, fire))
        fire = trigger.get_next_fire_time(fire, fire)

    minutes = [round((v - utc(2024, 3, 1)).total_seconds() / 60, 6) for v in virtual_fires]
    assert minutes == list(range(1, 501))


def test_to_wall_inverts_to_virtual() -> None:
    clock = ScaledClock(utc(2026, 1, 1), utc(2024, 1, 1), speed=120.0)
    virtual = utc(2024, 1, 1, 3, 0, 0)

    assert virtual <= to_virtual(clock, to_wall(clock, virtual)) < virtual + timedelta(microseconds=120)
    assert to_wall(SystemClock(), virtual) == virtual


def test_fake_clock_cannot_drive_a_real_scheduler() -> None:
    with pytest.raises(TypeError, match="FakeClock"):
        to_wall(FakeClock(utc(2024, 1, 1)), utc(2024, 1, 1))


@pytest.mark.parametrize("delay", [-1.0, 60.0])
def test_delay_must_fit_in_the_interval(delay: float) -> None:
    with pytest.raises(ValueError, match="close delay"):
        BarCloseTrigger(M1, HK, SystemClock(), delay)


def test_scheduler_runs_the_job_on_accelerated_bar_closes() -> None:
    """A real BackgroundScheduler on a 600x clock: a 1m bar every 0.1 s of wall time, one at a time."""
    now = datetime.now(UTC)
    clock = ScaledClock(now, utc(2024, 3, 1, 0, 0, 50), speed=600.0)
    seen: list[datetime] = []
    done = threading.Event()

    def job() -> None:
        seen.append(clock.now())
        if len(seen) >= 3:
            done.set()

    scheduler = build_scheduler(job, BarCloseTrigger(M1, HK, clock, 1.0))
    scheduler.start()
    try:
        assert done.wait(5.0)
    finally:
        scheduler.shutdown(wait=True)
    closes = [floor_minute(t - timedelta(seconds=1)) for t in seen[:3]]
    assert closes == [utc(2024, 3, 1, 0, m) for m in (1, 2, 3)]
    assert all(t >= c + timedelta(seconds=1) for t, c in zip(seen, closes, strict=False))


def floor_minute(ts: datetime) -> datetime:
    return ts.replace(second=0, microsecond=0)


def test_system_clock_fire_is_in_the_future() -> None:
    trigger = BarCloseTrigger(M1, HK, SystemClock(), 1.0)
    now = datetime.now(UTC)
    fire = trigger.get_next_fire_time(None, now)
    assert now < fire <= now + timedelta(seconds=61)
    assert time.time() < fire.timestamp() + 1
