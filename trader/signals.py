"""From a marker and the candle CSVs to each strategy's target — never on stale data.

An instrument is read only if the marker says it is ``ok`` *and* its last candle is the bar that
just closed (:meth:`core.markers.Marker.is_ready`); the tail read from the CSV must end on that
bar too. Anything else is a skip with a data alert (``instrument_failed`` or ``stale_data``) —
the CSV is never read "anyway" (original bug 4). Only the tail each strategy needs is read
(``lookback`` rows). Strategies run through :func:`strategies.guard.run_strategy`, so a failing
strategy is skipped and the others run on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from bus.sources import BarSource
from config.schema import StrategySettings
from core.errors import DataError, StrategyError
from core.markers import Marker
from core.store import bars_to_frame
from strategies.guard import run_strategy
from strategies.registry import get_strategy
from trader.diff import Holding

__all__ = ["Decision", "decide"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    """A strategy's verdict for this bar: a target, or a skip with its reason."""

    inst_id: str
    strategy: str
    target: int | None = None
    signal_px: Decimal | None = None
    skipped: str = ""
    alert: str | None = None  # DataAlert kind, when the skip is a data problem

    @property
    def ok(self) -> bool:
        return not self.skipped


def _decide_one(
    strat: StrategySettings,
    marker: Marker,
    store: BarSource,
    interval: str,
    holding: Holding,
    entry: Decimal | None,
) -> Decision:
    inst, name = strat.inst_id, strat.name
    status = marker.status(inst)
    if status is None:
        return Decision(inst, name, skipped="not listed in the collector's marker", alert="instrument_failed")
    if not status.ok:
        reason = status.reason or "marked failed by the collector"
        return Decision(inst, name, skipped=f"collector failed: {reason}", alert="instrument_failed")
    if not marker.is_ready(inst):
        last = status.last_candle.isoformat() if status.last_candle else "none"
        return Decision(
            inst,
            name,
            alert="stale_data",
            skipped=f"marker's last candle {last} is not the bar that closed ({marker.bar_open.isoformat()})",
        )
    spec = get_strategy(name)
    params = spec.parse_params(strat.params)
    need = max(spec.lookback(params), 1)
    try:
        bars = store.tail(inst, interval, need)
    except (DataError, ValueError, ArithmeticError) as exc:  # a malformed row (Decimal raises its own)
        return Decision(inst, name, skipped=f"candle file unreadable: {exc!r}", alert="stale_data")
    if not bars or bars[-1].ts != marker.bar_open:
        last = bars[-1].ts.isoformat() if bars else "no rows"
        return Decision(
            inst,
            name,
            alert="stale_data",
            skipped=f"CSV ends at {last}, not at the bar that closed ({marker.bar_open.isoformat()})",
        )
    df = bars_to_frame(bars, store.tz)
    try:
        target = run_strategy(spec, df, holding.direction, entry, params, inst)
    except StrategyError as exc:
        log.error("%s", exc)
        return Decision(inst, name, skipped=str(exc))
    return Decision(inst, name, target=target, signal_px=bars[-1].close)


def decide(
    strategies: tuple[StrategySettings, ...],
    marker: Marker,
    store: BarSource,
    interval: str,
    holdings: dict[str, Holding],
    entries: dict[str, Decimal | None],
) -> list[Decision]:
    """One decision per configured strategy, in config order."""
    out = []
    for strat in strategies:
        decision = _decide_one(
            strat, marker, store, interval, holdings.get(strat.inst_id, Holding()), entries.get(strat.inst_id)
        )
        out.append(decision)
    return out
