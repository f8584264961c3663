"""Simulator price path, minute table, overrides and candle aggregation (pure, no server)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from simulator.bars import BARS, page_opens
from simulator.candles import CandleService, fmt_units
from simulator.catalogue import CATALOGUE
from simulator.feed import MarketFeed
from simulator.prices import MINUTE_MS, PricePath

K0 = 28_500_000  # a minute index in 2024
BTC = CATALOGUE["BTC-USDT-SWAP"]


def test_same_seed_same_path_other_seed_other_path() -> None:
    a = PricePath(7, "BTC", 95_000.0, 0.02).minutes(K0, K0 + 500)
    b = PricePath(7, "BTC", 95_000.0, 0.02).minutes(K0, K0 + 500)
    c = PricePath(8, "BTC", 95_000.0, 0.02).minutes(K0, K0 + 500)
    assert np.array_equal(a.close, b.close)
    assert np.array_equal(a.high_at, b.high_at)
    assert not np.array_equal(a.close, c.close)


def test_values_do_not_depend_on_the_requested_range() -> None:
    feed = MarketFeed(7, CATALOGUE)
    wide = feed.minutes(BTC, K0, K0 + 5000)
    narrow = feed.minutes(BTC, K0 + 1234, K0 + 1300)
    for name in ("open", "high", "low", "close", "vol", "vcq"):
        assert np.array_equal(getattr(wide, name)[1234:1300], getattr(narrow, name)), name


def test_minute_bars_are_consistent() -> None:
    t = MarketFeed(7, CATALOGUE).minutes(BTC, K0, K0 + 10_000)
    assert np.array_equal(t.open[1:], t.close[:-1])  # open of k == close of k-1
    assert (t.high >= np.maximum(t.open, t.close)).all()
    assert (t.low <= np.minimum(t.open, t.close)).all()
    assert (t.vol > 0).all()
    assert (t.vcq > 0).all()


def test_years_back_are_served_and_realistic() -> None:
    feed = MarketFeed(7, CATALOGUE)
    t = feed.minutes(BTC, K0 - 3 * 525_600, K0 - 3 * 525_600 + 1440)
    closes = t.close * float(BTC.tick_sz)
    assert 20_000 < closes.min() < closes.max() < 400_000
    returns = np.diff(np.log(closes))
    assert 0.0001 < returns.std() < 0.005


def test_spot_and_swap_track_each_other() -> None:
    feed = MarketFeed(7, CATALOGUE)
    spot = feed.minutes(CATALOGUE["BTC-USDT"], K0, K0 + 1440).close.astype(float)
    swap = feed.minutes(BTC, K0, K0 + 1440).close.astype(float)
    assert np.abs(swap / spot - 1).max() < 0.001


def test_partial_minute_equals_full_minute_at_its_end() -> None:
    feed = MarketFeed(7, CATALOGUE)
    full = feed.minutes(BTC, K0 + 10, K0 + 11)
    row = feed.partial(BTC, K0 + 10, 0, MINUTE_MS)
    assert row == (
        int(full.open[0]),
        int(full.high[0]),
        int(full.low[0]),
        int(full.close[0]),
        int(full.vol[0]),
        int(full.vcq[0]),
    )


def test_price_override_moves_the_path_from_then_on() -> None:
    feed = MarketFeed(7, CATALOGUE)
    at = (K0 + 100) * MINUTE_MS + 30_000
    before = feed.minutes(BTC, K0, K0 + 100)
    feed.set_price(BTC, Decimal("50000"), at)
    assert feed.price(BTC, at) == Decimal("50000")
    assert np.array_equal(feed.minutes(BTC, K0, K0 + 100).close, before.close)  # history kept
    later = feed.minutes(BTC, K0 + 101, K0 + 200)
    assert later.close.min() * 0.1 > 45_000
    assert later.close.max() * 0.1 < 55_000
    t = feed.minutes(BTC, K0 + 99, K0 + 103)  # straddles the jump
    assert np.array_equal(t.open[1:], t.close[:-1])
    assert feed.price(CATALOGUE["BTC-USDT"], at) < Decimal("50100")  # the coin moved, spot too


def test_extremes_cover_the_window() -> None:
    feed = MarketFeed(7, CATALOGUE)
    t0, t1 = K0 * MINUTE_MS + 5_000, (K0 + 30) * MINUTE_MS + 7_000
    low, high = feed.extremes(BTC, t0, t1)
    inner = feed.minutes(BTC, K0 + 1, K0 + 30)
    assert low <= int(inner.low.min())
    assert high >= int(inner.high.max())


def _agg(rows: list[list[str]]) -> list[str]:
    """Aggregate 1m rows (newest first) the OKX way."""
    rows = list(reversed(rows))
    vol = sum(Decimal(r[5]) for r in rows)
    return [
        rows[0][0],
        rows[0][1],
        str(max(Decimal(r[2]) for r in rows)),
        str(min(Decimal(r[3]) for r in rows)),
        rows[-1][4],
        str(vol),
        str(sum(Decimal(r[6]) for r in rows)),
        str(sum(Decimal(r[7]) for r in rows)),
    ]


@pytest.mark.parametrize("inst_id", ["BTC-USDT-SWAP", "DOGE-USDT-SWAP", "ETH-USDT"])
def test_hour_bar_is_the_aggregation_of_its_minutes(inst_id: str) -> None:
    inst = CATALOGUE[inst_id]
    service = CandleService(MarketFeed(7, CATALOGUE))
    now = (K0 + 600) * MINUTE_MS + 12_345
    hour_open = (K0 + 600) * MINUTE_MS // 3_600_000 * 3_600_000 - 3_600_000
    minutes = [hour_open + i * MINUTE_MS for i in range(59, -1, -1)]
    one_m = service.rows(inst, BARS["1m"], minutes, now)
    hour = service.rows(inst, BARS["1H"], [hour_open], now)[0]
    expected = _agg(one_m)
    got = hour[:8]
    assert got[:5] == expected[:5]
    assert [Decimal(x) for x in got[5:]] == [Decimal(x) for x in expected[5:]]
    assert hour[8] == "1"


def test_forming_bar_aggregates_only_minutes_so_far() -> None:
    service = CandleService(MarketFeed(7, CATALOGUE))
    hour_open = K0 // 60 * 60 * MINUTE_MS
    now = hour_open + 17 * MINUTE_MS + 20_000
    forming = service.rows(BTC, BARS["1H"], [hour_open], now)[0]
    mins = page_opens(BARS["1m"], now, after=None, before=hour_open - 1, limit=300, oldest_ms=0)
    rows = service.rows(BTC, BARS["1m"], mins, now)
    assert len(rows) == 18
    assert rows[0][8] == "0"
    assert forming[8] == "0"
    assert forming[:5] == _agg(rows)[:5]
    assert Decimal(forming[5]) == sum(Decimal(r[5]) for r in rows)


def test_fmt_units_prints_like_okx() -> None:
    assert fmt_units(370101, Decimal("0.1")) == "37010.1"
    assert fmt_units(370120, Decimal("0.1")) == "37012"
    assert fmt_units(5, Decimal("0.00001")) == "0.00005"
    assert fmt_units(0, Decimal("0.01")) == "0"
