"""The marker wait never runs into the next bar (a 90 s deadline on 1m bars would skip two bars)."""

from datetime import UTC, datetime, timedelta

import pytest

from core.intervals import parse_interval
from trader.cycle import marker_deadline

CLOSE = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("interval", "deadline_s", "expected_s"),
    [
        ("1m", 90, 55),  # capped: 5 s before the next close
        ("1m", 30, 30),
        ("5m", 90, 90),
        ("5m", 600, 295),
        ("1h", 90, 90),
        ("1d", 7200, 7200),
    ],
)
def test_deadline_is_capped_before_the_next_close(interval: str, deadline_s: float, expected_s: int) -> None:
    iv = parse_interval(interval)
    deadline = marker_deadline(CLOSE, iv, deadline_s)
    assert deadline == CLOSE + timedelta(seconds=expected_s)
    assert deadline < CLOSE + iv.delta
