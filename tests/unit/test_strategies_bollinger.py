"""``bollinger``: every rule branch on hand-built candles, and parity with the original code."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from strategies.bollinger import BollingerParams, bollinger
from strategies.registry import get_strategy
from tests.unit.candle_frames import candles as _frame

NAN = float("nan")


def candles(closes: list[float]) -> pd.DataFrame:
    """Closed 1h candles in UTC+8, oldest first."""
    return _frame(closes, tz="Asia/Shanghai")


def run(closes: list[float], n: int = 3, m: float = 1.0) -> int | None:
    return bollinger(candles(closes), 0, None, BollingerParams(n=n, m=m))


# n = 3, m = 1 unless given; the comments give the last two bars' bands (t-1 → t).
@pytest.mark.parametrize(
    ("closes", "m", "expected"),
    [
        # Rule 1. upper 12.02 → 26.4; close 11.5 → 30 (11.5 is above the 11.17 median: not rule 4).
        pytest.param([10, 12, 11.5, 30], 1.0, 1, id="1-breakout-above-upper"),
        # Rule 1 and rule 4 both hold (9 was below the 10 median): the breakout wins.
        pytest.param([12, 10, 11, 9, 20], 1.0, 1, id="1-breakout-beats-median-cross"),
        # Rule 1 with close_t-1 exactly on the upper band (flat window: std 0, upper = 10).
        pytest.param([10, 10, 10, 20], 1.0, 1, id="1-breakout-from-on-the-band"),
        # Rule 2, mirror of the first case around 20.
        pytest.param([30, 28, 28.5, 10], 1.0, -1, id="2-breakout-below-lower"),
        # Rule 2 and rule 3 both hold (31 was above the 30 median): the breakout wins.
        pytest.param([28, 30, 29, 31, 20], 1.0, -1, id="2-breakout-beats-median-cross"),
        # Rule 3: 12 >= median 11, then 10.9 < median 11.3 but above lower 10.80.
        pytest.param([10, 11, 12, 10.9], 1.0, 0, id="3-cross-down-through-median"),
        # Rule 4: mirror of rule 3 around 20.
        pytest.param([30, 29, 28, 29.1], 1.0, 0, id="4-cross-up-through-median"),
        # Rule 5: already above the upper band on t-1 (12 > 11.82), still above on t.
        pytest.param([10, 11, 12, 12.5], 1.0, None, id="5-stays-above-upper"),
        # Rule 5: already below the lower band, still below.
        pytest.param([30, 29, 28, 27.5], 1.0, None, id="5-stays-below-lower"),
        # Rule 5: inside the bands above the median on both bars (12 < upper 12.07).
        pytest.param([10, 12, 11.5, 12], 1.0, None, id="5-inside-above-median"),
        # Rule 5: flat prices: close equals median and both bands; every comparison is strict.
        pytest.param([10, 10, 10, 10], 1.0, None, id="5-flat"),
        # Rule 5: close_t exactly on the median (10, 12, 11 → 11) is not a cross.
        pytest.param([12, 10, 12, 11], 1.0, None, id="5-close-on-median"),
        # 13.5 is 1.37 std above the median 12.33: a breakout with m = 1, nothing with m = 1.4.
        pytest.param([10, 12, 11.5, 13.5], 1.0, 1, id="1-narrow-band-breakout"),
        pytest.param([10, 12, 11.5, 13.5], 1.4, None, id="5-wide-band-no-breakout"),
    ],
)
def test_rules(closes: list[float], m: float, expected: int | None) -> None:
    assert run(closes, m=m) == expected


@pytest.mark.parametrize("now_pos", [1, -1, 0])
def test_exit_is_returned_whatever_is_held(now_pos: int) -> None:
    df = candles([10, 11, 12, 10.9])

    assert bollinger(df, now_pos, None, BollingerParams(n=3, m=1.0)) == 0


def test_only_the_last_n_plus_1_bars_matter() -> None:
    tail = [10, 12, 11.5, 30]

    for prefix in ([], [1000.0], [NAN, 5.0, 7.0]):
        assert run(prefix + tail) == 1


def test_result_is_a_plain_int() -> None:
    result = run([10, 12, 11.5, 30])

    assert type(result) is int


def test_too_little_history_is_an_error() -> None:
    with pytest.raises(ValueError, match="needs 4 closed bars, got 3"):
        run([10, 12, 30])


def test_default_params_need_201_bars() -> None:
    spec = get_strategy("bollinger")

    assert spec.lookback(spec.parse_params({})) == 201
    with pytest.raises(ValueError, match="needs 201 closed bars, got 200"):
        bollinger(candles([10.0] * 200), 0, None, BollingerParams())


@pytest.mark.parametrize("bad", [NAN, float("inf")])
@pytest.mark.parametrize("where", [0, 2, 3])
def test_bad_close_in_window_is_an_error(bad: float, where: int) -> None:
    closes = [10.0, 12.0, 11.5, 30.0]
    closes[where] = bad

    with pytest.raises(ValueError, match="close is"):
        run(closes)


def test_does_not_modify_its_input() -> None:
    df = candles([10, 12, 11.5, 30])
    before = df.copy(deep=True)

    bollinger(df, 1, None, BollingerParams(n=3, m=1.0))

    pd.testing.assert_frame_equal(df, before)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"n": 1}, "param 'n'"),
        ({"n": 0}, "param 'n'"),
        ({"n": 2.5}, "param 'n'"),
        ({"n": "20"}, "param 'n'"),
        ({"n": True}, "param 'n'"),
        ({"m": 0}, "param 'm'"),
        ({"m": -1}, "param 'm'"),
        ({"m": NAN}, "param 'm'"),
        ({"m": "2"}, "param 'm'"),
        ({"n": 20, "m": 2, "p": 0.01}, "param 'p': unknown parameter"),
        ({"N": 20}, "param 'N': unknown parameter"),
    ],
)
def test_bad_params_are_rejected(raw: dict[str, object], message: str) -> None:
    spec = get_strategy("bollinger")

    with pytest.raises(ValueError, match=message):
        spec.parse_params(raw)


def test_params_are_frozen_and_defaults_match_the_original() -> None:
    params = get_strategy("bollinger").parse_params({"m": 2})

    assert (params.n, params.m) == (200, 2.0)
    with pytest.raises(ValueError, match="frozen"):
        params.n = 10  # type: ignore[misc]


# --- parity with the original -------------------------------------------------------------------


def original_real_signal_simple_bolling(df: pd.DataFrame, para: list[float]) -> int | None:
    """The original ``real_signal_simple_bolling``, line for line (on a copy)."""
    df = df.copy()
    n = int(para[0])
    m = para[1]
    df["median"] = df["close"].rolling(n).mean()
    median = df.iloc[-1]["median"]
    median2 = df.iloc[-2]["median"]
    df["std"] = df["close"].rolling(n).std(ddof=0)
    std = df.iloc[-1]["std"]
    std2 = df.iloc[-2]["std"]
    upper = median + m * std
    lower = median - m * std
    upper2 = median2 + m * std2
    lower2 = median2 - m * std2
    signal = None
    close = df.iloc[-1]["close"]
    close2 = df.iloc[-2]["close"]
    if (close > upper) and (close2 <= upper2):
        signal = 1
    elif (close < lower) and (close2 >= lower2):
        signal = -1
    elif (close < median) and (close2 >= median2):  # noqa: SIM114 (kept as the original wrote it)
        signal = 0
    elif (close > median) and (close2 <= median2):
        signal = 0
    return signal


def random_walk(bars: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, bars)))
    return candles(list(closes))


@pytest.mark.parametrize(("n", "m"), [(3, 1.0), (4, 1.5), (10, 1.5), (20, 2.0), (50, 2.0)])
def test_matches_the_original_on_a_random_walk(n: int, m: float) -> None:
    walk = random_walk(700, seed=n)
    rng = np.random.default_rng(1000 + n)
    params = BollingerParams(n=n, m=m)
    seen: Counter[int | None] = Counter()

    for end in range(n + 1, len(walk) + 1):  # every bar of the walk is the last bar once
        start = int(rng.integers(max(0, end - n - 120), end - n))  # windows of n + 1 .. n + 120
        window = walk.iloc[start:end].reset_index(drop=True)

        expected = original_real_signal_simple_bolling(window, [n, m])
        assert bollinger(window, 0, None, params) == expected, (start, end)
        seen[expected] += 1

    # Every outcome occurred, so the comparison exercised every rule.
    assert set(seen) == {1, -1, 0, None}, seen


@pytest.mark.parametrize(("n", "m"), [(3, 1.5), (5, 2.0), (10, 3.0)])
def test_original_never_breaks_out_when_n_is_at_most_m_squared_plus_1(n: int, m: float) -> None:
    # A close is at most sqrt(n - 1) population std from the mean of the n closes it belongs to,
    # so with n <= m**2 + 1 rules 1 and 2 never fire: the original then only ever said 0 or None.
    walk = random_walk(300, seed=n)

    results = {
        original_real_signal_simple_bolling(walk.iloc[: end + 1], [n, m]) for end in range(n, len(walk))
    }

    assert results <= {0, None}


# (2, 1.0): every close is exactly 1 std from a 2-bar mean, so the original's "breakouts" were
# rounding noise.
@pytest.mark.parametrize(("n", "m"), [(2, 1.0), (2, 1.5), (3, 1.5), (5, 2.0), (10, 3.0), (26, 5.0)])
def test_params_that_can_never_break_out_are_rejected(n: int, m: float) -> None:
    with pytest.raises(ValueError, match=r"no close can ever break out.*use n > m\*\*2 \+ 1"):
        get_strategy("bollinger").parse_params({"n": n, "m": m})


def test_smallest_params_that_can_break_out_are_accepted() -> None:
    params = get_strategy("bollinger").parse_params({"n": 3, "m": 1.4})

    assert (params.n, params.m) == (3, 1.4)


def test_original_returns_none_where_we_raise() -> None:
    # Original bug 13: with n bars instead of n + 1 it said nothing, forever.
    window = random_walk(20, seed=7)

    assert original_real_signal_simple_bolling(window, [20, 2]) is None
    with pytest.raises(ValueError, match="needs 21 closed bars"):
        bollinger(window, 0, None, BollingerParams(n=20, m=2))
