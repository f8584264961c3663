"""The two order phases of a bar: closes first, then (equity re-read) sized opens.

Phase 1 (:func:`phase_closes`) flattens or closes the opposite side for every instrument whose
target asks for it, all in one batch. Phase 2 (:func:`phase_opens`) sizes each ``1``/``-1``
target from the equity split (:mod:`trader.sizing`), journals the size (a restart reuses it),
diffs it against the position OKX reports (:mod:`trader.diff`) and orders the opens and
adjustments in one batch. An open is never sent while the opposite side is still held.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from trader.context import TraderContext
from trader.diff import Leg, plan_legs
from trader.execution import LegOrder, LegOutcome
from trader.journal import SignalRow
from trader.riskgate import clip_desired
from trader.signals import Decision
from trader.sizing import SizingSpec, open_sizing_price, size_target, weight_factor
from trader.state import AccountState

__all__ = ["phase_closes", "phase_opens", "sizing_price"]

log = logging.getLogger(__name__)


def _leg_order(ctx: TraderContext, d: Decision, leg: Leg) -> LegOrder:
    inst = ctx.instruments[d.inst_id]
    assert d.signal_px is not None
    return LegOrder(
        size_px=sizing_price(ctx, d.signal_px),
        inst_id=d.inst_id,
        leg=leg,
        td_mode=ctx.td_mode_for(d.inst_id),
        signal_px=d.signal_px,
        tick_sz=inst.tick_sz,
        lot_sz=inst.lot_sz,
        min_sz=inst.min_sz,
        spot=not inst.is_contract,
    )


def sizing_price(ctx: TraderContext, signal_px: Decimal) -> Decimal:
    """Opens are sized at the worst price the first order accepts, not at the last close."""
    return open_sizing_price(signal_px, ctx.settings.slippage)


def _size(ctx: TraderContext, d: Decision, share: Decimal, skipped: list[str]) -> Decimal:
    inst = ctx.instruments[d.inst_id]
    assert d.signal_px is not None
    spec = SizingSpec(d.inst_id, inst.is_contract, inst.contract_value, inst.lot_sz, inst.min_sz)
    price = sizing_price(ctx, d.signal_px)
    weights = [s.weight for s in ctx.account.strategies]  # issue #16: Strategy(weight=...)
    result = size_target(
        spec,
        share=share * weight_factor(ctx.account.strategy(d.inst_id).weight, weights),
        leverage=ctx.leverage.get(d.inst_id, Decimal(1)),
        volatility_ratio=ctx.settings.volatility_ratio,
        price=price,
    )
    if not result.tradeable:
        log.warning("%s: not sized: %s", d.inst_id, result.reason)
        skipped.append(f"{d.inst_id}: {result.reason}")
    return result.size


def phase_closes(
    ctx: TraderContext,
    bar_close: datetime,
    decisions: list[Decision],
    state: AccountState,
    until: datetime | None = None,
) -> list[LegOutcome]:
    legs: list[LegOrder] = []
    for d in decisions:
        if not d.ok or d.target is None:
            continue
        inst = ctx.instruments[d.inst_id]
        plan = plan_legs(
            d.target,
            state.holding(d.inst_id),
            None,
            ctx.mode_for(d.inst_id),
            lot_sz=inst.lot_sz,
            min_sz=inst.min_sz,
        )
        for note in plan.notes:
            log.info("%s: %s", d.inst_id, note)
        legs.extend(_leg_order(ctx, d, leg) for leg in plan.closes)
    return ctx.executor.execute(bar_close, legs, until) if legs else []


def phase_opens(
    ctx: TraderContext,
    bar_close: datetime,
    decisions: list[Decision],
    state: AccountState,
    share: Decimal,
    desired_before: dict[str, Decimal],
    skipped: list[str],
    until: datetime | None = None,
) -> list[LegOutcome]:
    with ctx.journal.transaction():
        legs = _plan_opens(ctx, bar_close, decisions, state, share, desired_before, skipped)
    return ctx.executor.execute(bar_close, legs, until) if legs else []


def _plan_opens(
    ctx: TraderContext,
    bar_close: datetime,
    decisions: list[Decision],
    state: AccountState,
    share: Decimal,
    desired_before: dict[str, Decimal],
    skipped: list[str],
) -> list[LegOrder]:
    legs: list[LegOrder] = []
    prices = {x.inst_id: x.signal_px for x in decisions if x.signal_px is not None}
    planned: dict[str, Decimal] = {}  # sizes this bar's opens aim for: they share the total leverage
    for d in decisions:
        if not d.ok or d.target not in (1, -1) or d.signal_px is None:
            continue
        inst = ctx.instruments[d.inst_id]
        mode = ctx.mode_for(d.inst_id)
        if mode == "spot" and d.target == -1:
            continue  # spot cannot go short: handled as a close in phase 1
        holding = state.holding(d.inst_id)
        if (holding.short if d.target > 0 else holding.long) > 0:
            skipped.append(f"{d.inst_id}: close not complete, open left for the next bar")
            continue
        desired = desired_before.get(d.inst_id)
        if desired is None:
            desired = _size(ctx, d, share, skipped)
            desired, clipped = clip_desired(  # issue #16: max notional / total leverage
                ctx, d.inst_id, desired, sizing_price(ctx, d.signal_px), state, prices, planned
            )
            held = ctx.targets.get(d.inst_id)
            if held is not None and held.target == d.target:
                ctx.targets.set_size(d.inst_id, desired, ctx.clock.now())  # the standing size
            ctx.journal.record_signal(
                bar_close,
                SignalRow(
                    d.inst_id, d.strategy, holding.signed, d.target, d.signal_px, desired, "sized", clipped
                ),
                ctx.clock.now(),
            )
        if desired > 0:  # 0 = not sizeable: what is held stays (and counts as held)
            planned[d.inst_id] = desired
        plan = plan_legs(d.target, holding, desired, mode, lot_sz=inst.lot_sz, min_sz=inst.min_sz)
        for note in plan.notes:
            log.info("%s: %s", d.inst_id, note)
        legs.extend(_leg_order(ctx, d, leg) for leg in plan.adjustments)
    return legs
