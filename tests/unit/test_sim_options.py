"""Simulator options that used to be accepted and then misbehave quietly are refused up front."""

from __future__ import annotations

import pytest

from simulator.__main__ import parse_args
from simulator.state import SimOptions


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--clock-speed", "0"], "clock speed must be > 0"),
        (["--clock-speed", "-2"], "clock speed must be > 0"),  # time ran backwards
        (["--clock-speed", "nan"], "clock speed must be > 0"),
        (["--fault-rate", "2"], "fault rate is a probability in [0, 1], got 2.0"),
        (["--latency-ms", "-5"], "latency_ms must be 0..600000, got -5"),
        (["--timeout-hold-ms", "-1"], "timeout_hold_ms must be 0..600000, got -1"),
        (["--port", "70000"], "argument --port: must be 0..65535, got 70000"),  # was a traceback
    ],
)
def test_cli_refuses_with_a_usage_message(
    flags: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        parse_args(["--port", "0", *flags])
    assert info.value.code == 2
    assert expected in capsys.readouterr().err


def test_start_background_options_are_checked_too() -> None:
    with pytest.raises(ValueError, match="clock speed must be > 0"):
        SimOptions(clock_speed=0)
    assert SimOptions(clock_speed=60, fault_rate=1.0, latency_ms=0).clock_speed == 60
