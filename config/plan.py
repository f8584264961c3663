"""What a configuration implies: which intervals, how much history, what the collector fetches."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from config.schema import FleetConfig
from core.intervals import Interval

__all__ = ["HistoryPlan", "history_plan"]


@dataclass(frozen=True)
class HistoryPlan:
    """Bars each interval needs and what the collector backfills for them."""

    base: Interval
    bars_needed: dict[Interval, int]  # per interval: the largest strategy lookback
    span: timedelta  # how far back the collector keeps base candles

    @property
    def base_bars(self) -> int:
        return math.ceil(self.span.total_seconds() / self.base.seconds)


def strategy_lookback(name: str, params: dict[str, object]) -> int:
    from strategies.registry import get_strategy

    spec = get_strategy(name)
    return spec.lookback(spec.parse_params(params))


def history_plan(cfg: FleetConfig) -> HistoryPlan:
    """History needed per interval: every strategy's lookback, and at least
    ``COLLECTOR.history_bars`` bars of the largest interval."""
    needed: dict[Interval, int] = {iv: 0 for iv in cfg.intervals}
    for acct in cfg.accounts.values():
        iv = acct.interval_obj
        for strat in acct.strategies:
            needed[iv] = max(needed[iv], strategy_lookback(strat.name, strat.params))
    largest = cfg.intervals[-1]
    span = max(
        [largest.delta * cfg.collector.history_bars] + [iv.delta * (n + 1) for iv, n in needed.items()]
    )
    return HistoryPlan(base=cfg.base_interval, bars_needed=needed, span=span)
