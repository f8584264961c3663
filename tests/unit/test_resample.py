"""``core.resample``: alignment in both candle timezones, exact aggregation, partial bins rejected."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from core.bars import Bar
from core.intervals import parse_interval
from core.resample import aggregate, bins_per_bar, complete_bar, plain, resample

HK = "Asia/Shanghai"
T0 = datetime(2024, 3, 1, tzinfo=UTC)  # a UTC midnight (08:00 in UTC+8)


def make_bars(start: datetime, count: int, step: str, seed: int = 1) -> list[Bar]:
    """Random-walk base bars with decimal prices/volumes (exact strings, like OKX)."""
    rng = random.Random(seed)
    delta = parse_interval(step).delta
    price = 1000
    out = []
    for i in range(count):
        o = price
        c = max(1, o + rng.randint(-30, 30))
        h = max(o, c) + rng.randint(0, 10)
        lo = min(o, c) - rng.randint(0, 10)
        price = c
        out.append(
            Bar(
                start + delta * i,
                Decimal(o) / 10,
                Decimal(h) / 10,
                Decimal(lo) / 10,
                Decimal(c) / 10,
                Decimal(rng.randint(0, 999)) / 100,
                Decimal(rng.randint(0, 999)) / 1000,
                Decimal(rng.randint(0, 99999)) / 10,
            )
        )
    return out


def pandas_resample(bars: list[Bar], rule: str, tz: str) -> list[Bar]:
    """An independent reference: pandas on an index in the candle timezone, complete bins only."""
    frame = pd.DataFrame(
        {
            "open": [float(b.open) for b in bars],
            "high": [float(b.high) for b in bars],
            "low": [float(b.low) for b in bars],
            "close": [float(b.close) for b in bars],
            "n": 1,
        },
        index=pd.DatetimeIndex([b.ts for b in bars]).tz_convert(tz),
    )
    agg = frame.resample(rule).agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "n": "sum"}
    )
    return agg


@pytest.mark.parametrize(
    ("base", "target", "tz", "first_open", "expected_opens"),
    [
        # 1m -> 5m: UTC minute boundaries
        ("1m", "5m", HK, T0 + timedelta(minutes=3), [T0 + timedelta(minutes=5), T0 + timedelta(minutes=10)]),
        ("5m", "15m", "UTC", T0, [T0, T0 + timedelta(minutes=15)]),
        ("15m", "1h", HK, T0 + timedelta(minutes=45), [T0 + timedelta(hours=1)]),
        # 4h: identical in both zones (UTC 00/04/08...)
        ("1h", "4h", HK, T0 + timedelta(hours=2), [T0 + timedelta(hours=4), T0 + timedelta(hours=8)]),
        ("1h", "4h", "UTC", T0 + timedelta(hours=2), [T0 + timedelta(hours=4), T0 + timedelta(hours=8)]),
        # 6h HK opens at 16/22/04/10 UTC; 6h UTC at 00/06/12/18 UTC
        ("1h", "6h", HK, T0, [T0 + timedelta(hours=4), T0 + timedelta(hours=10)]),
        ("1h", "6h", "UTC", T0, [T0, T0 + timedelta(hours=6), T0 + timedelta(hours=12)]),
        # 12h HK opens at 04/16 UTC; 12h UTC at 00/12 UTC
        ("1h", "12h", HK, T0, [T0 + timedelta(hours=4)]),
        ("1h", "12h", "UTC", T0, [T0]),
        # 1d HK opens at 16:00 UTC; 1d UTC at 00:00 UTC
        ("1h", "1d", HK, T0, [T0 + timedelta(hours=16)]),
        ("1h", "1d", "UTC", T0, [T0]),
        ("4h", "1d", HK, T0, [T0 + timedelta(hours=16)]),
    ],
)
def test_alignment_and_complete_bins(
    base: str, target: str, tz: str, first_open: datetime, expected_opens: list[datetime]
) -> None:
    base_iv, target_iv = parse_interval(base), parse_interval(target)
    # enough base bars for the expected bars, starting mid-bin (the first partial bin is dropped)
    span_end = expected_opens[-1] + target_iv.delta
    count = int((span_end - first_open) / base_iv.delta) + 1  # one extra bar opens a partial bin
    bars = make_bars(first_open, count, base)

    out = resample(bars, base_iv, target_iv, tz)

    assert [b.ts for b in out] == expected_opens


@pytest.mark.parametrize("tz", [HK, "UTC"])
@pytest.mark.parametrize(
    ("base", "target", "rule"),
    [
        ("1m", "5m", "5min"),
        ("5m", "1h", "1h"),
        ("15m", "4h", "4h"),
        ("1h", "6h", "6h"),
        ("1h", "12h", "12h"),
        ("1h", "1d", "1D"),
        ("30m", "1d", "1D"),
    ],
)
def test_matches_pandas_reference(base: str, target: str, rule: str, tz: str) -> None:
    base_iv, target_iv = parse_interval(base), parse_interval(target)
    bars = make_bars(
        T0 + timedelta(minutes=30 if base_iv.seconds <= 1800 else 0),
        24 * 7 * 3600 // base_iv.seconds,
        base,
        seed=7,
    )
    n = bins_per_bar(base_iv, target_iv)

    out = resample(bars, base_iv, target_iv, tz)

    ref = pandas_resample(bars, rule, tz)
    ref = ref[ref["n"] == n]
    assert [b.ts for b in out] == [ts.to_pydatetime().astimezone(UTC) for ts in ref.index]
    for bar, (_, row) in zip(out, ref.iterrows(), strict=True):
        assert (float(bar.open), float(bar.high), float(bar.low), float(bar.close)) == (
            row["open"],
            row["high"],
            row["low"],
            row["close"],
        )


def test_aggregation_is_exact() -> None:
    bars = [
        Bar(
            T0,
            Decimal("10.1"),
            Decimal("10.5"),
            Decimal("9.9"),
            Decimal("10.2"),
            Decimal("0.1"),
            Decimal("0.01"),
            Decimal("1.1"),
        ),
        Bar(
            T0 + timedelta(minutes=1),
            Decimal("10.2"),
            Decimal("10.9"),
            Decimal("10.0"),
            Decimal("10.8"),
            Decimal("0.2"),
            Decimal("0.02"),
            Decimal("2.2"),
        ),
        Bar(
            T0 + timedelta(minutes=2),
            Decimal("10.8"),
            Decimal("10.8"),
            Decimal("9.7"),
            Decimal("9.8"),
            Decimal("0"),
            Decimal("0"),
            Decimal("0"),
        ),
    ]

    out = resample(bars, parse_interval("1m"), parse_interval("3m"), "UTC")

    assert out == [
        Bar(
            T0,
            Decimal("10.1"),
            Decimal("10.9"),
            Decimal("9.7"),
            Decimal("9.8"),
            Decimal("0.3"),
            Decimal("0.03"),
            Decimal("3.3"),
        )
    ]


def test_hole_inside_a_bin_drops_only_that_bin() -> None:
    bars = make_bars(T0, 15, "1m")
    del bars[7]  # 00:07 missing: the 00:05 bin is partial

    out = resample(bars, parse_interval("1m"), parse_interval("5m"), HK)

    assert [b.ts for b in out] == [T0, T0 + timedelta(minutes=10)]


def test_trailing_partial_bin_is_not_emitted() -> None:
    bars = make_bars(T0, 9, "1m")  # 00:00-00:04 complete, 00:05-00:08 partial

    out = resample(bars, parse_interval("1m"), parse_interval("5m"), HK)

    assert [b.ts for b in out] == [T0]


def test_unordered_input_is_sorted() -> None:
    bars = make_bars(T0, 10, "1m")

    assert resample(list(reversed(bars)), parse_interval("1m"), parse_interval("5m"), HK) == resample(
        bars, parse_interval("1m"), parse_interval("5m"), HK
    )


def test_duplicate_base_bar_is_an_error() -> None:
    bars = make_bars(T0, 5, "1m")
    with pytest.raises(ValueError, match="duplicate"):
        resample([*bars, bars[2]], parse_interval("1m"), parse_interval("5m"), HK)


def test_misaligned_base_bar_is_an_error() -> None:
    bars = make_bars(T0 + timedelta(seconds=30), 5, "1m")
    with pytest.raises(ValueError, match="not aligned"):
        resample(bars, parse_interval("1m"), parse_interval("5m"), HK)


@pytest.mark.parametrize(("base", "target"), [("5m", "1m"), ("2h", "6h"), ("4h", "6h"), ("1h", "1h")])
def test_bins_per_bar(base: str, target: str) -> None:
    b, t = parse_interval(base), parse_interval(target)
    if t.seconds % b.seconds or t.seconds < b.seconds:
        with pytest.raises(ValueError, match="must divide"):
            bins_per_bar(b, t)
    else:
        assert bins_per_bar(b, t) == t.seconds // b.seconds


def test_complete_bar_one_bin() -> None:
    bars = make_bars(T0, 24, "1h")
    opened = T0 + timedelta(hours=4)  # 12h HK bar 04:00-16:00 UTC

    bar = complete_bar(bars, parse_interval("1h"), parse_interval("12h"), HK, opened)

    assert bar == aggregate(opened, bars[4:16])


def test_complete_bar_missing_piece_is_none() -> None:
    bars = make_bars(T0, 24, "1h")
    del bars[10]

    assert (
        complete_bar(bars, parse_interval("1h"), parse_interval("12h"), HK, T0 + timedelta(hours=4)) is None
    )
    assert (
        complete_bar(bars[:15], parse_interval("1h"), parse_interval("12h"), HK, T0 + timedelta(hours=4))
        is None
    )


def test_complete_bar_rejects_unaligned_open() -> None:
    with pytest.raises(ValueError, match="not a 12h bar open"):
        complete_bar([], parse_interval("1h"), parse_interval("12h"), "UTC", T0 + timedelta(hours=4))


def test_aggregate_empty_is_an_error() -> None:
    with pytest.raises(ValueError, match="zero bars"):
        aggregate(T0, [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7.10", "7.1"),
        ("7163812.00", "7163812"),
        ("1.2E+3", "1200"),
        ("0.000", "0"),
        ("0.0001", "0.0001"),
        ("100", "100"),
    ],
)
def test_plain_prints_like_okx(text: str, expected: str) -> None:
    assert str(plain(Decimal(text))) == expected
    assert plain(Decimal(text)) == Decimal(text)


def test_summed_volumes_have_no_trailing_zeros() -> None:
    one = Decimal("1.50")
    volumes = (Decimal("0.50"), Decimal("2.5"), Decimal("0.75"))
    bars = [Bar(T0 + timedelta(minutes=i), one, one, one, one, *volumes) for i in range(2)]

    out = aggregate(T0, bars)

    assert (str(out.volume), str(out.volume_ccy), str(out.volume_quote)) == ("1", "5", "1.5")


def _b(minute: int, o: str, h: str, lo: str, c: str, vol: str) -> Bar:
    d = Decimal
    return Bar(T0 + timedelta(minutes=minute), d(o), d(h), d(lo), d(c), d(vol), d(vol), d(vol))


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        # a trade-less first minute (flat at the previous close, vol 0) gives no open/low
        ([("8.282", "8.282", "8.282", "8.282", "0"), ("8.283", "8.29", "8.283", "8.285", "5")],
         ("8.283", "8.29", "8.283", "8.285", "5")),
        # nor a trade-less middle minute its high
        ([("2", "3", "2", "2.5", "1"), ("9", "9", "9", "9", "0"), ("2.5", "2.6", "2.4", "2.4", "1")],
         ("2", "3", "2", "2.4", "2")),
        # a trade-less last minute still gives the close (its close is the last traded price)
        ([("2", "3", "2", "2.5", "1"), ("2.5", "2.5", "2.5", "2.5", "0")], ("2", "3", "2", "2.5", "1")),
        # a bin without any trade is flat
        ([("7", "7", "7", "7", "0"), ("7", "7", "7", "7", "0")], ("7", "7", "7", "7", "0")),
        # zero volume but not flat is not OKX's trade-less shape: it counts
        ([("1", "5", "1", "2", "0"), ("2", "3", "2", "3", "1")], ("1", "5", "1", "3", "1")),
    ],
)
def test_tradeless_minutes_give_no_open_high_low(
    minutes: list[tuple[str, ...]], expected: tuple[str, ...]
) -> None:
    bars = [_b(i, *m) for i, m in enumerate(minutes)]
    got = aggregate(T0, bars)
    assert (got.open, got.high, got.low, got.close, got.volume) == tuple(Decimal(x) for x in expected)
