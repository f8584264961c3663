"""Making positions converge to the standing targets, bar after bar (the cycle's seams).

- :func:`prepare` (start of every cycle, before anything is sent): resolve the orders the
  journal left open, sweep OKX for ``ox…`` orders and fills registered late
  (:mod:`trader.sweep`), and name the instruments that still have an unresolved order — they are
  not traded this bar (a new attempt only once the old one is proven absent).
- :func:`record_targets`: a strategy's non-``None`` target becomes the standing target.
- :func:`effective_decisions`: ``None`` -> the standing target; instruments with an unresolved
  order or in backoff are skipped (with the reason); the standing sizes to reuse.
- :func:`after_bar`: was each standing target reached? Count misses and failed bars (the
  backoff), alert ``target_not_reached`` every ``target_alert_bars`` missed bars.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from core.intervals import Interval
from exchange.errors import ExchangeError
from trader.context import TraderContext
from trader.execution import LegOutcome
from trader.signals import Decision
from trader.standing import alert_due, apply_standing, reached, retry_due
from trader.state import AccountState
from trader.sweep import sweep

__all__ = ["after_bar", "effective_decisions", "prepare", "record_targets", "work_deadline"]

log = logging.getLogger(__name__)


def work_deadline(bar_close: datetime, interval: Interval) -> datetime:
    """When a bar stops being current: no order of it is worked after this (the next bar's
    cycle, due at the next close, takes over from the standing targets)."""
    margin = timedelta(seconds=min(5.0, interval.seconds / 10))
    return bar_close + interval.delta - margin


def prepare(ctx: TraderContext, until: datetime | None = None) -> set[str]:
    """Recover open orders (waiting up to ``until`` for a proof of absence) and sweep late ones;
    the instruments still blocked by an open order."""
    ctx.tracker.recover(until)
    try:
        sweep(ctx.client, ctx.journal, ctx.tracker, ctx.alert)
    except ExchangeError as exc:  # the next cycle sweeps again; open orders still block below
        log.warning("sweep of late orders failed: %s", exc)
    return {row.inst_id for row in ctx.journal.open_orders()}


def record_targets(ctx: TraderContext, bar_close: datetime, decisions: list[Decision]) -> None:
    """Store each new (non-``None``) strategy target as the standing target."""
    now = ctx.clock.now()
    for d in decisions:
        if d.ok and d.target is not None:
            ctx.targets.set(d.inst_id, d.strategy, d.target, "strategy", now, bar_close)


def effective_decisions(
    ctx: TraderContext, bar_close: datetime, decisions: list[Decision], blocked: set[str]
) -> tuple[list[Decision], dict[str, Decimal]]:
    """The decisions to trade this bar, and the standing sizes (inst -> size) they reuse."""
    standing = ctx.targets.all()
    out: list[Decision] = []
    sizes: dict[str, Decimal] = {}
    for d in apply_standing(decisions, standing):
        held = standing.get(d.inst_id)
        if d.ok and d.inst_id in blocked:
            reason = "an earlier order is still unresolved at OKX: not traded until it is"
            ctx.alert("order_unresolved", reason, d.inst_id, bar_close)
            d = replace(d, skipped=reason)
        elif d.ok and held is not None and not retry_due(held, bar_close, ctx.account.interval_obj.delta):
            d = replace(d, skipped=f"backing off after {held.fails} failed bar(s) in a row")
        if held is not None and held.size is not None and held.target == d.target:
            sizes[d.inst_id] = held.size
        out.append(d)
    return out, sizes


def after_bar(
    ctx: TraderContext,
    bar_close: datetime,
    decisions: list[Decision],
    outcomes: list[LegOutcome],
    state: AccountState,
    no_new_exposure: bool = False,
) -> None:
    """Count misses and failures per standing target; alert the targets not reached — except,
    under the daily-loss limit (``no_new_exposure``), a long/short target: the limit is the
    reason, alerted once (``risk_daily_loss``), not every ``target_alert_bars`` bars all day."""
    failed = {o.leg_order.inst_id for o in outcomes if o.error is not None or o.unresolved}
    every = ctx.settings.target_alert_bars
    standing = ctx.targets.all()
    alerts: list[tuple[str, str]] = []
    with ctx.journal.transaction():
        for d in decisions:
            held = standing.get(d.inst_id)
            if held is None or d.inst_id not in ctx.instruments:
                continue
            inst = ctx.instruments[d.inst_id]
            dust = Decimal(0) if inst.is_contract else max(inst.min_sz, inst.lot_sz)
            ok = reached(held.target, state.holding(d.inst_id), held.size, ctx.mode_for(d.inst_id), dust=dust)
            misses = ctx.targets.record_bar(
                d.inst_id, reached=ok, failed=d.inst_id in failed, bar_close=bar_close
            )
            if alert_due(misses, every) and not (no_new_exposure and held.target != 0):
                why = f"; this bar: {d.skipped}" if d.skipped else ""
                alerts.append((d.inst_id, f"target {held.target} not reached for {misses} bar(s){why}"))
        for inst_id, message in alerts:
            ctx.alert("target_not_reached", message, inst_id, bar_close)
