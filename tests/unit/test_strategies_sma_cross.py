"""``sma_cross``: every rule branch on hand-built candles, lookback and params."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategies.registry import get_strategy
from strategies.sma_cross import SmaCrossParams, sma_cross
from tests.unit.candle_frames import candles as _frame

NAN = float("nan")


def candles(closes: list[float]) -> pd.DataFrame:
    """Closed 5m candles, oldest first."""
    return _frame(closes, freq="5min")


def run(closes: list[float], fast: int = 2, slow: int = 4) -> int | None:
    return sma_cross(candles(closes), 0, None, SmaCrossParams(fast=fast, slow=slow))


# fast = 2, slow = 4; the comments give (fast, slow) at t-1 → t.
@pytest.mark.parametrize(
    ("closes", "expected"),
    [
        # (9.5, 10.5) → (11, 10.75)
        pytest.param([12, 11, 10, 9, 13], 1, id="crosses-above"),
        # (10, 10) → (11, 10.5): touching on t-1 counts as below
        pytest.param([10, 10, 10, 10, 12], 1, id="crosses-above-from-equal"),
        # (10.5, 9.5) → (9, 9.25)
        pytest.param([8, 9, 10, 11, 7], -1, id="crosses-below"),
        # (10, 10) → (9, 9.5)
        pytest.param([10, 10, 10, 10, 8], -1, id="crosses-below-from-equal"),
        # (12.5, 11.5) → (13.5, 12.5)
        pytest.param([10, 11, 12, 13, 14], None, id="stays-above"),
        # (11.5, 12.5) → (10.5, 11.5)
        pytest.param([14, 13, 12, 11, 10], None, id="stays-below"),
        # (9.5, 10.5) → (10.5, 10.5): touching is not crossing
        pytest.param([12, 11, 10, 9, 12], None, id="touches-from-below"),
        pytest.param([10, 10, 10, 10, 10], None, id="flat"),
    ],
)
def test_rules(closes: list[float], expected: int | None) -> None:
    result = run(closes)

    assert result == expected
    assert result is None or type(result) is int


def test_only_the_last_slow_plus_1_bars_matter() -> None:
    for prefix in ([], [1000.0], [NAN, 1.0]):
        assert run([*prefix, 12, 11, 10, 9, 13]) == 1


def test_fast_and_slow_are_the_windows() -> None:
    # 3 / 5 SMAs: (12, 12.4) → (12.67, 12.4) cross; 2 / 4: (12.5, 12.25) → (13, 12.25) no cross.
    closes = [13, 13, 11, 12, 13, 13]

    assert run(closes, fast=3, slow=5) == 1
    assert run(closes, fast=2, slow=4) is None


def test_matches_pandas_rolling_means_on_a_random_walk() -> None:
    rng = np.random.default_rng(3)
    close = pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 400))))
    df = candles(list(close))
    fast_sma, slow_sma = close.rolling(5).mean(), close.rolling(20).mean()
    above = fast_sma > slow_sma
    below = fast_sma < slow_sma
    params = SmaCrossParams(fast=5, slow=20)
    seen = set()

    for t in range(20, len(close)):
        expected = 1 if above[t] and not above[t - 1] else -1 if below[t] and not below[t - 1] else None
        assert sma_cross(df.iloc[: t + 1], 0, None, params) == expected, t
        seen.add(expected)

    assert seen == {1, -1, None}


def test_too_little_history_is_an_error() -> None:
    with pytest.raises(ValueError, match="needs 5 closed bars, got 4"):
        run([10, 10, 10, 12])


def test_lookback_is_slow_plus_1() -> None:
    spec = get_strategy("sma_cross")

    assert spec.lookback(spec.parse_params({"fast": 10, "slow": 40})) == 41


def test_nan_close_in_window_is_an_error() -> None:
    with pytest.raises(ValueError, match="close is nan"):
        run([10, 10, NAN, 10, 12])


def test_does_not_modify_its_input() -> None:
    df = candles([12, 11, 10, 9, 13])
    before = df.copy(deep=True)

    sma_cross(df, -1, None, SmaCrossParams(fast=2, slow=4))

    pd.testing.assert_frame_equal(df, before)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"fast": 40, "slow": 40}, "fast \\(40\\) must be smaller than slow \\(40\\)"),
        ({"fast": 50, "slow": 40}, "must be smaller than slow"),
        ({"slow": 10}, "fast \\(10\\) must be smaller than slow \\(10\\)"),
        ({"fast": 0, "slow": 5}, "param 'fast'"),
        ({"fast": 1, "slow": 1}, "param 'slow'"),
        ({"fast": "5", "slow": 20}, "param 'fast'"),
        ({"fast": 5, "slow": 20, "n": 3}, "param 'n': unknown parameter"),
    ],
)
def test_bad_params_are_rejected(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        get_strategy("sma_cross").parse_params(raw)


def test_good_params() -> None:
    params = get_strategy("sma_cross").parse_params({"fast": 1, "slow": 2})

    assert (params.fast, params.slow) == (1, 2)
    assert get_strategy("sma_cross").parse_params({}) == SmaCrossParams(fast=10, slow=40)
