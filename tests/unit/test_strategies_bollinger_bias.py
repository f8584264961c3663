"""``bollinger_bias`` (the original ``bolling_new``): every branch, and parity with the original."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from strategies.bollinger import BollingerBiasParams, bollinger_bias
from strategies.registry import get_strategy
from tests.unit.candle_frames import candles

NAN = float("nan")


def run(closes: list[float], p: float, n: int = 3, m: float = 1.0) -> int | None:
    return bollinger_bias(candles(closes), 0, None, BollingerBiasParams(n=n, m=m, p=p))


FLAT = [10.0] * 5
# n = 3, m = 1. Bar 5 breaks above the upper band (bias 0.5), bar 6 has bias 0.2, bar 7 is back on
# the median (bias 0), bar 9 breaks out again (a repeated event), bar 11 crosses the median down.
LONG = [*FLAT, 20, 20, 20, 20, 22, 21, 20.9]
# The mirror image: a breakout below the lower band, then back on the median.
SHORT = [20.0] * 5 + [10, 10, 10]
# Entry at bar 5 (bias 0.5), bar 6 bias 0.235, exit at bar 7; again at bars 11-13 (bias 0.29,
# 0.15, exit).
TWICE = [*FLAT, 20, 21, 20, 20, 20, 20, 30, 31, 30]


@pytest.mark.parametrize(
    ("closes", "p", "m", "expected"),
    [
        pytest.param([*FLAT, 10], 0.1, 1.0, None, id="no-event"),
        pytest.param(LONG[:6], 1.0, 1.0, 1, id="entry-on-breakout-bar-when-bias-ok"),
        pytest.param(LONG[:6], 0.1, 1.0, None, id="entry-waits-while-bias-too-high"),
        # Breakout to 15 over the median 10 (exactly): bias is exactly 0.5, and <= p passes.
        pytest.param([*[7.5] * 5, 15], 0.5, 1.0, 1, id="entry-when-bias-equals-p"),
        pytest.param([*[7.5] * 5, 15], 0.4999, 1.0, None, id="no-entry-when-bias-just-above-p"),
        pytest.param(LONG[:7], 0.1, 1.0, None, id="still-waiting-bias-0.2"),
        pytest.param(LONG[:8], 0.1, 1.0, 1, id="delayed-entry-fires-when-bias-ok"),
        pytest.param(LONG[:8], 1.0, 1.0, None, id="entry-already-fired-on-breakout-bar"),
        pytest.param(LONG[:9], 0.1, 1.0, None, id="entry-fires-once"),
        pytest.param(LONG[:10], 0.1, 1.0, None, id="repeated-breakout-is-not-a-new-entry"),
        pytest.param(LONG, 0.1, 1.0, 0, id="exit-on-median-cross-passes"),
        # Entry at bar 5 never passes p = 0.01 (bias 0.5, 0.235); the first exit is still emitted.
        pytest.param(TWICE[:8], 0.01, 1.0, 0, id="exit-passes-even-if-entry-never-fired"),
        pytest.param(SHORT[:6], 1.0, 1.0, -1, id="short-entry-on-breakout-bar"),
        pytest.param(SHORT, 0.1, 1.0, -1, id="delayed-short-entry"),
        pytest.param(SHORT, 1.0, 1.0, None, id="short-entry-fires-once"),
        # Long fired at bar 7; bar 9 (19) crosses the median and breaks the lower band: -1 + 0.
        pytest.param([*LONG[:9], 19], 0.1, 1.0, -1, id="reverse-when-bias-ok"),
        # Same bar, bias 0.034 > p: the merged event is an entry only, so nothing: no exit either.
        pytest.param([*LONG[:9], 19], 0.01, 1.0, None, id="no-exit-when-reverse-is-filtered"),
        pytest.param(TWICE, 0.3, 1.0, 0, id="second-exit-after-fired-entry"),
        # Neither entry passed p = 0.01; the first exit was emitted, the second repeats it.
        pytest.param(TWICE, 0.01, 1.0, None, id="exit-after-exit-is-swallowed"),
        # m = 1.2: bar 4 breaks out (bias 0.039 > p), bar 5 crosses the median down without
        # reaching the lower band (exit, emitted), bar 6 crosses back up (0 again: dropped).
        pytest.param([*FLAT[:4], 10.6, 10.1], 0.01, 1.2, 0, id="exit-after-unfired-entry"),
        pytest.param([*FLAT[:4], 10.6, 10.1, 10.45], 0.01, 1.2, None, id="repeated-median-cross-is-dropped"),
    ],
)
def test_branches(closes: list[float], p: float, m: float, expected: int | None) -> None:
    result = run(closes, p=p, m=m)

    assert result == expected
    assert result is None or type(result) is int


@pytest.mark.parametrize("now_pos", [1, -1, 0])
def test_position_is_not_used(now_pos: int) -> None:
    df = candles(LONG)

    assert bollinger_bias(df, now_pos, None, BollingerBiasParams(n=3, m=1.0, p=0.1)) == 0


def test_is_deterministic_and_does_not_modify_its_input() -> None:
    df = candles(LONG[:8])
    before = df.copy(deep=True)
    params = BollingerBiasParams(n=3, m=1.0, p=0.1)

    results = [bollinger_bias(df, 0, None, params) for _ in range(3)]

    assert results == [1, 1, 1]
    pd.testing.assert_frame_equal(df, before)


def test_lookback_is_2n() -> None:
    spec = get_strategy("bollinger_bias")

    assert spec.lookback(spec.parse_params({"n": 20, "m": 2, "p": 0.05})) == 40
    assert spec.lookback(spec.parse_params({})) == 400
    with pytest.raises(ValueError, match="needs 6 closed bars, got 5"):
        run(FLAT, p=0.1)


@pytest.mark.parametrize("where", [0, 3, 7])
def test_any_bad_close_is_an_error(where: int) -> None:
    # The whole frame is used, so a NaN anywhere in it is an error.
    closes = list(LONG[:8])
    closes[where] = NAN

    with pytest.raises(ValueError, match="close is nan"):
        run(closes, p=0.1)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"p": 0}, "param 'p'"),
        ({"p": -0.01}, "param 'p'"),
        ({"p": float("inf")}, "param 'p'"),
        ({"n": 1}, "param 'n'"),
        ({"m": 0}, "param 'm'"),
        ({"n": 5, "m": 2}, "no close can ever break out"),
        ({"q": 1}, "param 'q': unknown parameter"),
    ],
)
def test_bad_params_are_rejected(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        get_strategy("bollinger_bias").parse_params(raw)


def test_defaults_match_the_original() -> None:
    params = get_strategy("bollinger_bias").parse_params({})

    assert (params.n, params.m, params.p) == (200, 2.0, 0.01)


# --- parity with the original -------------------------------------------------------------------


def original_bolling_new(df: pd.DataFrame, para: list[float]) -> float:
    """The original ``bolling_new`` on a copy; ``fillna(method='ffill', inplace=True)`` on a
    column became ``ffill()`` (same result, current pandas)."""
    df = df.copy()
    n = int(para[0])
    m = para[1]
    p = para[2]
    df["median"] = df["close"].rolling(n, min_periods=1).mean()
    df["std"] = df["close"].rolling(n, min_periods=1).std(ddof=0)
    df["upper"] = df["median"] + m * df["std"]
    df["lower"] = df["median"] - m * df["std"]
    df["bias"] = abs(df["close"] / df["median"] - 1)
    condition1 = df["close"] > df["upper"]
    condition2 = df["close"].shift(1) <= df["upper"].shift(1)
    df.loc[condition1 & condition2, "signal_long"] = 1
    condition1 = df["close"] < df["median"]
    condition2 = df["close"].shift(1) >= df["median"].shift(1)
    df.loc[condition1 & condition2, "signal_long"] = 0
    condition1 = df["close"] < df["lower"]
    condition2 = df["close"].shift(1) >= df["lower"].shift(1)
    df.loc[condition1 & condition2, "signal_short"] = -1
    condition1 = df["close"] > df["median"]
    condition2 = df["close"].shift(1) <= df["median"].shift(1)
    df.loc[condition1 & condition2, "signal_short"] = 0
    df["signal"] = df[["signal_long", "signal_short"]].sum(axis=1, min_count=1, skipna=True)
    temp = df[df["signal"].notnull()][["signal"]]
    temp = temp[temp["signal"] != temp["signal"].shift(1)]
    df["signal"] = temp["signal"]
    df["signal2"] = df["signal"].ffill()
    df.loc[df["signal"] != 0, "signal"] = None
    condition1 = df["signal2"] == 1
    condition2 = df["signal2"] == -1
    df.loc[(condition1 | condition2) & (df["bias"] <= p), "signal"] = df["signal2"]
    temp = df[df["signal"].notnull()][["signal"]]
    temp = temp[temp["signal"] != temp["signal"].shift(1)]
    df["signal"] = temp["signal"]
    return float(df.iloc[-1]["signal"])


def as_target(value: float) -> int | None:
    return None if np.isnan(value) else int(value)


@pytest.mark.parametrize(("n", "m", "p"), [(3, 1.0, 0.01), (10, 1.5, 0.01), (20, 2.0, 0.005)])
def test_matches_the_original_on_a_random_walk(n: int, m: float, p: float) -> None:
    rng = np.random.default_rng(n)
    walk = candles(list(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 240)))))
    params = BollingerBiasParams(n=n, m=m, p=p)
    seen: Counter[int | None] = Counter()

    for end in range(2 * n, len(walk) + 1):
        start = int(rng.integers(max(0, end - 6 * n), end - 2 * n + 1))
        window = walk.iloc[start:end].reset_index(drop=True)

        expected = as_target(original_bolling_new(window, [n, m, p]))
        assert bollinger_bias(window, 0, None, params) == expected, (start, end)
        seen[expected] += 1

    assert set(seen) == {1, -1, 0, None}, seen


def test_the_answer_can_depend_on_where_the_frame_starts() -> None:
    # As in the original (whole-history signals, min_periods=1 bands). From the start, bar 2 (12)
    # is an upper breakout and the final bar's median cross is the first exit: 0. One bar later,
    # the warm-up bands make 12 a median cross, an exit is emitted there, and the final exit
    # repeats it: None. Deterministic for a given frame, but not for a given last bar.
    params = BollingerBiasParams(n=3, m=1.0, p=0.05)
    closes = [11.0, 11, 12, 8, 8, 12, 8]

    assert bollinger_bias(candles(closes), 0, None, params) == 0
    assert bollinger_bias(candles(closes[1:]), 0, None, params) is None
