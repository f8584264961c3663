import threading
from datetime import UTC, datetime, timedelta

import pytest

from core.clock import (
    FakeClock,
    ScaledClock,
    SystemClock,
    clock_from_env,
    from_ms,
    parse_clock_spec,
    to_ms,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def test_ms_round_trip() -> None:
    assert to_ms(T0) == 1704067200000
    assert from_ms("1704067200000") == T0
    with pytest.raises(ValueError, match="naive"):
        to_ms(datetime(2024, 1, 1))  # noqa: DTZ001


def test_fake_clock_sleeps_by_advancing() -> None:
    clock = FakeClock(T0)
    assert clock.sleep_until(T0 + timedelta(minutes=5))
    assert clock.now() == T0 + timedelta(minutes=5)
    stop = threading.Event()
    stop.set()
    assert not clock.sleep(10, stop)
    assert clock.now() == T0 + timedelta(minutes=5)


def test_system_clock_is_aware_and_stop_interrupts_sleep() -> None:
    clock = SystemClock()
    assert clock.now().tzinfo is not None
    stop = threading.Event()
    stop.set()
    assert not clock.sleep(30, stop)  # returns at once, no 30 s wait


def test_scaled_clock_spec_round_trip_and_speed() -> None:
    clock = ScaledClock(wall_anchor=datetime.now(UTC), virtual_anchor=T0, speed=60)
    again = parse_clock_spec(clock.spec())
    assert again.speed == 60
    assert abs((again.virtual_anchor - T0).total_seconds()) < 0.001
    assert T0 <= clock.now() < T0 + timedelta(minutes=10)
    with pytest.raises(ValueError, match="speed"):
        ScaledClock(T0, T0, 0)


@pytest.mark.parametrize("bad", ["1:2", "a:b:c", "1:2:3:4"])
def test_bad_clock_spec_is_named(bad: str) -> None:
    with pytest.raises(ValueError, match="OKXFLEET_CLOCK"):
        parse_clock_spec(bad)


def test_clock_from_env() -> None:
    assert isinstance(clock_from_env({}), SystemClock)
    assert isinstance(clock_from_env({"OKXFLEET_CLOCK": f"{to_ms(T0)}:{to_ms(T0)}:2"}), ScaledClock)
