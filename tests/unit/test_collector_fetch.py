"""``collector.fetch`` pure helpers: candle -> bar, gap detection, contiguous runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from collector.fetch import candle_to_bar, contiguous_from, first_missing
from core.bars import Bar
from core.intervals import parse_interval
from exchange.records import Candle

M1 = parse_interval("1m")
T0 = datetime(2024, 3, 1, tzinfo=UTC)


def bar(minute: int) -> Bar:
    one = Decimal(1)
    return Bar(T0 + timedelta(minutes=minute), one, one, one, one, one, one, one)


def test_candle_to_bar_maps_every_field() -> None:
    candle = Candle(
        inst_id="BTC-USDT-SWAP",
        bar="1m",
        ts=T0,
        open=Decimal("37000"),
        high=Decimal("37011"),
        low=Decimal("36998.2"),
        close=Decimal("37010.1"),
        vol=Decimal("1030"),
        vol_ccy=Decimal("10.3"),
        vol_quote=Decimal("381203.9"),
        confirmed=True,
    )

    assert candle_to_bar(candle) == Bar(
        T0,
        Decimal("37000"),
        Decimal("37011"),
        Decimal("36998.2"),
        Decimal("37010.1"),
        Decimal("1030"),
        Decimal("10.3"),
        Decimal("381203.9"),
    )


@pytest.mark.parametrize(
    ("have", "start", "end", "expected"),
    [
        ([0, 1, 2, 3], 0, 3, None),
        ([0, 1, 3], 0, 3, 2),
        ([1, 2, 3], 0, 3, 0),
        ([], 0, 0, 0),
        ([5], 3, 5, 3),
        ([0, 1], 2, 1, None),  # empty range
    ],
)
def test_first_missing(have: list[int], start: int, end: int, expected: int | None) -> None:
    got = first_missing(
        [T0 + timedelta(minutes=m) for m in have],
        T0 + timedelta(minutes=start),
        T0 + timedelta(minutes=end),
        M1,
    )

    assert got == (None if expected is None else T0 + timedelta(minutes=expected))


@pytest.mark.parametrize(
    ("have", "start", "end", "expected"),
    [
        ([0, 1, 2, 3], 0, 3, [0, 1, 2, 3]),
        ([0, 1, 3, 4], 0, 4, [0, 1]),  # stops at the hole
        ([0, 1, 2, 3], 1, 2, [1, 2]),
        ([1, 2], 0, 2, []),
    ],
)
def test_contiguous_from(have: list[int], start: int, end: int, expected: list[int]) -> None:
    bars = {b.ts: b for b in (bar(m) for m in have)}

    got = contiguous_from(bars, T0 + timedelta(minutes=start), T0 + timedelta(minutes=end), M1)

    assert got == [bar(m) for m in expected]
