"""Where each bar's target comes from: the per-bar function, or its vectorised form, checked.

:class:`ReplaySource` calls the strategy exactly as the trader does — through
:func:`strategies.guard.run_strategy`, on a fresh frame of the ``lookback`` rows ending at the bar,
with the position and entry price the simulated account holds — so a strategy that reads
``now_pos`` or ``avg_price`` is replayed faithfully.

:class:`VectorisedSource` takes the strategy's vectorised form (whole history in, a target per bar
out) and proves it at run time: on a sample of bars (random ones and the first bars where it
signals) the per-bar function is called too, and any disagreement stops the run with a
:class:`~backtest.model.BacktestError` naming the bar and both answers.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Literal, Protocol

import numpy as np
import pandas as pd

import strategies.vectorised  # noqa: F401  (registers the built-in vectorised forms)
from backtest.data import Window
from backtest.model import BacktestError, StrategyRun
from strategies.guard import run_strategy

__all__ = ["Method", "ReplaySource", "TargetSource", "VectorisedSource", "make_source"]

Method = Literal["auto", "vectorised", "replay"]
SAMPLE = 128  # bars checked per run (see _sample_rows)


class TargetSource(Protocol):
    method: str

    def target(self, k: int, now_pos: int, entry: Decimal | None) -> int | None:
        """The strategy's target at traded bar ``k``; raises StrategyError like the guard."""
        ...


class ReplaySource:
    method = "replay"

    def __init__(self, run: StrategyRun, window: Window) -> None:
        self.run = run
        self.window = window
        self.need = run.lookback

    def target(self, k: int, now_pos: int, entry: Decimal | None) -> int | None:
        row = self.window.first + k
        df = self.window.frame.iloc[row - self.need + 1 : row + 1].reset_index(drop=True)
        return run_strategy(self.run.spec, df, now_pos, entry, self.run.params, self.run.inst_id)


class VectorisedSource:
    method = "vectorised"

    def __init__(self, run: StrategyRun, window: Window, values: np.ndarray, sample: int = SAMPLE) -> None:
        self.run = run
        self.window = window
        self.values = values
        self.replay = ReplaySource(run, window)
        traded = values[window.first : window.first + window.count]
        self.checks = _sample_rows(traded, sample)
        self.checked = 0
        self._checks = np.fromiter(sorted(self.checks), np.int64, len(self.checks))
        # per target value, the bars where the form gives it (the standing target changes only there)
        self._at = {v: np.flatnonzero(traded == v) for v in (-1, 0, 1)}
        self._any = np.flatnonzero(~np.isnan(traded))
        # where the standing target changes if no per-bar check is skipped, and the checks
        self.filled = filled = pd.Series(traded).ffill().to_numpy()
        before = np.concatenate([[np.nan], filled[:-1]])
        self.changes = np.union1d(np.flatnonzero(~np.isnan(traded) & (traded != before)), self._checks)

    def next_event(self, k: int, standing: int | None) -> int:
        """The first traded bar >= ``k`` where this source does something: a target other than
        ``standing`` (``None``: any target), or a check against the per-bar function. Between
        ``k`` and that bar the standing target stays ``standing``."""
        ends = [_next(self._checks, k, self.window.count)]
        if standing is None:
            ends.append(_next(self._any, k, self.window.count))
        else:
            ends += [_next(self._at[v], k, self.window.count) for v in (-1, 0, 1) if v != standing]
        return min(ends)

    def fresh(self, k: int) -> bool:
        """The form gives a target (not ``None``) on traded bar ``k``."""
        return not math.isnan(self.values[self.window.first + k])

    def target(self, k: int, now_pos: int, entry: Decimal | None) -> int | None:
        value = self.values[self.window.first + k]
        mine = None if math.isnan(value) else int(value)
        if k in self.checks:
            theirs = self.replay.target(k, now_pos, entry)
            self.checked += 1
            if theirs != mine:
                when = self.window.candles.time(self.window.first + k).isoformat()
                raise BacktestError(
                    f"the vectorised form of {self.run.name!r} disagrees with the strategy on "
                    f"{self.run.inst_id} at the bar opening {when}: vectorised {mine}, per bar {theirs}; "
                    "fix the vectorised form or run with --method replay"
                )
        return mine


def _next(rows: np.ndarray, k: int, none: int) -> int:
    at = int(np.searchsorted(rows, k))
    return int(rows[at]) if at < len(rows) else none


def _sample_rows(values: np.ndarray, sample: int) -> set[int]:
    """The bars checked against the per-bar function, up to ``sample``: a quarter are the first
    bars where the form gives a target (its warm-up), three eighths random bars where it gives one
    (a target the per-bar function would not give) and three eighths random bars anywhere (mostly
    ``None`` bars: a target it misses). Seeded by the length: a run is repeatable."""
    if sample <= 0 or not len(values):
        return set()
    rng = np.random.default_rng(len(values))
    given = np.flatnonzero(~np.isnan(values))
    share = max(sample * 3 // 8, 1)
    picked = set(given[: max(sample // 4, 1)].tolist())
    if len(given):
        picked.update(rng.choice(given, size=min(share, len(given)), replace=False).tolist())
    picked.update(rng.choice(len(values), size=min(share, len(values)), replace=False).tolist())
    return picked


def make_source(run: StrategyRun, window: Window, method: Method, sample: int = SAMPLE) -> TargetSource:
    """The vectorised form when asked for or available (``auto``), else the per-bar replay."""
    form = run.spec.vectorised
    if method == "replay" or (method == "auto" and form is None):
        return ReplaySource(run, window)
    if form is None:
        raise BacktestError(f"strategy {run.name!r} has no vectorised form; use --method replay or auto")
    frame = window.frame.iloc[: window.first + window.count]
    try:
        values = np.asarray(form(frame, run.params), dtype=np.float64)
    except Exception as exc:
        raise BacktestError(f"the vectorised form of {run.name!r} failed on {run.inst_id}: {exc!r}") from exc
    if values.shape != (len(frame),):
        raise BacktestError(
            f"the vectorised form of {run.name!r} returned shape {values.shape}, expected ({len(frame)},)"
        )
    bad = ~np.isnan(values) & ~np.isin(values, (1.0, -1.0, 0.0))
    if bad.any():
        raise BacktestError(
            f"the vectorised form of {run.name!r} returned {values[bad][0]!r}; expected 1, -1, 0 or NaN"
        )
    return VectorisedSource(run, window, values, sample)
