"""Vectorised forms of the built-in strategies, for the backtester.

Each takes the whole history (the frame the per-bar function would get, just longer) and returns,
for every row ``i``, exactly what the per-bar function returns when the trader hands it the
``lookback`` rows ending at ``i``: 1, -1, 0, or NaN for ``None`` and for rows with too little
history. *Exactly* includes floating point: each form does the per-bar arithmetic in the same
order on the same windows (numpy reductions over sliding windows, pandas' rolling functions on
the same window), so a close sitting exactly on a band compares the same way in both. The
backtester checks a sample at run time; the tests check whole histories.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from strategies.bollinger import BollingerBiasParams, BollingerParams
from strategies.guard import window_closes
from strategies.registry import register_vectorised
from strategies.sma_cross import SmaCrossParams

__all__ = ["bollinger_bias_vectorised", "bollinger_vectorised", "sma_cross_vectorised"]

_CHUNK = 1 << 12  # windows per block: keeps the temporary (rows x window) arrays in the CPU cache


def _closes(df: pd.DataFrame) -> np.ndarray:
    return window_closes(df, 1, take_all=True) if len(df) else np.empty(0)


def _window_stats(closes: np.ndarray, n: int, *, std: bool) -> tuple[np.ndarray, np.ndarray]:
    """Mean (and population std) of every n-window, as ``window.mean()`` / ``.std(ddof=0)`` give
    them one window at a time; element ``k`` is the window ending at row ``k + n - 1``."""
    if len(closes) < n:
        return np.empty(0), np.empty(0)
    windows = sliding_window_view(closes, n)
    means = np.empty(len(windows))
    stds = np.empty(len(windows) if std else 0)
    for start in range(0, len(windows), _CHUNK):
        block = windows[start : start + _CHUNK]
        mean = block.mean(axis=1)
        means[start : start + len(block)] = mean
        if std:  # numpy's own std, given the mean it would compute itself (the same bits, one pass less)
            stds[start : start + len(block)] = block.std(axis=1, ddof=0, mean=mean[:, None])
    return means, stds


def _crossings(close: np.ndarray, line: np.ndarray, n: int, out_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows (index into the full history) where close crosses above / below ``line``.

    ``line[k]`` belongs to row ``k + n - 1``; a crossing at row ``t`` needs rows t and t-1."""
    up = np.zeros(out_len, dtype=bool)
    down = np.zeros(out_len, dtype=bool)
    if len(line) < 2:
        return up, down
    c, c1 = close[n:], close[n - 1 : -1]
    now, prev = line[1:], line[:-1]
    up[n:] = (c > now) & (c1 <= prev)
    down[n:] = (c < now) & (c1 >= prev)
    return up, down


@register_vectorised("bollinger")
def bollinger_vectorised(df: pd.DataFrame, params: BollingerParams) -> np.ndarray:
    """:func:`strategies.bollinger.bollinger` for every row (rules 1-5, first match wins)."""
    n, m = params.n, params.m
    close = _closes(df)
    out = np.full(len(close), np.nan)
    median, std = _window_stats(close, n, std=True)
    upper, lower = median + m * std, median - m * std
    above_upper, _ = _crossings(close, upper, n, len(close))
    _, below_lower = _crossings(close, lower, n, len(close))
    down_median, up_median = _crossings(close, median, n, len(close))[::-1]
    # Apply in reverse priority so the first matching rule wins.
    out[up_median | down_median] = 0
    out[below_lower] = -1
    out[above_upper] = 1
    return out


@register_vectorised("sma_cross")
def sma_cross_vectorised(df: pd.DataFrame, params: SmaCrossParams) -> np.ndarray:
    """:func:`strategies.sma_cross.sma_cross` for every row."""
    fast, slow = params.fast, params.slow
    close = _closes(df)
    out = np.full(len(close), np.nan)
    if len(close) < slow + 1:
        return out
    fast_mean, _ = _window_stats(close, fast, std=False)
    slow_mean, _ = _window_stats(close, slow, std=False)
    # Rows t >= slow: fast/slow means of the windows ending at t and at t-1.
    f_now, f_prev = fast_mean[slow - fast + 1 :], fast_mean[slow - fast : -1]
    s_now, s_prev = slow_mean[1:], slow_mean[:-1]
    out[slow:][(f_now > s_now) & (f_prev <= s_prev)] = 1
    out[slow:][(f_now < s_now) & (f_prev >= s_prev)] = -1
    return out


@register_vectorised("bollinger_bias")
def bollinger_bias_vectorised(df: pd.DataFrame, params: BollingerBiasParams) -> np.ndarray:
    """:func:`strategies.bollinger.bollinger_bias` for every row.

    The per-bar function runs a small state machine over the 2n bars it is given, with bands
    that warm up from the first of them, so each row's answer depends on its own window. This
    form builds every 2n-window at once (pandas' rolling functions applied column by column, as
    the per-bar function applies them), then steps the state machine over the 2n columns for all
    windows together."""
    n, m, p = params.n, params.m, params.p
    close = _closes(df)
    out = np.full(len(close), np.nan)
    width = 2 * n
    if len(close) < width:
        return out
    windows = sliding_window_view(close, width)
    for start in range(0, len(windows), _CHUNK // 4):
        block = np.ascontiguousarray(windows[start : start + _CHUNK // 4].T)  # (2n, rows)
        frame = pd.DataFrame(block)
        rolling = frame.rolling(n, min_periods=1)
        median = rolling.mean().to_numpy()
        std = rolling.std(ddof=0).to_numpy()
        rows = slice(start + width - 1, start + width - 1 + block.shape[1])
        out[rows] = _bias_machine(block, median, median + m * std, median - m * std, p)
    return out


def _bias_machine(
    close: np.ndarray, median: np.ndarray, upper: np.ndarray, lower: np.ndarray, p: float
) -> np.ndarray:
    """The per-bar state machine of ``bollinger_bias``, one column per window (NaN = None)."""
    rows = close.shape[1]
    bias = np.abs(close / median - 1)
    last_event = np.full(rows, np.nan)
    last_emitted = np.full(rows, np.nan)
    emitted = np.full(rows, np.nan)
    for t in range(1, close.shape[0]):
        c, c1 = close[t], close[t - 1]
        signal_long = np.where((c > upper[t]) & (c1 <= upper[t - 1]), 1.0, np.nan)
        signal_long[(c < median[t]) & (c1 >= median[t - 1])] = 0.0
        signal_short = np.where((c < lower[t]) & (c1 >= lower[t - 1]), -1.0, np.nan)
        signal_short[(c > median[t]) & (c1 <= median[t - 1])] = 0.0
        event = np.where(
            np.isnan(signal_long),
            signal_short,
            np.where(np.isnan(signal_short), signal_long, signal_long + signal_short),
        )
        kept = np.where(~np.isnan(event) & (event != last_event), event, np.nan)
        last_event = np.where(np.isnan(kept), last_event, kept)
        entry = ((last_event == 1) | (last_event == -1)) & (bias[t] <= p)
        candidate = np.where(kept == 0, 0.0, np.where(entry, last_event, np.nan))
        emitted = np.where(~np.isnan(candidate) & (candidate != last_emitted), candidate, np.nan)
        last_emitted = np.where(np.isnan(emitted), last_emitted, emitted)
    return emitted
