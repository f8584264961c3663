"""The trader's hooks for risk limits and the kill switch (issue #16), called from the cycle.

- :func:`halt_reason` — a halted account (drawdown breach or ``--flatten``) reports, never orders.
- :func:`check_limits` — after the bar's state is read: a drawdown breach flattens and halts, a
  daily-loss breach allows closes only; both are journaled and notified.
- :func:`clip_desired` — the size of one open clipped to the notional limits, with a warning.
- :func:`flatten_account` — cancel working orders and close every position (also ``--flatten``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import closing
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from exchange.errors import ExchangeError
from notify import events as ev
from trader.barreport import build_bar_report
from trader.context import TraderContext
from trader.halt import HaltStore, flatten_positions
from trader.ports import AccountPort
from trader.risk import Action, clip_open, evaluate
from trader.state import AccountState, fetch_state
from trader.transfers import coin_values, transfers_since

__all__ = ["check_limits", "clip_desired", "flatten_account", "halt_reason", "halted_report"]

log = logging.getLogger(__name__)


def _store(ctx: TraderContext) -> closing[HaltStore]:
    return closing(HaltStore(ctx.journal.path))


def _alert(ctx: TraderContext, kind: str, detail: str, inst_id: str | None = None) -> None:
    log.warning("%s: %s", kind, detail)
    ctx.notifier.notify(ev.DataAlert(ctx.process, kind, detail, inst_id=inst_id))


def halt_reason(ctx: TraderContext) -> str:
    """Why the account is halted, or "" if it trades."""
    with _store(ctx) as store:
        state = store.load()
    return (state.reason or "halted") if state.halted else ""


def halted_report(ctx: TraderContext, bar_close: datetime, reason: str) -> ev.BarReport:
    """The bar of a halted account: journaled as skipped, reported (equity, positions), no order
    — except finishing a flatten that an error interrupted."""
    ctx.journal.start_cycle(bar_close, ctx.account.interval, ctx.clock.now())
    with _store(ctx) as store:
        if store.flatten_pending():
            closed = flatten_account(ctx.client)
            store.flattened("; ".join(closed) or "no open position", ctx.clock.now())
            _alert(ctx, "risk_halt", f"flatten finished while halted: {len(closed)} position(s) closed")
    state = fetch_state(ctx.client, ctx.instruments, ctx.settings.margin_mode, ctx.equity_ccy, ctx.pool)
    equity = state.equity({}, ctx.instruments)
    note = f"HALTED: {reason} (`python -m trader {ctx.name} --resume` lifts it)"
    ctx.journal.set_cycle_status(bar_close, "skipped", ctx.clock.now(), equity=equity, reason=note)
    return build_bar_report(ctx.name, bar_close, equity, [], [], state, [note], [])


def flatten_account(client: AccountPort) -> list[str]:
    """Cancel every working order and close every open position at market."""

    def cancel_all() -> int:
        pending = client.pending_orders()
        for order in pending:
            try:
                client.cancel_order(order.inst_id, ord_id=order.ord_id)
            except ExchangeError as exc:  # filled or cancelled meanwhile
                log.warning("flatten: cancel %s: %s", order.ord_id, exc)
        return len(pending)

    return flatten_positions(client.positions(), client.close_position, cancel_all)


def check_limits(ctx: TraderContext, state: AccountState, prices: Mapping[str, Decimal]) -> Action:
    """Apply the account's drawdown and daily-loss limits to this bar's equity."""
    limits = ctx.account.risk
    if limits.max_drawdown is None and limits.daily_loss is None:
        return "trade"
    now = ctx.clock.now()
    equity = state.equity(prices, ctx.instruments)
    with _store(ctx) as store:
        saved = store.load()
        values = coin_values(ctx.equity_ccy, ctx.instruments, prices)
        seen, moved = transfers_since(ctx.client, values, saved.bills_seen)  # transfers: not trading
        verdict = evaluate(limits, replace(saved, bills_seen=seen), equity, now, moved)
        store.save(verdict.state, now)
        if verdict.action == "halt":
            store.halt(f"max drawdown: {verdict.detail}", now)
            closed = flatten_account(ctx.client)  # an error here: the next (halted) bar retries it
            store.flattened("; ".join(closed) or "no open position", now)
            _alert(ctx, "risk_halt", f"{verdict.detail}; flattened ({len(closed)} position(s)) and halted. "
                   f"`python -m trader {ctx.name} --resume` lifts the halt")  # fmt: skip
        elif verdict.action == "no_new_exposure":
            today = now.date().isoformat()
            if not any(k == "daily_loss" and at.startswith(today) for at, k, _ in store.events()):
                store.event("daily_loss", verdict.detail, now)
                _alert(ctx, "risk_daily_loss", verdict.detail)
    return verdict.action


def clip_desired(
    ctx: TraderContext, inst_id: str, size: Decimal, price: Decimal, state: AccountState,
    prices: Mapping[str, Decimal],
) -> tuple[Decimal, str]:  # fmt: skip
    """``size`` clipped to max notional per instrument and max total leverage, and the reason
    ("" when not clipped; the caller journals it with the sized signal). Notified when clipped."""
    limits = ctx.account.risk
    if limits.max_notional is None and limits.max_total_leverage is None:
        return size, ""
    inst = ctx.instruments[inst_id]
    other = Decimal(0)
    for other_id, holding in state.holdings.items():
        px = prices.get(other_id)
        if other_id != inst_id and px is not None and other_id in ctx.instruments:
            other += (holding.long + holding.short) * ctx.instruments[other_id].contract_value * px
    clipped, reason = clip_open(
        limits, inst_id, size, price=price, contract_value=inst.contract_value, lot_sz=inst.lot_sz,
        min_sz=inst.min_sz, equity=state.equity(prices, ctx.instruments), other_notional=other,
    )  # fmt: skip
    if reason:
        _alert(ctx, "risk_clip", reason, inst_id)
    return clipped, reason
