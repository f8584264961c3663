"""From a request (an account of the config, or one strategy) to a finished run with its figures.

:func:`prepare` validates the strategies, reads the instruments from the configured exchange
(``ctVal``, ``lotSz``, ``minSz``, ``tickSz``, max leverage: what the trader sizes with), and
loads the candle CSVs; a range the files do not hold is fetched first: newer bars through the
collector's own backfill (:class:`collector.backfill.Backfiller`, progress bar included), bars
older than a CSV's first row backwards into the backtest's history cache
(:func:`backtest.history.extend_back`) — or, with ``fetch=False`` or when the exchange cannot
supply them, the run stops with a message naming the gap.
:func:`execute` runs the bar loop and computes the metrics per strategy and for the account.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np

from backtest.data import Candles, MissingRange, Window, load_candles, window
from backtest.engine import Lane, RunResult, run_backtest
from backtest.funding import fetch_funding, load_funding
from backtest.history import HISTORY_DIR, extend_back
from backtest.metrics import Metrics, compute_metrics
from backtest.model import BacktestError, RunSettings, StrategyRun, make_strategy_run
from backtest.targets import Method, make_source
from collector.backfill import Backfiller
from collector.plan import CollectPlan
from config.schema import FleetConfig
from core.clock import Clock
from core.intervals import Interval
from core.store import CandleStore
from exchange.errors import ExchangeError
from exchange.public import PublicClient
from exchange.records import Instrument
from strategies.registry import get_strategy
from trader.sizing import weight_factor

__all__ = ["Outcome", "Request", "StrategyRequest", "execute", "prepare"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StrategyRequest:
    inst_id: str
    name: str
    params: Mapping[str, Any]
    leverage: Decimal = Decimal(1)
    weight: Decimal = Decimal(1)  # Strategy(weight=...): its share relative to the account's others


@dataclass(frozen=True)
class Request:
    label: str  # the account name, or "<strategy>-<inst>-<interval>"
    interval: Interval
    strategies: tuple[StrategyRequest, ...]
    settings: RunSettings
    start: datetime | None = None  # first bar open (default: as early as the data allows)
    end: datetime | None = None  # exclusive (default: the end of the data)
    method: Method = "auto"


@dataclass
class Outcome:
    request: Request
    result: RunResult
    account: Metrics
    per_strategy: list[Metrics]
    lanes: list[Lane] = field(default_factory=list)

    @property
    def start(self) -> datetime:
        w = self.lanes[0].window
        return w.candles.time(w.first)


def validate(request: Request) -> None:
    """Strategy names and parameters, before anything is fetched."""
    if not request.strategies:
        raise BacktestError(f"{request.label}: no strategies to backtest")
    for s in request.strategies:
        try:
            spec = get_strategy(s.name)
        except ValueError as exc:
            raise BacktestError(str(exc)) from None
        try:
            spec.parse_params(s.params)
        except ValueError as exc:
            raise BacktestError(f"strategy {s.name!r}: bad params {dict(s.params)}: {exc}") from None


def instruments(public: PublicClient, inst_ids: Sequence[str]) -> dict[str, Instrument]:
    out = {}
    for inst_id in inst_ids:
        try:
            out[inst_id] = public.instrument(inst_id)
        except ExchangeError as exc:
            raise BacktestError(f"{inst_id}: cannot read the instrument from the exchange: {exc}") from None
    return out


def _backfill(
    cfg: FleetConfig, store: CandleStore, public: PublicClient, clock: Clock, request: Request,
    need_from: datetime, progress: bool | None,
) -> None:  # fmt: skip
    insts = tuple(sorted({s.inst_id for s in request.strategies}))
    plan = CollectPlan(tz=cfg.candle_timezone, instruments={request.interval: insts})
    now = clock.now()
    span = max(now - need_from, request.interval.delta) + request.interval.delta
    log.info(
        "fetching the missing %s candles of %s through the collector's backfill", request.interval, insts
    )
    report = Backfiller(plan, store, public, clock, span=span, progress=progress).run(now)
    if report.failed:
        detail = "; ".join(f"{i}: {why}" for i, why in sorted(report.failed.items()))
        raise BacktestError(f"the backfill of the missing range failed: {detail}")


def _fetch_funding(
    cfg: FleetConfig, public: PublicClient, runs: Sequence[StrategyRun], windows: Sequence[Window]
) -> None:
    """Bring each swap's funding history file up to date for the run (see
    :func:`backtest.funding.fetch_funding`). The exchange failing is not fatal: the run pays the
    flat rate where the file has no settlement, and says so (report and log)."""
    for run, w in zip(runs, windows, strict=True):
        if run.instrument.inst_type != "SWAP":
            continue
        try:
            added = fetch_funding(public, cfg.data_dir, run.inst_id, w.candles.time(w.first))
        except ExchangeError as exc:
            log.warning("%s: funding-rate history not fetched (%s); the flat rate fills what "
                        "the file lacks", run.inst_id, exc)  # fmt: skip
            continue
        if added:
            log.info("%s: %d funding settlement(s) added from OKX's funding-rate history", run.inst_id, added)


def _windows(candles: Mapping[str, Candles], runs: Sequence[StrategyRun], request: Request) -> list[Window]:
    iv = request.interval
    start = request.start
    if start is None:  # the first bar every strategy has its lookback for
        start = max(
            c.time(0) + iv.delta * (r.lookback - 1) for r, c in ((r, candles[r.inst_id]) for r in runs)
        )
    end = request.end
    if end is None:
        end = min(c.time(len(c) - 1) + iv.delta for c in candles.values())
    return [window(candles[r.inst_id], start, end, r.lookback) for r in runs]


def _starts_after(store: CandleStore, inst_id: str, iv: Interval, when: datetime) -> bool:
    """The CSV exists and its first bar opens after ``when``."""
    first = store.first_time(inst_id, iv)
    return first is not None and when < first


def prepare(
    cfg: FleetConfig,
    request: Request,
    *,
    public: PublicClient,
    clock: Clock,
    fetch: bool = True,
    progress: bool | None = None,
) -> list[Lane]:
    """Validated strategies with their instruments, candles and funding, ready to run."""
    validate(request)
    insts = instruments(public, [s.inst_id for s in request.strategies])
    weights = [s.weight for s in request.strategies]
    try:
        factors = [weight_factor(s.weight, weights) for s in request.strategies]
    except ValueError as exc:
        raise BacktestError(f"{request.label}: {exc}") from None
    runs = [
        make_strategy_run(s.name, s.params, insts[s.inst_id], s.leverage, cfg.max_leverage, factor)
        for s, factor in zip(request.strategies, factors, strict=True)
    ]
    store = CandleStore(cfg.candles_dir, cfg.candle_timezone)
    cache = CandleStore(cfg.data_dir / HISTORY_DIR, cfg.candle_timezone)  # history older than the CSVs
    stores = {r.inst_id: store for r in runs}
    iv, lookback = request.interval, max(r.lookback for r in runs)
    need_from = (request.start or clock.now()) - iv.delta * lookback
    for attempt in (1, 2, 3):
        try:
            candles = {r.inst_id: load_candles(stores[r.inst_id], r.inst_id, iv) for r in runs}
            windows = _windows(candles, runs, request)
            break
        except MissingRange as exc:
            if not fetch:
                raise BacktestError(f"{exc} (fetching is off: run without --no-fetch)") from None
            if attempt == 3:
                raise BacktestError(
                    f"{exc} (still missing after fetching: the exchange has no such bars)"
                ) from None
            if request.start is not None:  # bars before the CSVs' first rows: fetched backwards
                older = [
                    r.inst_id for r in runs
                    if stores[r.inst_id] is store and _starts_after(store, r.inst_id, iv, need_from)
                ]  # fmt: skip
                if older:
                    for inst_id in older:
                        extend_back(store, cache, public, inst_id, iv, need_from, progress=progress)
                        stores[inst_id] = cache
                    continue
            # no --from: as much history as the collector keeps (COLLECTOR.history_bars), at least
            # twice the lookback
            first = request.start or clock.now() - iv.delta * max(cfg.collector.history_bars, 2 * lookback)
            _backfill(cfg, store, public, clock, request, first - iv.delta * lookback, progress)
            for inst_id in [i for i, st in stores.items() if st is cache]:  # re-copy the new rows
                extend_back(store, cache, public, inst_id, iv, need_from, progress=progress)
    if fetch:
        _fetch_funding(cfg, public, runs, windows)
    fallback = request.settings.costs.funding_rate
    return [
        Lane(r, w, load_funding(cfg.data_dir, r.inst_id, fallback))
        for r, w in zip(runs, windows, strict=True)
    ]


def execute(
    request: Request, lanes: Sequence[Lane], *, sizing_equity: Mapping[datetime, Decimal] | None = None
) -> Outcome:
    """Run the bar loop and compute the metrics."""
    sources = [make_source(lane.run, lane.window, request.method) for lane in lanes]
    result = run_backtest(lanes, request.settings, sources=sources, sizing_equity=sizing_equity)
    return Outcome(request, result, *figures(result, request.interval), lanes=list(lanes))


def figures(result: RunResult, interval: Interval) -> tuple[Metrics, list[Metrics]]:
    """Metrics of the account and of each strategy (its equal share of the starting equity)."""
    n = len(result.lanes)
    share = float(result.initial) / n
    exposed_any = np.any(np.vstack([lane.exposed for lane in result.lanes]), axis=0)
    account = compute_metrics(
        np.concatenate([[float(result.initial)], result.equity]),
        bar_seconds=interval.seconds,
        trips=[t.net for lane in result.lanes for t in lane.trips],
        exposed=exposed_any,
        fees=sum((lane.fees for lane in result.lanes), Decimal(0)),
        funding=sum((lane.funding for lane in result.lanes), Decimal(0)),
        final=result.final,
    )
    per = [
        compute_metrics(
            np.concatenate([[share], lane.value]),
            bar_seconds=interval.seconds,
            trips=[t.net for t in lane.trips],
            exposed=lane.exposed,
            fees=lane.fees,
            funding=lane.funding,
            final=result.initial / n + lane.final_pnl,
        )
        for lane in result.lanes
    ]
    return account, per
