"""``e2e_regime``: a strategy for the fleet tests that always names a target (never ``None``).

Long while the fast SMA of close is at or above the slow one, short otherwise. With ``fast=2``,
``slow=4`` on 1m bars it flips every few bars, and because every bar restates the target, a
missed or partly filled order heals on the next clean bar — which is what lets the chaos test
compare final positions with the journal's last targets. Importing this module registers it;
the fleet tests' ``config.py`` imports it (light imports only: every fleet process loads it).
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
from pydantic import Field, model_validator

from strategies.guard import window_closes
from strategies.registry import StrategyParams, register

__all__ = ["REGIME", "RegimeParams", "e2e_regime"]

REGIME = "e2e_regime"


class RegimeParams(StrategyParams):
    fast: int = Field(2, ge=1, strict=True)
    slow: int = Field(4, ge=2, strict=True)

    @model_validator(mode="after")
    def _fast_below_slow(self) -> RegimeParams:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be smaller than slow ({self.slow})")
        return self


@register(REGIME, RegimeParams, lookback=lambda p: p.slow)
def e2e_regime(df: pd.DataFrame, now_pos: int, avg_price: Decimal | None, params: RegimeParams) -> int:
    """1 while the fast SMA of close is >= the slow SMA, else -1 (always a target)."""
    closes = window_closes(df, params.slow)
    return 1 if closes[-params.fast :].mean() >= closes.mean() else -1
