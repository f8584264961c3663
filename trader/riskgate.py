"""The trader's hooks for risk limits and the kill switch (issue #16), called from the cycle.

- :func:`halt_reason` — a halted account (drawdown breach or ``--flatten``) reports, never orders.
- :func:`check_limits` — after the bar's state is read: a drawdown breach flattens and halts, a
  daily-loss breach allows closes only; both are journaled and notified.
- :func:`clip_desired` — the size of one open clipped to the notional limits, with a warning.

The flatten itself is :func:`trader.flatten.flatten_account` (journaled market orders). Every
alert here goes through the journaled :class:`trader.alerts.Alerter` (table ``alerts``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from notify import events as ev
from trader.barreport import build_bar_report
from trader.context import TraderContext
from trader.flatten import FlattenResult, flatten_account
from trader.halt import HaltStore
from trader.risk import Action, clip_open, evaluate
from trader.state import AccountState, fetch_state
from trader.transfers import coin_values, transfers_since

__all__ = ["check_limits", "clip_desired", "halt_reason", "halted_report"]

log = logging.getLogger(__name__)


@contextmanager
def _store(ctx: TraderContext) -> Iterator[HaltStore]:
    """The account's halt store; what changed is pushed on (Redis mode: to Redis) when done."""
    store = HaltStore(ctx.journal.path)
    try:
        yield store
    finally:
        store.close()
        ctx.journal.state_changed()


def _flatten(ctx: TraderContext, store: HaltStore, bar_close: datetime) -> FlattenResult:
    """Flatten (an error here leaves it pending: the next, halted, bar retries it)."""
    done = flatten_account(ctx, bar_close)
    if not done.failed:
        store.flattened(done.detail, ctx.clock.now())
    return done


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
            done = _flatten(ctx, store, bar_close)
            ctx.alert("risk_halt", f"flatten while halted: {done.detail}", bar_close=bar_close)
    state = fetch_state(ctx.client, ctx.instruments, ctx.settings.margin_mode, ctx.equity_ccy, ctx.pool)
    equity = state.equity({}, ctx.instruments)
    note = f"HALTED: {reason} (`python -m trader {ctx.name} --resume` lifts it)"
    ctx.journal.set_cycle_status(bar_close, "skipped", ctx.clock.now(), equity=equity, reason=note)
    return build_bar_report(ctx.name, bar_close, equity, [], [], state, [note], [])


def check_limits(
    ctx: TraderContext, state: AccountState, prices: Mapping[str, Decimal], bar_close: datetime
) -> Action:
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
            ctx.journal.state_changed()  # the successor of a holder killed mid-flatten stays halted
            done = _flatten(ctx, store, bar_close)
            lift = f"`python -m trader {ctx.name} --resume` lifts the halt"
            message = f"{verdict.detail}; flattened ({done.detail}) and halted. {lift}"
            ctx.alert("risk_halt", message, bar_close=bar_close)
        elif verdict.action == "no_new_exposure":
            today = now.date().isoformat()
            if not any(k == "daily_loss" and at.startswith(today) for at, k, _ in store.events()):
                store.event("daily_loss", verdict.detail, now)
                ctx.alert(
                    "risk_daily_loss",
                    f"{verdict.detail}; no new exposure until 00:00 UTC: "
                    "targets needing it stay unreached today (not re-alerted)",
                    bar_close=bar_close,
                )
    return verdict.action


def clip_desired(
    ctx: TraderContext, inst_id: str, size: Decimal, price: Decimal, state: AccountState,
    prices: Mapping[str, Decimal], planned: Mapping[str, Decimal] | None = None,
) -> tuple[Decimal, str]:  # fmt: skip
    """``size`` clipped to max notional per instrument and max total leverage, and the reason
    ("" when not clipped; the caller journals it with the sized signal). Notified when clipped.
    ``planned``: sizes already planned this bar for other instruments — they count instead of
    what is held (QA item 4: several opens on one bar share the total leverage)."""
    limits = ctx.account.risk
    if limits.max_notional is None and limits.max_total_leverage is None:
        return size, ""
    inst = ctx.instruments[inst_id]
    other = Decimal(0)
    planned = planned or {}
    for other_id, holding in state.holdings.items():
        px = prices.get(other_id)
        if other_id != inst_id and px is not None and other_id in ctx.instruments:
            held = planned.get(other_id, holding.long + holding.short)
            other += held * ctx.instruments[other_id].contract_value * px
    clipped, reason = clip_open(
        limits, inst_id, size, price=price, contract_value=inst.contract_value, lot_sz=inst.lot_sz,
        min_sz=inst.min_sz, equity=state.equity(prices, ctx.instruments), other_notional=other,
    )  # fmt: skip
    if reason:
        ctx.alert("risk_clip", reason, inst_id)
    return clipped, reason
