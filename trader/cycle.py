"""One bar of one account: marker -> strategies -> targets -> diff -> orders -> report.

:func:`run_cycle` is what the service calls at every bar close and what tests call directly with
a fake clock. Steps, each journaled:

1. Orders the journal left open are resolved at OKX (looked up, cancelled if still working)
   and late-registered ``ox…`` orders and fills are swept in (:mod:`trader.convergence`)
   before anything new is sent; an instrument with an order still unresolved is not traded.
2. Wait (sleeping) for the collector's marker until ``marker_deadline_s`` after the close; none
   -> skip the bar with a ``marker_late`` alert. A bar past its deadline is never traded.
3. Positions and balance from OKX; each strategy runs on its instrument's fresh tail
   (:mod:`trader.signals`); targets are journaled (cycle status ``targets``) and each non-``None``
   one becomes the instrument's standing target; a ``None`` trades the standing target, so the
   position is diffed against it every bar.
4. Phase 1: the closes (flatten, or the first leg of a reverse) for every instrument, batched.
5. Phase 2: positions and equity re-read; equity split equally, each target sized
   (:mod:`trader.sizing`), and the opens/adjustments ordered, batched.
6. Fills journaled, standing targets checked (misses, backoff, alerts), the cycle marked
   ``done``, the bar report sent (per the report cadence). Orders are worked only until the next
   bar's cycle is due (:func:`work_deadline`). Every failure is alerted at once (:mod:`trader.alerts`).

Re-running a bar whose cycle reached ``targets`` (after a crash) reuses the journaled targets and
sizes and diffs them against OKX's positions again, so nothing is ordered twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from core.barlock import BarLock, lock_path
from core.intervals import Interval
from exchange.errors import ExchangeError
from notify import events as ev
from notify.format import ReportCadence
from trader.barreport import build_bar_report
from trader.context import TraderContext
from trader.convergence import after_bar, effective_decisions, prepare, record_targets, work_deadline
from trader.crashpoints import crashpoint
from trader.execution import LegOutcome
from trader.flatten import record_order_fills
from trader.journal import SignalRow
from trader.phases import phase_closes, phase_opens
from trader.riskgate import check_limits, halt_reason, halted_report
from trader.signals import Decision, decide
from trader.sizing import equity_share
from trader.state import AccountState, fetch_state

__all__ = ["CycleResult", "marker_deadline", "run_cycle", "work_deadline"]

log = logging.getLogger(__name__)
MARKER_POLL_S = 0.05  # one stat() per poll, sleeping in between: cheap, and the bar starts at once


@dataclass
class CycleResult:
    bar_close: datetime
    status: str  # done | skipped | stopped | already_done | halted
    decisions: list[Decision] = field(default_factory=list)
    outcomes: list[LegOutcome] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    equity: Decimal | None = None
    report: ev.BarReport | None = None

    @property
    def orders(self) -> list[str]:
        return [o.cl_ord_id for out in self.outcomes for o in out.orders]


def _skip_bar(ctx: TraderContext, bar_close: datetime, reason: str) -> CycleResult:
    ctx.journal.set_cycle_status(bar_close, "skipped", ctx.clock.now(), reason=reason)
    ctx.alert("bar_skipped", f"bar {bar_close.isoformat()} not traded: {reason}", bar_close=bar_close)
    return CycleResult(bar_close, "skipped", skipped=[reason])


def _journaled_decisions(
    ctx: TraderContext, bar_close: datetime
) -> tuple[list[Decision], dict[str, Decimal]]:
    rows = ctx.journal.signals(bar_close)
    decisions, desired = [], {}
    for strat in ctx.account.strategies:
        row = rows.get(strat.inst_id)
        if row is None:
            decisions.append(Decision(strat.inst_id, strat.name, skipped="no journaled decision"))
            continue
        skipped = row.reason if row.status == "skipped" else ""
        decisions.append(Decision(row.inst_id, row.strategy, row.target, row.signal_px, skipped=skipped))
        if row.desired is not None:
            desired[row.inst_id] = row.desired
    return decisions, desired


def _record_decisions_tx(
    ctx: TraderContext, bar_close: datetime, decisions: list[Decision], state: AccountState
) -> None:
    now = ctx.clock.now()
    for d in decisions:
        status = "skipped" if d.skipped else "target"
        row = SignalRow(
            d.inst_id,
            d.strategy,
            state.holding(d.inst_id).signed,
            d.target,
            d.signal_px,
            None,
            status,
            d.skipped,
        )
        ctx.journal.record_signal(bar_close, row, now)
        if d.alert:
            ctx.alert.data(d.alert, d.skipped, d.inst_id, ctx.account.interval)
        elif d.skipped:
            ctx.alert("strategy_error", d.skipped, d.inst_id, bar_close)
    record_targets(ctx, bar_close, decisions)
    ctx.journal.set_cycle_status(bar_close, "targets")


def _record_decisions(
    ctx: TraderContext, bar_close: datetime, decisions: list[Decision], state: AccountState
) -> None:
    with ctx.journal.transaction():
        _record_decisions_tx(ctx, bar_close, decisions, state)


def marker_deadline(bar_close: datetime, interval: Interval, deadline_s: float) -> datetime:
    """When to give up on a bar's marker: ``deadline_s`` after the close, but always before the
    next bar closes (a marker wait that ran into the next bar would make the trader skip that one
    too; a 90 s default on 1m bars would otherwise do exactly that)."""
    margin = timedelta(seconds=min(5.0, interval.seconds / 10))
    return bar_close + min(timedelta(seconds=deadline_s), interval.delta - margin)


def run_cycle(ctx: TraderContext, bar_close: datetime, cadence: ReportCadence | None = None) -> CycleResult:
    """Run (or resume) the cycle of the bar that closed at ``bar_close``, holding the account's
    bar lock (issue #16: the treasury moves this account's capital only between bars). The lock is
    waited for only until the bar's deadline; a bar it kept from running is skipped and alerted."""
    lock = BarLock(lock_path(ctx.cfg.data_dir, ctx.name))
    iv = ctx.account.interval_obj
    existing = ctx.journal.cycle(bar_close)
    deadline = marker_deadline(bar_close, iv, ctx.settings.marker_deadline_s)
    if existing is not None and existing.status == "targets":  # a resumed cycle: until the next bar
        deadline = bar_close + iv.delta
    if not lock.acquire(ctx.clock, max((deadline - ctx.clock.now()).total_seconds(), 0.0), stop=ctx.stop):
        if ctx.stop.is_set():  # never waited past the bar's deadline (QA item 5)
            return CycleResult(bar_close, "stopped")
        if existing is not None and existing.status in ("done", "skipped", "failed"):
            return CycleResult(bar_close, "already_done")
        ctx.journal.start_cycle(bar_close, iv.name, ctx.clock.now())
        return _skip_bar(ctx, bar_close, f"the account's bar lock ({lock.path.name}) stayed held past the "
                         "bar's deadline (a treasury transfer or --flatten running)")  # fmt: skip
    try:
        return _run_cycle(ctx, bar_close, cadence)
    finally:
        lock.release()


def _run_cycle(ctx: TraderContext, bar_close: datetime, cadence: ReportCadence | None) -> CycleResult:
    journal, clock, iv = ctx.journal, ctx.clock, ctx.account.interval_obj
    existing = journal.cycle(bar_close)
    if existing is not None and existing.status in ("done", "skipped", "failed"):
        return CycleResult(bar_close, "already_done")
    journal.before_bar(clock.now())  # issue #17: Redis mode applies queued operator commands
    halted = halt_reason(ctx)  # issue #16: a halted account keeps reporting, never orders
    if halted:
        report = halted_report(ctx, bar_close, halted)
        if cadence is None or cadence.due_for(report):
            ctx.notifier.notify(report)
        return CycleResult(bar_close, "halted", skipped=[halted], equity=report.equity, report=report)
    crashpoint("cycle_start")
    resume = existing is not None and existing.status == "targets"
    journal.start_cycle(bar_close, iv.name, clock.now())
    until = work_deadline(bar_close, iv)
    blocked = prepare(ctx, until)
    skipped: list[str] = []
    desired_before: dict[str, Decimal] = {}
    if resume:
        if clock.now() >= bar_close + iv.delta:
            return _skip_bar(ctx, bar_close, "resume window passed (the next bar has closed)")
        log.info("resuming the cycle of %s from its journaled targets", bar_close.isoformat())
        decisions, desired_before = _journaled_decisions(ctx, bar_close)
        state = fetch_state(ctx.client, ctx.instruments, ctx.settings.margin_mode, ctx.equity_ccy, ctx.pool)
    else:
        deadline = marker_deadline(bar_close, iv, ctx.settings.marker_deadline_s)
        if clock.now() > deadline:
            return _skip_bar(ctx, bar_close, "bar past its marker deadline: never traded late")
        marker = ctx.markers.wait(iv, bar_close, deadline, clock, ctx.stop, poll_s=MARKER_POLL_S)
        if marker is None:
            if ctx.stop.is_set():
                return CycleResult(bar_close, "stopped")
            detail = (
                f"no data_ready marker for the {iv.name} bar closing {bar_close.isoformat()} by the deadline"
            )
            ctx.alert.data("marker_late", detail, None, iv.name)
            return _skip_bar(ctx, bar_close, "marker late")
        state = fetch_state(ctx.client, ctx.instruments, ctx.settings.margin_mode, ctx.equity_ccy, ctx.pool)
        decisions = decide(ctx.account.strategies, marker, ctx.store, iv.name, state.holdings, state.entries)
        _record_decisions(ctx, bar_close, decisions, state)
    crashpoint("after_targets")
    decisions, standing_sizes = effective_decisions(ctx, bar_close, decisions, blocked)
    desired_before = {**standing_sizes, **desired_before}
    skipped.extend(f"{d.inst_id}: {d.skipped}" for d in decisions if d.skipped)
    # issue #16: drawdown -> flatten and halt; daily loss -> closes only
    prices = {d.inst_id: d.signal_px for d in decisions if d.signal_px is not None}
    action = check_limits(ctx, state, prices, bar_close)
    if action == "halt":
        journal.set_cycle_status(bar_close, "done", clock.now(), reason="risk halt: flattened and halted")
        return CycleResult(bar_close, "halted", decisions, skipped=["risk halt: flattened"])

    outcomes = phase_closes(ctx, bar_close, decisions, state, until)
    crashpoint("after_closes")
    if outcomes:
        state = fetch_state(ctx.client, ctx.instruments, ctx.settings.margin_mode, ctx.equity_ccy, ctx.pool)
    equity = state.equity(prices, ctx.instruments)
    share = equity_share(equity, len(ctx.account.strategies))
    if action == "no_new_exposure":  # issue #16: daily loss limit
        skipped.append("daily loss limit reached: no new exposure until 00:00 UTC")
    else:
        outcomes += phase_opens(ctx, bar_close, decisions, state, share, desired_before, skipped, until)
    for out in outcomes:
        if out.error is not None:
            skipped.append(f"{out.leg_order.inst_id}: {out.leg_order.leg.kind} failed: {out.error}")
        elif out.late:
            skipped.append(f"{out.leg_order.inst_id}: {out.leg_order.leg.kind} left: the bar is over")
    orders = [o for out in outcomes for o in out.orders]
    if orders:
        try:
            record_order_fills(ctx, orders)
            state = fetch_state(
                ctx.client, ctx.instruments, ctx.settings.margin_mode, ctx.equity_ccy, ctx.pool
            )
        except ExchangeError as exc:
            log.warning("after-trade refresh failed: %s", exc)
    after_bar(ctx, bar_close, decisions, outcomes, state, no_new_exposure=action == "no_new_exposure")
    crashpoint("before_done")
    journal.set_cycle_status(bar_close, "done", clock.now(), equity=equity)
    final_equity = state.equity(prices, ctx.instruments)
    spot_ids = [i for i, inst in ctx.instruments.items() if not inst.is_contract]
    report = build_bar_report(ctx.name, bar_close, final_equity, decisions, orders, state, skipped, spot_ids)
    if cadence is None or cadence.due_for(report):
        ctx.notifier.notify(report)
    log.info(
        "bar %s done: %d signal(s), %d order(s), %d skip(s), equity %s",
        bar_close.isoformat(),
        sum(1 for d in decisions if d.ok),
        len(orders),
        len(skipped),
        final_equity,
    )
    return CycleResult(bar_close, "done", decisions, outcomes, skipped, final_equity, report)
