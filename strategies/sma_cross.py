"""Moving-average crossover: long when the fast SMA of close crosses above the slow one."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
from pydantic import Field, model_validator

from strategies.guard import window_closes
from strategies.plots import plots
from strategies.registry import StrategyParams, register

__all__ = ["SmaCrossParams", "sma_cross", "sma_lines"]


class SmaCrossParams(StrategyParams):
    fast: int = Field(10, ge=1, strict=True, description="bars in the fast SMA")
    slow: int = Field(40, ge=2, strict=True, description="bars in the slow SMA")

    @model_validator(mode="after")
    def _fast_below_slow(self) -> SmaCrossParams:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be smaller than slow ({self.slow})")
        return self


@register("sma_cross", SmaCrossParams, lookback=lambda p: p.slow + 1)
def sma_cross(
    df: pd.DataFrame, now_pos: int, avg_price: Decimal | None, params: SmaCrossParams
) -> int | None:
    """SMA crossover: 1 when fast crosses above slow, -1 when it crosses below, else None.

    With fast_t / slow_t the SMAs of the bars ending at t (the last bar) and t-1:

    1. fast_t > slow_t and fast_t-1 <= slow_t-1 → 1
    2. fast_t < slow_t and fast_t-1 >= slow_t-1 → -1
    3. otherwise → None

    Needs slow + 1 closed bars. ``now_pos`` and ``avg_price`` are not used.
    """
    fast, slow = params.fast, params.slow
    closes = window_closes(df, slow + 1)
    fast_now, fast_prev = float(closes[-fast:].mean()), float(closes[-fast - 1 : -1].mean())
    slow_now, slow_prev = float(closes[-slow:].mean()), float(closes[:-1].mean())
    if fast_now > slow_now and fast_prev <= slow_prev:
        return 1
    if fast_now < slow_now and fast_prev >= slow_prev:
        return -1
    return None


@plots("sma_cross")
def sma_lines(closes: pd.Series, params: SmaCrossParams) -> dict[str, pd.Series]:
    """The two SMAs whose cross is the signal."""
    return {
        f"sma{params.fast}": closes.rolling(params.fast).mean(),
        f"sma{params.slow}": closes.rolling(params.slow).mean(),
    }
