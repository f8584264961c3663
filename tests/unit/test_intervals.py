"""Table tests for interval parsing, OKX bar codes and bar alignment in both candle timezones."""

from datetime import UTC, datetime, timedelta

import pytest

from core.intervals import (
    INTERVALS,
    bar_closes_at,
    bar_open_times,
    floor_to_bar,
    next_close,
    okx_bar,
    parse_interval,
)

HK = "Asia/Shanghai"


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("interval", "hk", "utc"),
    [
        ("1m", "1m", "1m"),
        ("3m", "3m", "3m"),
        ("5m", "5m", "5m"),
        ("15m", "15m", "15m"),
        ("30m", "30m", "30m"),
        ("1h", "1H", "1H"),
        ("2h", "2H", "2H"),
        ("4h", "4H", "4H"),
        ("6h", "6H", "6Hutc"),
        ("12h", "12H", "12Hutc"),
        ("1d", "1D", "1Dutc"),
    ],
)
def test_okx_bar_codes(interval: str, hk: str, utc: str) -> None:
    assert okx_bar(interval, HK) == hk
    assert okx_bar(interval, "UTC") == utc


@pytest.mark.parametrize("bad", ["1M", "1H", "2d", "", "60m", "1w", " 1m"])
def test_unknown_intervals_are_rejected_with_the_accepted_list(bad: str) -> None:
    with pytest.raises(ValueError, match="unknown interval") as info:
        parse_interval(bad)
    assert "1m, 3m" in str(info.value)


def test_unknown_timezone_rejected() -> None:
    with pytest.raises(ValueError, match="candle timezone"):
        okx_bar("1d", "Europe/London")


# (interval, instant, floor in Asia/Shanghai, floor in UTC)
FLOORS = [
    ("1m", "2024-03-05 10:17:59", "2024-03-05 10:17:00", "2024-03-05 10:17:00"),
    ("3m", "2024-03-05 10:17:59", "2024-03-05 10:15:00", "2024-03-05 10:15:00"),
    ("5m", "2024-03-05 10:17:59", "2024-03-05 10:15:00", "2024-03-05 10:15:00"),
    ("15m", "2024-03-05 10:17:59", "2024-03-05 10:15:00", "2024-03-05 10:15:00"),
    ("30m", "2024-03-05 10:47:00", "2024-03-05 10:30:00", "2024-03-05 10:30:00"),
    ("1h", "2024-03-05 10:59:59", "2024-03-05 10:00:00", "2024-03-05 10:00:00"),
    ("2h", "2024-03-05 11:00:00", "2024-03-05 10:00:00", "2024-03-05 10:00:00"),
    ("4h", "2024-03-05 11:00:00", "2024-03-05 08:00:00", "2024-03-05 08:00:00"),
    # 6h: HK boundaries are 16,22,04,10 UTC; UTC boundaries 00,06,12,18
    ("6h", "2024-03-05 11:00:00", "2024-03-05 10:00:00", "2024-03-05 06:00:00"),
    ("6h", "2024-03-05 03:59:59", "2024-03-04 22:00:00", "2024-03-05 00:00:00"),
    # 12h: HK boundaries 16:00 and 04:00 UTC; UTC boundaries 00:00 and 12:00
    ("12h", "2024-03-05 11:00:00", "2024-03-05 04:00:00", "2024-03-05 00:00:00"),
    ("12h", "2024-03-05 17:00:00", "2024-03-05 16:00:00", "2024-03-05 12:00:00"),
    # 1d: HK day opens 16:00 UTC the day before
    ("1d", "2024-03-05 11:00:00", "2024-03-04 16:00:00", "2024-03-05 00:00:00"),
    ("1d", "2024-03-05 16:00:00", "2024-03-05 16:00:00", "2024-03-05 00:00:00"),
    ("1d", "2024-03-05 15:59:59", "2024-03-04 16:00:00", "2024-03-05 00:00:00"),
    # year boundary and leap day
    ("1d", "2024-12-31 23:59:59", "2024-12-31 16:00:00", "2024-12-31 00:00:00"),
    ("1d", "2024-02-29 12:00:00", "2024-02-28 16:00:00", "2024-02-29 00:00:00"),
]


@pytest.mark.parametrize(("interval", "instant", "hk", "utc"), FLOORS)
def test_floor_to_bar(interval: str, instant: str, hk: str, utc: str) -> None:
    assert floor_to_bar(t(instant), interval, HK) == t(hk)
    assert floor_to_bar(t(instant), interval, "UTC") == t(utc)


@pytest.mark.parametrize("interval", INTERVALS)
@pytest.mark.parametrize("tz", [HK, "UTC"])
def test_boundaries_are_their_own_floor_and_next_close_is_strictly_later(interval: str, tz: str) -> None:
    iv = parse_interval(interval)
    start = floor_to_bar(t("2025-06-30 23:59:59"), iv, tz)
    assert floor_to_bar(start, iv, tz) == start
    assert bar_closes_at(start, iv, tz)
    assert not bar_closes_at(start + timedelta(seconds=1), iv, tz)
    # one second before the boundary belongs to the previous bar
    assert floor_to_bar(start - timedelta(seconds=1), iv, tz) == start - iv.delta
    # exactly on the boundary, the bar in progress closes one interval later
    assert next_close(start, iv, tz) == start + iv.delta
    assert next_close(start - timedelta(microseconds=1), iv, tz) == start


@pytest.mark.parametrize("interval", ["1m", "5m", "15m", "30m", "1h", "2h", "4h"])
def test_bars_up_to_4h_are_identical_in_both_timezones(interval: str) -> None:
    for minute in range(0, 2 * 24 * 60, 7):
        ts = t("2024-01-01 00:00:00") + timedelta(minutes=minute, seconds=13)
        assert floor_to_bar(ts, interval, HK) == floor_to_bar(ts, interval, "UTC")


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        floor_to_bar(datetime(2024, 1, 1), "1h")  # noqa: DTZ001 - the point of the test


def test_non_utc_aware_input_is_handled() -> None:
    from zoneinfo import ZoneInfo

    local = datetime(2024, 3, 5, 0, 30, tzinfo=ZoneInfo("Asia/Shanghai"))  # = 2024-03-04 16:30 UTC
    assert floor_to_bar(local, "1d", HK) == t("2024-03-04 16:00:00")
    assert floor_to_bar(local, "1d", "UTC") == t("2024-03-04 00:00:00")


def test_bar_open_times_lists_aligned_opens_in_half_open_range() -> None:
    opens = bar_open_times(t("2024-03-05 10:07:00"), t("2024-03-05 10:30:00"), "5m")
    assert opens == [t(f"2024-03-05 10:{m:02d}:00") for m in (10, 15, 20, 25)]
    days = bar_open_times(t("2024-03-01 00:00:00"), t("2024-03-03 00:00:00"), "1d", HK)
    assert days == [t("2024-03-01 16:00:00"), t("2024-03-02 16:00:00")]
