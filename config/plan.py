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
    """Bars each interval needs and what the collector backfills for them.

    Every interval keeps its own history (``spans``): larger intervals are backfilled natively from
    OKX and then derived bar by bar, so the base CSV only needs its own history plus two bars of
    the largest interval (to derive a bin that is forming) — never a 1d account's 1,000 days of
    1m bars (1.44 M rows per instrument, issue 12 item 12)."""

    base: Interval
    bars_needed: dict[Interval, int]  # per interval: the largest strategy lookback
    spans: dict[Interval, timedelta]  # per interval: how far back the collector keeps it

    @property
    def span(self) -> timedelta:
        """How far back the collector keeps base candles."""
        return self.spans[self.base]

    @property
    def base_bars(self) -> int:
        return math.ceil(self.span.total_seconds() / self.base.seconds)

    def bars(self, iv: Interval) -> int:
        """Rows of ``iv`` the history holds."""
        return math.ceil(self.spans[iv].total_seconds() / iv.seconds)


def strategy_lookback(name: str, params: dict[str, object]) -> int:
    from strategies.registry import get_strategy

    spec = get_strategy(name)
    return spec.lookback(spec.parse_params(params))


def history_plan(cfg: FleetConfig) -> HistoryPlan:
    """History per interval: ``COLLECTOR.history_bars`` bars, or more if a strategy's lookback
    needs it; the base interval also covers two bars of the largest interval."""
    needed: dict[Interval, int] = {iv: 0 for iv in cfg.intervals}
    for acct in cfg.accounts.values():
        iv = acct.interval_obj
        for strat in acct.strategies:
            needed[iv] = max(needed[iv], strategy_lookback(strat.name, strat.params))
    spans = {iv: iv.delta * max(cfg.collector.history_bars, n + 1) for iv, n in needed.items()}
    base, largest = cfg.base_interval, cfg.intervals[-1]
    if largest != base:
        spans[base] = max(spans[base], largest.delta * 2)
    return HistoryPlan(base=base, bars_needed=needed, spans=spans)
