"""Calling strategies safely, and the input checks strategies share.

:func:`run_strategy` is the only way the trader calls a strategy. It checks there is enough history,
hands the strategy a *copy* of the candles, checks afterwards that the strategy did not modify it,
and turns every failure — an exception, a mutated input, a return value that is not a target
position — into a :class:`core.errors.StrategyError` naming the strategy and the instrument, so the
trader skips that strategy for this bar and carries on with the others.

:func:`window_closes` is for strategy authors: the last closes as a float array, with a clear
``ValueError`` when there is too little history or a close is missing.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from core.errors import StrategyError
from strategies.registry import StrategyParams, StrategySpec

__all__ = ["run_strategy", "window_closes"]

_TARGETS = (1, -1, 0)


def window_closes(df: pd.DataFrame, need: int, *, take_all: bool = False) -> np.ndarray:
    """The last ``need`` closes (every close with ``take_all``) as a new float64 array.

    Raises ``ValueError`` if ``df`` has fewer than ``need`` rows or a close in the returned window
    is missing or not finite: too little or broken history is an error, never a silent ``None``.
    """
    if need < 1:
        raise ValueError(f"need must be >= 1, got {need}")
    if len(df) < need:
        raise ValueError(f"needs {need} closed bars, got {len(df)}")
    tail = df.iloc[-need:] if not take_all else df
    closes = np.array(tail["close"].to_numpy(dtype="float64", na_value=np.nan))
    bad = ~np.isfinite(closes)
    if bad.any():
        first = int(np.argmax(bad))
        labels = tail["candle_begin_time"] if "candle_begin_time" in tail else tail.index.to_series()
        when = labels.iloc[first]
        raise ValueError(
            f"close is {closes[first]} at bar {when} "
            f"({int(bad.sum())} bad close(s) in the {len(tail)} bars used)"
        )
    return closes


def run_strategy(
    spec: StrategySpec[Any],
    df: pd.DataFrame,
    now_pos: int,
    avg_price: Decimal | None,
    params: StrategyParams,
    inst_id: str,
) -> int | None:
    """Call ``spec.func`` on a copy of ``df``; the target position 1, -1, 0 or ``None`` (keep).

    Raises :class:`StrategyError` (never anything else for a strategy's fault) when ``df`` is
    shorter than the strategy's lookback, when the strategy raises, when it modifies the frame it
    was given, or when it returns anything but 1, -1, 0 or ``None``. Integer-valued numpy numbers
    and floats equal to a target are accepted and returned as ``int``; NaN (and ``pd.NA``) mean
    ``None``, as in the original framework, whose strategies returned ``df.iloc[-1]['signal']``.
    """
    name = spec.name
    try:
        need = spec.lookback(params)
    except Exception as exc:
        raise StrategyError(name, inst_id, f"lookback failed: {_describe(exc)}") from exc
    if len(df) < need:
        raise StrategyError(name, inst_id, f"needs {need} closed bars, got {len(df)}")

    work = df.copy(deep=True)
    try:
        value: object = spec.func(work, now_pos, avg_price, params)
    except Exception as exc:
        raise StrategyError(name, inst_id, _describe(exc)) from exc

    if not _same_frame(work, df):
        raise StrategyError(
            name, inst_id, "modified the candle DataFrame it was given (work on copies or Series)"
        )
    try:
        return _as_target(value)
    except ValueError as exc:
        raise StrategyError(name, inst_id, str(exc)) from None


def _describe(exc: Exception) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _same_frame(after: pd.DataFrame, before: pd.DataFrame) -> bool:
    # DataFrame.equals compares index, columns (and their order), dtypes and values (NaN == NaN).
    try:
        return isinstance(after, pd.DataFrame) and bool(after.equals(before))
    except Exception:  # a frame too broken to compare counts as modified
        return False


def _as_target(value: object) -> int | None:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, bool | np.bool_):
        raise ValueError(f"returned a boolean {value!r}; expected 1, -1, 0 or None")
    if isinstance(value, int | np.integer):
        if int(value) in _TARGETS:
            return int(value)
    elif isinstance(value, float | np.floating):
        if math.isnan(value):
            return None
        if value in _TARGETS:
            return int(value)
    raise ValueError(f"returned {value!r}; expected 1, -1, 0 or None")
