"""Flattening an account through the journaled execution path (kill switch and drawdown halt).

:func:`flatten_account` cancels every working order, then closes what the account holds in its
traded instruments — contract positions AND spot balances (issue #16 QA item 1) — with explicit
reduce-only MARKET orders placed by the same :class:`trader.execution.Executor` the cycle uses:
every order gets our deterministic ``ox…`` clOrdId, is journaled before it is sent (``orders``),
and its fills are journaled (``fills``), so realised PnL, ``--report``, the monitor and the sweep
all see the closing trades (QA item 8). Positions outside the traded instruments or margin mode
(not ours to size) are closed with OKX ``close-position`` as before, and said so.

:func:`still_open` is what is left afterwards (contracts, and spot holdings of at least one
minimum order); :func:`record_order_fills` journals the fills of orders, also used by the cycle.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from exchange.errors import ExchangeError
from exchange.records import Order
from trader.context import TraderContext
from trader.diff import plan_legs
from trader.execution import Executor, LegOrder, LegOutcome
from trader.state import AccountState, fetch_state

__all__ = ["FlattenResult", "flatten_account", "record_order_fills", "still_open"]

log = logging.getLogger(__name__)


@dataclass
class FlattenResult:
    closed: list[str] = field(default_factory=list)  # one line per holding closed
    failed: list[str] = field(default_factory=list)  # one line per close that did not complete
    orders: list[Order] = field(default_factory=list)

    @property
    def detail(self) -> str:
        return "; ".join(self.closed + self.failed) or "no open position"


def _cancel_all(ctx: TraderContext) -> None:
    pending = ctx.client.pending_orders()
    for order in pending:
        try:
            ctx.client.cancel_order(order.inst_id, ord_id=order.ord_id)
        except ExchangeError as exc:  # filled or cancelled meanwhile
            log.warning("flatten: cancel %s: %s", order.ord_id, exc)
    if pending:
        log.warning("flatten: %d working order(s) cancelled", len(pending))


def _state(ctx: TraderContext) -> AccountState:
    return fetch_state(ctx.client, ctx.instruments, ctx.settings.margin_mode, ctx.equity_ccy, ctx.pool)


def _close_legs(ctx: TraderContext, state: AccountState) -> list[LegOrder]:
    legs: list[LegOrder] = []
    for inst_id, inst in ctx.instruments.items():
        plan = plan_legs(0, state.holding(inst_id), None, ctx.mode_for(inst_id), lot_sz=inst.lot_sz,
                         min_sz=inst.min_sz)  # fmt: skip
        if not plan.closes:
            continue
        last = ctx.public.ticker(inst_id).last
        for leg in plan.closes:
            legs.append(LegOrder(inst_id, leg, ctx.td_mode_for(inst_id), last, inst.tick_sz, inst.lot_sz,
                                 inst.min_sz, spot=not inst.is_contract))  # fmt: skip
    return legs


def _market_executor(ctx: TraderContext) -> Executor:
    """The cycle's executor, placing market orders: a flatten does not wait for a limit price."""
    market = ctx.settings.model_copy(update={"order_type": "market"})
    ex = ctx.executor
    return Executor(account=ctx.name, client=ex.client, public=ex.public, journal=ex.journal,
                    tracker=ex.tracker, settings=market, notifier=ex.notifier, alert=ex.alert)  # fmt: skip


def record_order_fills(ctx: TraderContext, orders: Iterable[Order]) -> None:
    """Journal the fills of ``orders`` (per order, so more executions than one page all land)."""
    filled = [o for o in orders if o.acc_fill_sz > 0 and o.ord_id]
    for fills in ctx.pool.map(lambda o: ctx.client.fills(o.inst_id, ord_id=o.ord_id), filled):
        ctx.journal.record_fills(fills)


def _describe(out: LegOutcome) -> tuple[str, bool]:
    lo = out.leg_order
    side = "spot" if lo.spot else (lo.leg.pos_side or ("long" if lo.leg.direction > 0 else "short"))
    if out.done:
        return f"{lo.inst_id} {side} {out.filled} closed at market", True
    why = str(out.error) if out.error is not None else "unresolved" if out.unresolved else "not filled"
    return f"{lo.inst_id} {side}: {out.filled} of {out.sz} closed ({why})", False


def flatten_account(ctx: TraderContext, bar_close: datetime, until: datetime | None = None) -> FlattenResult:
    """Cancel every working order and close every holding at market, journaled under the bar
    that closed at ``bar_close``. Raises :class:`ExchangeError` if OKX cannot be read."""
    result = FlattenResult()
    _cancel_all(ctx)
    state = _state(ctx)
    outcomes = _market_executor(ctx).execute(bar_close, _close_legs(ctx, state), until)
    for out in outcomes:
        line, ok = _describe(out)
        (result.closed if ok else result.failed).append(line)
        result.orders.extend(out.orders)
    for pos in state.foreign:  # not a traded instrument or margin mode: OKX closes it whole
        side = pos.pos_side if pos.pos_side in ("long", "short") else None
        ctx.client.close_position(pos.inst_id, pos.mgn_mode, side)
        result.closed.append(f"{pos.inst_id} {pos.pos_side} {pos.pos} ({pos.mgn_mode}, not traded) closed")
    try:
        record_order_fills(ctx, result.orders)
    except ExchangeError as exc:  # the orders are journaled; the sweep picks their fills up later
        log.warning("flatten: fills not read yet: %s", exc)
    return result


def still_open(ctx: TraderContext) -> list[str]:
    """What OKX still reports held: any contract position, and spot balances of the traded
    instruments worth at least one minimum order (less is dust that cannot be sold)."""
    state = _state(ctx)
    left = [f"{p.inst_id} {p.pos}" for p in (*state.positions, *state.foreign)]
    for inst_id, inst in ctx.instruments.items():
        held = state.holding(inst_id).long
        if not inst.is_contract and held >= max(inst.min_sz, inst.lot_sz):
            left.append(f"{inst_id} {held} {inst.base_ccy}")
    return left
