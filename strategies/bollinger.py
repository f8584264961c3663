"""Bollinger-band strategies, ported rule for rule from the original framework's ``Signals.py``.

``bollinger`` is ``real_signal_simple_bolling`` and ``bollinger_bias`` is ``bolling_new``. Bands:
median = n-bar mean of close, std = n-bar *population* standard deviation (ddof = 0),
upper/lower = median ± m·std. The differences from the original are deliberate and only concern
failure: too little history or a missing close raises ``ValueError`` instead of quietly returning
``None`` forever (original bug 13), the input frame is never modified (the original added columns
to it), and the result is always ``1``, ``-1``, ``0`` or ``None`` (never a float or NaN).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Self

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from strategies.guard import window_closes
from strategies.plots import plots
from strategies.registry import StrategyParams, register

__all__ = ["BollingerBiasParams", "BollingerParams", "bollinger", "bollinger_bias", "bollinger_lines"]


class BollingerParams(StrategyParams):
    n: int = Field(200, ge=2, strict=True, description="bars in the moving mean and std")
    m: float = Field(2.0, gt=0, allow_inf_nan=False, strict=True, description="band width in std")

    @model_validator(mode="after")
    def _bands_reachable(self) -> Self:
        # A close is at most sqrt(n - 1) population stds from the mean of the n closes it is part
        # of, so with n <= m**2 + 1 it can never be beyond a band: the strategy could never enter.
        if self.n <= self.m**2 + 1:
            raise ValueError(
                f"with n={self.n} and m={self.m} no close can ever break out of the bands "
                f"(a close is at most sqrt(n - 1) std from the mean); use n > m**2 + 1"
            )
        return self


class BollingerBiasParams(BollingerParams):
    p: float = Field(
        0.01,
        gt=0,
        allow_inf_nan=False,
        strict=True,
        description="enter only while |close / median - 1| <= p",
    )


@register("bollinger", BollingerParams, lookback=lambda p: p.n + 1)
def bollinger(
    df: pd.DataFrame, now_pos: int, avg_price: Decimal | None, params: BollingerParams
) -> int | None:
    """Bollinger breakout: long above the upper band, short below the lower, flat on the median.

    Looks at the last two bars only (t and t-1), each with its full n-bar bands, so it needs n + 1
    closed bars. Rules, first match wins:

    1. close_t > upper_t and close_t-1 <= upper_t-1 → 1  (breaks out above the upper band)
    2. close_t < lower_t and close_t-1 >= lower_t-1 → -1 (breaks out below the lower band)
    3. close_t < median_t and close_t-1 >= median_t-1 → 0 (crosses down through the median)
    4. close_t > median_t and close_t-1 <= median_t-1 → 0 (crosses up through the median)
    5. otherwise → None

    The exits (0) are returned whatever is held, as in the original; ``now_pos`` and
    ``avg_price`` are not used.
    """
    n, m = params.n, params.m
    closes = window_closes(df, n + 1)
    # The n-bar windows ending at t-1 and at t. Computed directly on the window rather than with
    # pandas' running rolling sums, so the answer depends only on these n + 1 closes.
    prev_window, last_window = closes[:-1], closes[1:]
    median_prev, median = float(prev_window.mean()), float(last_window.mean())
    std_prev, std = float(prev_window.std(ddof=0)), float(last_window.std(ddof=0))
    upper_prev, upper = median_prev + m * std_prev, median + m * std
    lower_prev, lower = median_prev - m * std_prev, median - m * std
    close_prev, close = float(closes[-2]), float(closes[-1])

    if close > upper and close_prev <= upper_prev:
        return 1
    if close < lower and close_prev >= lower_prev:
        return -1
    if close < median and close_prev >= median_prev:
        return 0
    if close > median and close_prev <= median_prev:
        return 0
    return None


# The original computed bolling_new over the whole history it was given (500-odd bars), so its
# answer can depend on where that history starts: the bands of the first n - 1 bars use partial
# windows (min_periods=1), and an entry waits for the bias filter for as long as its breakout
# stays the latest event. Here too the answer is a deterministic function of the frame received.
# lookback = 2n: n - 1 bars of band warm-up, then n + 1 bars with full n-bar bands, so the last n
# bars can each produce a real band event that the final bar may still act on.
@register("bollinger_bias", BollingerBiasParams, lookback=lambda p: 2 * p.n)
def bollinger_bias(
    df: pd.DataFrame, now_pos: int, avg_price: Decimal | None, params: BollingerBiasParams
) -> int | None:
    """Bollinger breakout that enters only near the median (bias filter), exits on the median.

    Over the whole frame (bands with ``min_periods=1``; bias = |close / median - 1|):

    1. Each bar's event: 1 for a breakout above the upper band, -1 below the lower band, 0 for a
       cross of the median (a breakout that also crosses the median counts as the breakout).
    2. An event equal to the previous event is dropped; the latest remaining event is the state.
    3. A bar emits 0 when it has a (kept) exit event; otherwise, while the state is 1 or -1, it
       emits the state if its bias <= p — so an entry may fire bars after its breakout, once the
       price is back within p of the median. Other bars emit nothing.
    4. An emission equal to the previous emission is dropped: each entry fires once, and an exit
       that follows another exit (its entry never passed the filter) is swallowed.

    Note that a bar which crosses the median *and* breaks the opposite band is only an entry
    (the original summed 0 and ±1), so under the filter it does not exit the held side either.

    Returns the last bar's emission: 1, -1, 0, or None when that bar emits nothing.
    ``now_pos`` and ``avg_price`` are not used.
    """
    n, m, p = params.n, params.m, params.p
    closes = window_closes(df, 2 * n, take_all=True)
    series = pd.Series(closes)
    median_ = series.rolling(n, min_periods=1).mean().to_numpy()
    std = series.rolling(n, min_periods=1).std(ddof=0).to_numpy()
    # Plain lists of floats: the loop visits every bar, and numpy scalars are slow one at a time.
    close: list[float] = closes.tolist()
    median: list[float] = median_.tolist()
    upper: list[float] = (median_ + m * std).tolist()
    lower: list[float] = (median_ - m * std).tolist()
    bias: list[float] = np.abs(closes / median_ - 1).tolist()

    last_event: int | None = None  # the original's forward-filled 'signal2'
    last_emitted: int | None = None
    emitted: int | None = None
    for t in range(1, len(close)):
        c, c1 = close[t], close[t - 1]
        signal_long: int | None = None
        if c > upper[t] and c1 <= upper[t - 1]:
            signal_long = 1
        if c < median[t] and c1 >= median[t - 1]:
            signal_long = 0
        signal_short: int | None = None
        if c < lower[t] and c1 >= lower[t - 1]:
            signal_short = -1
        if c > median[t] and c1 <= median[t - 1]:
            signal_short = 0
        event = _merge(signal_long, signal_short)

        # Step 2. (Given step 4 it changes no result; kept so the port reads like the original.)
        kept = event if event is not None and event != last_event else None
        if kept is not None:
            last_event = kept

        candidate: int | None = None
        if kept == 0:
            candidate = 0
        elif last_event in (1, -1) and bias[t] <= p:
            candidate = last_event

        emitted = candidate if candidate is not None and candidate != last_emitted else None
        if emitted is not None:
            last_emitted = emitted
    return emitted


def _merge(signal_long: int | None, signal_short: int | None) -> int | None:
    # The original summed the two columns with min_count=1: None + None is None.
    if signal_long is None:
        return signal_short
    if signal_short is None:
        return signal_long
    return signal_long + signal_short


@plots("bollinger", "bollinger_bias")
def bollinger_lines(closes: pd.Series, params: BollingerParams) -> dict[str, pd.Series]:
    """The bands both strategies trade on: n-bar median and median ± m population stds."""
    median = closes.rolling(params.n).mean()
    std = closes.rolling(params.n).std(ddof=0)
    return {"median": median, "upper": median + params.m * std, "lower": median - params.m * std}
