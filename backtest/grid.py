"""A parameter grid for one strategy, run across every core, ranked.

``{"n": [20, 50, 100], "m": [1.5, 2, 2.5]}`` is the 9 points of the cross product. Every point is
validated before anything starts (one bad combination is an error naming it), all points trade
the same bars (the range starts where the point with the longest lookback can start), and each
runs in a worker process of a :class:`concurrent.futures.ProcessPoolExecutor` (one per core by
default). Workers get the candles once, when they start, not once per point.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from backtest.data import Candles, window
from backtest.engine import Lane
from backtest.funding import FundingRates
from backtest.metrics import Metrics
from backtest.model import BacktestError, make_strategy_run
from backtest.runner import Request, execute, validate
from exchange.records import Instrument

__all__ = ["GridPoint", "parse_grid", "rank", "run_grid"]


@dataclass(frozen=True)
class GridPoint:
    params: dict[str, Any]
    metrics: Metrics


def parse_grid(text: str, base: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The parameter sets of a grid given as JSON ``{"name": [values...]}`` over ``base``."""
    try:
        grid = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BacktestError(f"--grid is not valid JSON: {exc}") from None
    if not isinstance(grid, dict) or not grid:
        raise BacktestError('--grid must be a JSON object of lists, e.g. {"n": [20, 50], "m": [1.5, 2]}')
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise BacktestError(f"--grid: {key!r} must be a non-empty list of values, got {values!r}")
    keys = list(grid)
    return [{**base, **dict(zip(keys, combo, strict=True))} for combo in itertools.product(*grid.values())]


_WORKER: dict[str, Any] = {}


def _init(config: str | None, candles: Candles, instrument: Instrument, funding: FundingRates) -> None:
    if config:  # a strategy defined in the config file registers itself when the file runs
        from config.loader import load_config

        load_config(Path(config), check_credentials=False, environ={})
    import strategies.vectorised  # noqa: F401

    _WORKER.update(candles=candles, instrument=instrument, funding=funding)


def _point(request: Request, max_leverage: Decimal) -> Metrics:
    strat = request.strategies[0]
    run = make_strategy_run(strat.name, strat.params, _WORKER["instrument"], strat.leverage, max_leverage)
    assert request.start is not None
    assert request.end is not None
    lane = Lane(run, window(_WORKER["candles"], request.start, request.end, run.lookback), _WORKER["funding"])
    return execute(request, [lane]).per_strategy[0]


def run_grid(
    request: Request,
    points: Sequence[dict[str, Any]],
    lane: Lane,
    *,
    max_leverage: Decimal,
    config: Path | None,
    workers: int | None = None,
) -> list[GridPoint]:
    """Every point of the grid on ``lane``'s candles and instrument, in parallel."""
    base = request.strategies[0]
    requests = [replace(request, strategies=(replace(base, params=p),)) for p in points]
    for r in requests:
        validate(r)
    candles, iv = lane.window.candles, request.interval
    lookbacks = [
        make_strategy_run(base.name, p, lane.run.instrument, base.leverage, max_leverage).lookback
        for p in points
    ]
    start: datetime = max(
        [request.start or candles.time(0)] + [candles.time(0) + iv.delta * (n - 1) for n in lookbacks]
    )
    end = request.end or candles.time(len(candles) - 1) + iv.delta
    for n in sorted(set(lookbacks)):  # a range the data lacks is reported here, not in a worker
        window(candles, start, end, n)
    requests = [replace(r, start=start, end=end) for r in requests]
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(
        max_workers=workers or os.cpu_count() or 1,
        mp_context=multiprocessing.get_context(method),
        initializer=_init,
        initargs=(str(config) if config else None, candles, lane.run.instrument, lane.funding),
    ) as pool:
        results = list(pool.map(_point, requests, [max_leverage] * len(requests)))
    return [GridPoint(dict(p), m) for p, m in zip(points, results, strict=True)]


def rank(points: Sequence[GridPoint]) -> list[GridPoint]:
    """Best first: by Sharpe, then total return."""
    return sorted(points, key=lambda p: (p.metrics.sharpe, p.metrics.total_return), reverse=True)
