"""Candle paging: endpoint choice, cursors and stop conditions against a fake OKX."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from exchange.history import bar_seconds, collect_range
from exchange.records import Candle

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MIN = timedelta(minutes=1)


def candle(ts: datetime, confirmed: bool = True) -> Candle:
    one = Decimal(1)
    return Candle("BTC-USDT", "1m", ts, one, one, one, one, one, one, one, confirmed)


class FakeOkx:
    """1m bars from ``listed`` to ``now`` (the last one forming); ``recent`` reaches 1,440 bars."""

    def __init__(self, now: datetime, listed: datetime) -> None:
        self.now, self.listed = now, listed
        self.calls: list[tuple[str, datetime]] = []

    def _page(self, after: datetime, limit: int, oldest: datetime) -> list[Candle]:
        newest = min(after - MIN, self.now.replace(second=0, microsecond=0))
        out = []
        ts = newest
        while ts >= oldest and len(out) < limit:
            out.append(candle(ts, confirmed=ts + MIN <= self.now))
            ts -= MIN
        return sorted(out, key=lambda c: c.ts)

    def recent(self, after: datetime) -> list[Candle]:
        self.calls.append(("recent", after))
        reach = self.now.replace(second=0, microsecond=0) - 1439 * MIN
        return self._page(after, 300, max(self.listed, reach))

    def history(self, after: datetime) -> list[Candle]:
        self.calls.append(("history", after))
        return self._page(after, 100, self.listed)


@pytest.mark.parametrize(
    ("bar", "seconds"),
    [("1s", 1), ("1m", 60), ("15m", 900), ("1H", 3600), ("4H", 14400), ("6Hutc", 21600),
     ("1D", 86400), ("1Dutc", 86400), ("1W", 604800), ("1M", None), ("3M", None), ("x", None)],
)  # fmt: skip
def test_bar_seconds(bar: str, seconds: int | None) -> None:
    assert bar_seconds(bar) == seconds


def test_recent_window_uses_market_candles_and_keeps_the_forming_bar() -> None:
    now = T0 + timedelta(hours=10, seconds=30)
    okx = FakeOkx(now, listed=T0 - timedelta(days=30))
    progress: list[int] = []

    got = collect_range(
        recent=okx.recent, history=okx.history, bar="1m", start=now - 500 * MIN,
        end=now + MIN, now=now, progress=progress.append,
    )  # fmt: skip

    assert len(got) == 500
    assert got == sorted(got, key=lambda c: c.ts)
    assert got[-1].confirmed is False
    assert all(c.confirmed for c in got[:-1])
    assert {kind for kind, _ in okx.calls} == {"recent"}
    assert len(okx.calls) == 2  # 300 + 200
    assert progress == [300, 500]


def test_old_window_pages_history_backwards_with_exclusive_cursor() -> None:
    now = T0 + timedelta(days=20)
    okx = FakeOkx(now, listed=T0 - timedelta(days=30))
    start, end = T0, T0 + 250 * MIN

    got = collect_range(recent=okx.recent, history=okx.history, bar="1m", start=start, end=end, now=now)

    assert [c.ts for c in got] == [start + i * MIN for i in range(250)]
    assert [kind for kind, _ in okx.calls] == ["history"] * 3
    assert okx.calls[0][1] == end
    assert okx.calls[1][1] == end - 100 * MIN


def test_window_straddling_the_recent_reach_switches_to_history() -> None:
    now = T0 + timedelta(days=5)
    okx = FakeOkx(now, listed=T0 - timedelta(days=30))
    start = now - 2000 * MIN

    got = collect_range(recent=okx.recent, history=okx.history, bar="1m", start=start, end=now, now=now)

    assert len(got) == 2000
    kinds = [kind for kind, _ in okx.calls]
    assert kinds[0] == "recent"
    assert "history" in kinds
    assert kinds.index("history") > kinds.index("recent")


def test_stops_at_listing_time_and_on_empty_pages() -> None:
    now = T0 + timedelta(days=3)
    listed = now - 50 * MIN
    okx = FakeOkx(now, listed=listed)

    got = collect_range(
        recent=okx.recent,
        history=okx.history,
        bar="1m",
        start=now - 500 * MIN,
        end=now,
        now=now,
    )

    assert got[0].ts == listed
    assert len(got) == 50
    assert len(okx.calls) <= 3


def test_empty_or_inverted_window() -> None:
    okx = FakeOkx(T0, listed=T0 - timedelta(days=1))

    assert collect_range(recent=okx.recent, history=okx.history, bar="1m", start=T0, end=T0, now=T0) == []
    assert okx.calls == []


def test_duplicate_rows_across_pages_keep_the_confirmed_one() -> None:
    pages = {
        T0 + 3 * MIN: [candle(T0 + MIN), candle(T0 + 2 * MIN, confirmed=False)],
        T0 + MIN: [candle(T0), candle(T0 + 2 * MIN)],  # a stale cache repeating a bar
    }

    got = collect_range(
        recent=lambda after: [], history=lambda after: pages.get(after, []), bar="1M",
        start=T0, end=T0 + 3 * MIN, now=T0 + 3 * MIN,
    )  # fmt: skip

    assert [c.ts for c in got] == [T0, T0 + MIN, T0 + 2 * MIN]
    assert got[2].confirmed is True
