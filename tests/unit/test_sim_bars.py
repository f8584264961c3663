"""Simulator bar codes and alignment: table tests (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from simulator.bars import BARS, bar_open, next_open, page_opens, parse_bar, prev_open, step_back


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


NOW = "2024-03-15T10:37:12.345"  # a Friday


@pytest.mark.parametrize(
    ("code", "ts", "expected_open"),
    [
        ("1s", NOW, "2024-03-15T10:37:12"),
        ("1m", NOW, "2024-03-15T10:37:00"),
        ("3m", NOW, "2024-03-15T10:36:00"),
        ("15m", NOW, "2024-03-15T10:30:00"),
        ("1H", NOW, "2024-03-15T10:00:00"),
        ("2H", NOW, "2024-03-15T10:00:00"),
        ("4H", NOW, "2024-03-15T08:00:00"),
        ("6H", NOW, "2024-03-15T10:00:00"),  # UTC+8: 16, 22, 04, 10 UTC
        ("6H", "2024-03-15T09:59:59", "2024-03-15T04:00:00"),
        ("6Hutc", NOW, "2024-03-15T06:00:00"),
        ("12H", NOW, "2024-03-15T04:00:00"),
        ("12Hutc", NOW, "2024-03-15T00:00:00"),
        ("1D", NOW, "2024-03-14T16:00:00"),  # 1D opens at 16:00 UTC
        ("1D", "2024-03-15T16:00:00", "2024-03-15T16:00:00"),
        ("1D", "2024-03-15T15:59:59.999", "2024-03-14T16:00:00"),
        ("1Dutc", NOW, "2024-03-15T00:00:00"),
        ("1W", NOW, "2024-03-10T16:00:00"),  # Monday 00:00 in UTC+8
        ("1Wutc", NOW, "2024-03-11T00:00:00"),
        ("1M", NOW, "2024-02-29T16:00:00"),
        ("1M", "2024-03-31T17:00:00", "2024-03-31T16:00:00"),  # already April in UTC+8
        ("1Mutc", NOW, "2024-03-01T00:00:00"),
        ("3M", NOW, "2023-12-31T16:00:00"),
        ("3Mutc", "2024-05-20T00:00:00", "2024-04-01T00:00:00"),
        ("2Dutc", "1970-01-03T05:00:00", "1970-01-03T00:00:00"),
        ("3Dutc", "1970-01-03T05:00:00", "1970-01-01T00:00:00"),
    ],
)
def test_bar_open(code: str, ts: str, expected_open: str) -> None:
    assert bar_open(ms(ts), BARS[code]) == ms(expected_open)


@pytest.mark.parametrize(
    ("code", "open_", "expected_next"),
    [
        ("1H", "2024-03-15T10:00:00", "2024-03-15T11:00:00"),
        ("1D", "2024-03-14T16:00:00", "2024-03-15T16:00:00"),
        ("1M", "2024-01-31T16:00:00", "2024-02-29T16:00:00"),
        ("1Mutc", "2024-12-01T00:00:00", "2025-01-01T00:00:00"),
        ("3M", "2023-12-31T16:00:00", "2024-03-31T16:00:00"),
    ],
)
def test_next_and_prev_open(code: str, open_: str, expected_next: str) -> None:
    spec = BARS[code]
    assert next_open(ms(open_), spec) == ms(expected_next)
    assert prev_open(ms(expected_next), spec) == ms(open_)


def test_step_back_months() -> None:
    assert step_back(ms("2024-03-01T00:00:00"), BARS["1Mutc"], 14) == ms("2023-01-01T00:00:00")


@pytest.mark.parametrize("code", ["1h", "1d", "1w", "5H", "", "1Y"])
def test_unknown_bar_codes_are_rejected(code: str) -> None:
    assert parse_bar(code, history=True) is None


def test_one_second_bars_only_on_history() -> None:
    assert parse_bar("1s", history=False) is None
    assert parse_bar("1s", history=True) is BARS["1s"]


def test_every_okx_code_is_known() -> None:
    codes = [
        "1m",
        "3m",
        "5m",
        "15m",
        "30m",
        "1H",
        "2H",
        "4H",
        "6H",
        "12H",
        "1D",
        "2D",
        "3D",
        "1W",
        "1M",
        "3M",
    ]
    codes += [c + "utc" for c in ["6H", "12H", "1D", "2D", "3D", "1W", "1M", "3M"]]
    assert all(parse_bar(c, history=False) for c in codes)


H = 3_600_000
NOW_MS = ms(NOW)
CUR = ms("2024-03-15T10:00:00")
SPEC = BARS["1H"]


@pytest.mark.parametrize(
    ("after", "before", "limit", "expected"),
    [
        (None, None, 3, [CUR, CUR - H, CUR - 2 * H]),  # latest page, forming bar first
        (CUR - H, None, 2, [CUR - 2 * H, CUR - 3 * H]),  # after: strictly older
        (CUR - H + 1, None, 2, [CUR - H, CUR - 2 * H]),
        (None, CUR - 2 * H, 100, [CUR, CUR - H]),  # before alone: newest, strictly newer
        (CUR, CUR - 4 * H, 100, [CUR - H, CUR - 2 * H, CUR - 3 * H]),  # a window
        (NOW_MS + 10 * H, None, 1, [CUR]),  # never a bar that opens in the future
        (CUR - 20 * H, None, 5, []),  # older than the oldest reachable bar
    ],
)
def test_page_semantics(after: int | None, before: int | None, limit: int, expected: list[int]) -> None:
    oldest = CUR - 10 * H
    got = page_opens(SPEC, NOW_MS, after=after, before=before, limit=limit, oldest_ms=oldest)
    assert got == expected


def test_page_stops_at_oldest() -> None:
    got = page_opens(SPEC, NOW_MS, after=None, before=None, limit=300, oldest_ms=CUR - 9 * H)
    assert len(got) == 10
    assert got[-1] == CUR - 9 * H


def test_page_of_calendar_bars() -> None:
    spec = BARS["1Mutc"]
    got = page_opens(spec, NOW_MS, after=None, before=None, limit=3, oldest_ms=0)
    assert got == [ms("2024-03-01T00:00:00"), ms("2024-02-01T00:00:00"), ms("2024-01-01T00:00:00")]
