"""Candle semantics over HTTP: paging, reach, confirm flag, alignment, aggregation, determinism."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from simulator.server import RunningSimulator, start_background

NOW = 1_710_499_032_345  # 2024-03-15T10:37:12.345Z
MIN = 60_000
HOUR = 3_600_000
DAY = 86_400_000


@pytest.fixture(scope="module")
def frozen() -> Iterator[RunningSimulator]:
    with start_background(seed=7, clock_start_ms=NOW, clock_frozen=True, rate_limits=False) as sim:
        yield sim


def candles(sim: RunningSimulator, endpoint: str = "candles", **params: Any) -> list[list[str]]:
    query = {"instId": "BTC-USDT-SWAP", **params}
    body = requests.get(f"{sim.base_url}/api/v5/market/{endpoint}", params=query, timeout=10).json()
    assert body["code"] == "0", body
    rows: list[list[str]] = body["data"]
    return rows


def ts(rows: list[list[str]]) -> list[int]:
    return [int(r[0]) for r in rows]


def test_latest_page_newest_first_with_forming_bar(frozen: RunningSimulator) -> None:
    rows = candles(frozen, bar="1m")
    assert len(rows) == 100  # default limit
    assert ts(rows)[0] == NOW // MIN * MIN  # never a bar that opens in the future
    assert ts(rows) == sorted(ts(rows), reverse=True)
    assert [r[8] for r in rows[:2]] == ["0", "1"]
    assert len(candles(frozen, bar="1m", limit=300)) == 300


def test_after_before_semantics(frozen: RunningSimulator) -> None:
    latest = ts(candles(frozen, bar="1m", limit=10))
    older = ts(candles(frozen, bar="1m", after=latest[3], limit=3))
    assert older == latest[4:7]  # strictly older than `after`
    newer = ts(candles(frozen, bar="1m", before=latest[3]))
    assert newer == latest[:3]  # `before` alone: the latest page, strictly newer
    window = ts(candles(frozen, bar="1m", after=latest[1], before=latest[6]))
    assert window == latest[2:6]


def test_candles_reach_only_the_latest_1440_bars(frozen: RunningSimulator) -> None:
    seen: list[int] = []
    after = None
    while True:
        page = ts(candles(frozen, bar="1m", limit=300, **({"after": after} if after else {})))
        if not page:
            break
        seen += page
        after = page[-1]
    assert len(seen) == 1440
    assert len(set(seen)) == 1440
    assert seen[-1] == NOW // MIN * MIN - 1439 * MIN
    deep = candles(frozen, "history-candles", bar="1m", after=seen[-1], limit=100)
    assert ts(deep)[0] == seen[-1] - MIN  # history-candles keeps going


def test_history_candles_serve_years_back(frozen: RunningSimulator) -> None:
    three_years = NOW - 3 * 365 * DAY
    rows = candles(frozen, "history-candles", bar="1Dutc", after=three_years, limit=100)
    assert len(rows) == 100
    assert all(r[8] == "1" for r in rows)
    assert ts(rows)[0] == (three_years - 1) // DAY * DAY


def test_daily_alignment_hk_vs_utc(frozen: RunningSimulator) -> None:
    hk = ts(candles(frozen, bar="1D", limit=3))
    utc = ts(candles(frozen, bar="1Dutc", limit=3))
    assert all(t % DAY == 16 * HOUR for t in hk)  # 1D opens at 16:00 UTC
    assert all(t % DAY == 0 for t in utc)
    assert hk[0] == 1_710_432_000_000  # 2024-03-14T16:00Z
    six = ts(candles(frozen, bar="6H", limit=4))
    assert sorted(t % DAY // HOUR for t in six) == [4, 10, 16, 22]


def _sum(rows: list[list[str]], i: int) -> Decimal:
    return sum((Decimal(r[i]) for r in rows), Decimal(0))


@pytest.mark.parametrize(("bar", "minutes"), [("1H", 60), ("4H", 240), ("1D", 1440)])
def test_bar_is_the_aggregation_of_its_1m_bars(frozen: RunningSimulator, bar: str, minutes: int) -> None:
    big = candles(frozen, "history-candles", bar=bar, limit=2)[1]  # the last closed bar
    start = int(big[0])
    ones: list[list[str]] = []
    after = start + minutes * MIN
    while len(ones) < minutes:
        page = candles(frozen, "history-candles", bar="1m", after=after, before=start - 1)
        ones += page
        after = int(page[-1][0])
    ones.reverse()
    assert int(ones[0][0]) == start
    assert len(ones) == minutes
    assert big[1] == ones[0][1]
    assert big[4] == ones[-1][4]
    assert Decimal(big[2]) == max(Decimal(r[2]) for r in ones)
    assert Decimal(big[3]) == min(Decimal(r[3]) for r in ones)
    for i in (5, 6, 7):
        assert Decimal(big[i]) == _sum(ones, i)


def test_forming_bar_aggregates_minutes_up_to_now(frozen: RunningSimulator) -> None:
    hour = candles(frozen, bar="1H", limit=1)[0]
    ones = candles(frozen, bar="1m", before=int(hour[0]) - 1)
    assert hour[8] == "0"
    assert len(ones) == 38
    assert hour[4] == ones[0][4]
    assert hour[1] == ones[-1][1]
    assert Decimal(hour[5]) == _sum(ones, 5)


def test_same_seed_same_candles_other_seed_other_candles(frozen: RunningSimulator) -> None:
    params = {"bar": "1D", "limit": 300}
    first = candles(frozen, **params)
    with start_background(seed=7, clock_start_ms=NOW, clock_frozen=True) as again:
        assert candles(again, **params) == first
    with start_background(seed=8, clock_start_ms=NOW, clock_frozen=True) as other:
        assert candles(other, **params) != first


def test_clock_advance_closes_the_forming_bar(sim: RunningSimulator) -> None:
    sim.control.set_clock(NOW, mode="frozen")
    forming = candles(sim, bar="1m", limit=1)[0]
    sim.control.advance(MIN)
    rows = candles(sim, bar="1m", limit=2)
    assert int(rows[0][0]) == int(forming[0]) + MIN
    assert rows[0][8] == "0"
    assert rows[1][0] == forming[0]
    assert rows[1][8] == "1"
    assert rows[1][1] == forming[1]


def test_price_override_continues_from_the_new_level(sim: RunningSimulator) -> None:
    sim.control.set_clock(NOW, mode="frozen")
    before = candles(sim, bar="1m", limit=3)
    sim.control.set_price("BTC-USDT-SWAP", "42000")
    sim.control.advance(5 * MIN)
    after = candles(sim, bar="1m", limit=6)
    assert after[-1][:2] == before[0][:2]  # history before the override is unchanged
    assert all(40_000 < float(r[4]) < 44_000 for r in after[:5])
    ticker = requests.get(f"{sim.base_url}/api/v5/market/ticker?instId=BTC-USDT-SWAP", timeout=10).json()[
        "data"
    ][0]
    assert 40_000 < float(ticker["last"]) < 44_000
