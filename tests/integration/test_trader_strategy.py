"""The strategy the trader's integration tests trade (no tests here).

``test_target`` returns the target the test wrote into the last bar's ``volume``: 1 -> long,
2 -> short, 3 -> flat, anything else -> keep. Importing this module registers it; a subprocess
trader imports it from its config file (light imports only: it starts many processes).
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
from pydantic import Field

from strategies.registry import StrategyParams, register

__all__ = ["STRATEGY", "VOLUME", "test_target"]

STRATEGY = "test_target"
CODES = {1: 1, 2: -1, 3: 0}
VOLUME = {1: Decimal(1), -1: Decimal(2), 0: Decimal(3), None: Decimal(9)}


class TargetParams(StrategyParams):
    lookback: int = Field(2, ge=1)


@register(STRATEGY, TargetParams, lookback=lambda p: p.lookback)
def test_target(
    df: pd.DataFrame, now_pos: int, avg_price: Decimal | None, params: TargetParams
) -> int | None:
    """The target the test wrote into the last bar's volume."""
    return CODES.get(int(df["volume"].iloc[-1]))


test_target.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
