"""The simulator and every okxfleet process agree on accelerated virtual time via OKXFLEET_CLOCK."""

from datetime import UTC, datetime

import pytest

from core.clock import ScaledClock, parse_clock_spec, to_ms
from simulator.__main__ import parse_args
from simulator.clock import SimClock, parse_anchor


def test_shared_anchor_gives_the_same_virtual_time() -> None:
    wall = datetime.now(UTC)
    process_clock = ScaledClock(wall, datetime(2024, 1, 1, tzinfo=UTC), speed=30)
    wall_ms, virtual_ms, speed = parse_anchor(process_clock.spec())
    sim_clock = SimClock(virtual_ms, speed=speed, anchor_wall_ms=wall_ms)
    # both read the wall clock a moment apart: at 30x, 50 ms of wall time is 1.5 s virtual
    assert abs(sim_clock.now_ms() - to_ms(process_clock.now())) < 1500
    assert sim_clock.now_ms() >= virtual_ms - 100  # the anchors are rounded to whole ms


@pytest.mark.parametrize("bad", ["1:2", "x:1:1", "1:2:0", "1:2:3:4"])
def test_bad_anchor_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="WALL_MS:VIRTUAL_MS:SPEED"):
        parse_anchor(bad)


def test_cli_takes_the_anchor_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = "1700000000000:1600000000000:60"
    monkeypatch.setenv("OKXFLEET_CLOCK", spec)
    options, *_ = parse_args([])
    assert options.clock_start_ms == 1600000000000
    assert options.clock_speed == 60
    assert options.clock_anchor_wall_ms == 1700000000000
    assert parse_clock_spec(spec).speed == 60
