"""Indicator series a strategy wants drawn on its chart (the monitor, later the backtester).

Next to a strategy, a plot function takes the closes and the strategy's validated params and
returns named series aligned with the closes (NaN where not yet defined)::

    @plots("sma_cross")
    def sma_lines(closes, params):
        return {"fast": closes.rolling(params.fast).mean(), "slow": closes.rolling(params.slow).mean()}

Pure and vectorised (pandas), like the strategies; a strategy without one simply draws nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from strategies.registry import get_strategy

__all__ = ["PLOTS", "PlotFunc", "plot_series", "plots"]

PlotFunc = Callable[[pd.Series, Any], dict[str, pd.Series]]
PLOTS: dict[str, PlotFunc] = {}


def plots(*names: str) -> Callable[[PlotFunc], PlotFunc]:
    """Decorator declaring ``func`` as the series to draw for the strategies ``names``."""

    def wrap(func: PlotFunc) -> PlotFunc:
        for name in names:
            PLOTS[name] = func
        return func

    return wrap


def plot_series(name: str, params: Mapping[str, Any], closes: pd.Series) -> dict[str, pd.Series]:
    """The series strategy ``name`` declares for ``closes``; ``{}`` if it declares none.

    Raises ``ValueError`` for an unknown strategy or invalid params (as the registry does)."""
    spec = get_strategy(name)  # also imports the built-in strategies, registering their plots
    func = PLOTS.get(name)
    if func is None:
        return {}
    return func(closes.reset_index(drop=True), spec.parse_params(params))
