"""Placing the legs of one bar: batch, poll to terminal, cancel and re-price, partial fills.

Per round (the first, then up to ``reprice_attempts`` re-prices):

1. every active leg gets a *new* clOrdId (next attempt number in the journal) and its intents
   are journaled in one transaction — before anything is sent (write-ahead);
2. all orders go out together (``batch-orders``, 20 per request), or one by one when
   ``batch=False`` (the benchmark's serial baseline);
3. acknowledgements are journaled; a rejection is journaled, notified and ends that leg for this
   bar; any other outcome is unknown and resolved by looking the clOrdId up (never by sending
   again): the order is followed if OKX has it; once its ``expTime`` has passed and OKX still
   does not know it, it is proven absent and the next round sends a new attempt; an order that
   cannot be proven either way stays unresolved (alerted, re-checked before the next bar);
4. orders are polled to a terminal state; limit orders still working after ``order_wait_s`` are
   cancelled, and what is left unfilled (``sz - accFillSz``, rounded to the lot) is re-priced from
   the ticker, further from the market each round.

Every order of the round is terminal before the next round starts and before the bar ends, so
the next bar's diff never races an order still working. A bar's orders are worked only while
the bar is current: no round starts after ``until`` (the next bar's cycle takes over from the
standing targets), and polling stops there (what is still working is cancelled).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from config.schema import TraderSettings
from exchange.errors import ExchangeError, InsufficientFunds, OrderRejected
from exchange.records import Order, OrderAck, OrderRequest
from notify import events as ev
from trader.clordid import make_cl_ord_id, parse
from trader.crashpoints import crashpoint
from trader.diff import Leg
from trader.journal import Journal, OrderIntent
from trader.ports import AccountPort, NotifierPort, PublicPort
from trader.sizing import floor_to_step, limit_price
from trader.tracking import OrderTracker

__all__ = ["Executor", "LegOrder", "LegOutcome"]

log = logging.getLogger(__name__)
Alert = Callable[..., None]
ZERO = Decimal(0)
_MARKET_WAIT_S = 5.0


@dataclass(frozen=True)
class LegOrder:
    """One leg to execute, with what pricing and rounding need."""

    inst_id: str
    leg: Leg
    td_mode: str  # cross | isolated | cash
    signal_px: Decimal
    tick_sz: Decimal
    lot_sz: Decimal
    min_sz: Decimal
    spot: bool = False
    size_px: Decimal | None = None  # the price an open was sized at (re-prices above it shrink it)


@dataclass
class LegOutcome:
    leg_order: LegOrder
    filled: Decimal = ZERO
    orders: list[Order] = field(default_factory=list)
    error: ExchangeError | None = None
    unresolved: bool = False
    late: bool = False  # not (fully) worked: its bar stopped being current
    retry: bool = False  # ``error`` proved the order absent: a new attempt may follow
    sz: Decimal = ZERO  # what the leg aims for: the leg's size, less what re-pricing higher cut

    def __post_init__(self) -> None:
        if self.sz == ZERO:
            self.sz = self.leg_order.leg.sz

    @property
    def remaining(self) -> Decimal:
        return self.sz - self.filled

    @property
    def done(self) -> bool:
        return self.remaining <= 0


class Executor:
    """Executes legs for one account; ``batch=False`` sends one order at a time."""

    def __init__(
        self,
        *,
        account: str,
        client: AccountPort,
        public: PublicPort,
        journal: Journal,
        tracker: OrderTracker,
        settings: TraderSettings,
        notifier: NotifierPort,
        batch: bool = True,
        alert: Alert | None = None,
    ) -> None:
        self.account = account
        self.client = client
        self.public = public
        self.journal = journal
        self.tracker = tracker
        self.clock = tracker.clock
        self.settings = settings
        self.notifier = notifier
        self.batch = batch
        self.alert: Alert = alert or (lambda *args, **kwargs: None)

    # ---- requests -------------------------------------------------------
    def _ord_type(self, lo: LegOrder) -> str:
        kind = self.settings.order_type
        if kind == "optimal_limit_ioc" and lo.spot:
            return "market"
        return kind

    def _ref_price(self, lo: LegOrder, round_no: int) -> Decimal:
        if round_no == 0:
            return lo.signal_px
        try:
            return self.public.ticker(lo.inst_id).last
        except ExchangeError as exc:
            log.warning("%s: ticker failed (%s); re-pricing from the signal price", lo.inst_id, exc)
            return lo.signal_px

    def _request(self, bar_close: datetime, out: LegOutcome, round_no: int) -> OrderRequest:
        lo, leg = out.leg_order, out.leg_order.leg
        attempt = self.journal.next_attempt(bar_close, lo.inst_id, leg.kind)
        ord_type = self._ord_type(lo)
        px = None
        ref = self._ref_price(lo, round_no)
        if ord_type == "limit":
            px = limit_price(ref, leg.side, self.settings.slippage, lo.tick_sz, round_no)
        worst = px if px is not None else ref * (1 + self.settings.slippage)
        if leg.kind == "open" and lo.size_px is not None and round_no and worst > lo.size_px:
            # Re-pricing above the price the open was sized at: shrink it to the same notional.
            cut = floor_to_step(out.remaining * lo.size_px / worst, lo.lot_sz)
            log.info("%s: re-priced to %s above the sizing price %s: %s -> %s", lo.inst_id, worst,
                     lo.size_px, out.remaining, cut)  # fmt: skip
            self.journal.reduce_desired(bar_close, lo.inst_id, out.remaining - cut, self.clock.now())
            out.sz = out.filled + cut
        return OrderRequest(
            inst_id=lo.inst_id,
            td_mode=lo.td_mode,
            side=leg.side,
            ord_type=ord_type,
            sz=floor_to_step(out.remaining, lo.lot_sz),
            cl_ord_id=make_cl_ord_id(self.account, lo.inst_id, bar_close, leg.kind, attempt),
            px=px,
            pos_side=leg.pos_side,
            reduce_only=leg.reduce_only,
            tgt_ccy="base_ccy" if lo.spot and ord_type == "market" else None,
            exp_time=self.clock.now() + timedelta(seconds=self.settings.order_exp_s),
        )

    def _intent(self, bar_close: datetime, req: OrderRequest, leg: Leg, attempt: int) -> OrderIntent:
        return OrderIntent(
            cl_ord_id=req.cl_ord_id,
            bar_close=bar_close,
            inst_id=req.inst_id,
            leg=leg.kind,
            attempt=attempt,
            side=req.side,
            pos_side=req.pos_side,
            ord_type=req.ord_type,
            td_mode=req.td_mode,
            sz=req.sz,
            px=req.px,
            reduce_only=req.reduce_only,
            exp_at=req.exp_time,
        )

    def _send(self, reqs: Sequence[OrderRequest]) -> list[OrderAck | ExchangeError]:
        if self.batch and len(reqs) > 1:
            return self.client.place_orders(reqs)
        results: list[OrderAck | ExchangeError] = []
        for req in reqs:
            try:
                results.append(self.client.place_order(req))
            except ExchangeError as exc:
                results.append(exc)
        return results

    # ---- one round ---------------------------------------------------------
    def _journal_result(
        self, out: LegOutcome, req: OrderRequest, result: OrderAck | ExchangeError, working: dict[str, str]
    ) -> bool:
        """Journal an ack or a rejection (True), or mark the outcome unknown (False)."""
        now = self.clock.now()
        cl = req.cl_ord_id
        if isinstance(result, OrderAck):
            self.journal.mark_acked(cl, result.ord_id, now)
            working[cl] = req.inst_id
            out.error, out.retry = None, False
            return True
        if isinstance(result, OrderRejected):  # a per-order refusal: no order exists
            log.warning("%s %s %s rejected: %s", self.account, req.inst_id, cl, result)
            self.journal.mark_rejected(cl, result.code, result.msg, now)
            out.error = result
            kind = "margin_shortfall" if isinstance(result, InsufficientFunds) else "order_rejected"
            self.alert(kind, f"{cl}: OKX {result.code}: {result.msg}", req.inst_id, notify=False)
            self.notifier.notify(ev.OrderRejected(self.account, req.inst_id, cl, result.code, result.msg))
            return True
        log.warning("%s %s %s: outcome unknown (%s); looking it up", self.account, req.inst_id, cl, result)
        self.journal.mark_unknown(cl, str(result), now)
        return False

    def _resolve_unknown(
        self,
        out: LegOutcome,
        req: OrderRequest,
        result: ExchangeError,
        working: dict[str, str],
        until: datetime,
    ) -> None:
        """Ask OKX about an id whose outcome is unknown — never send it again (no transaction open)."""
        cl = req.cl_ord_id
        proof_at = self.tracker.absent_after(self.journal.order(cl))
        wait_until = min(proof_at, until) if proof_at is not None else until
        order = self.tracker.resolve(req.inst_id, cl, wait_until=wait_until)
        if order is not None:
            working[cl] = req.inst_id
            return
        row = self.journal.order(cl)
        if row is not None and row.status == "not_placed":
            out.error, out.retry = result, True  # proven absent: the next round sends a new attempt
            self.alert(
                "order_failed",
                f"{cl}: not placed ({result}); proven absent at OKX, so a new attempt may follow",
                req.inst_id,
            )
            return
        out.unresolved = True
        out.error = result
        self.alert(
            "order_unresolved",
            f"{cl}: outcome unknown ({result}); not found at OKX yet, re-checked before the next bar",
            req.inst_id,
        )

    def _round(self, bar_close: datetime, active: list[LegOutcome], round_no: int, until: datetime) -> None:
        reqs: list[OrderRequest] = []
        for out in active:
            reqs.append(self._request(bar_close, out, round_no))
        intents = [
            self._intent(bar_close, req, out.leg_order.leg, parse(req.cl_ord_id).attempt)
            for req, out in zip(reqs, active, strict=True)
        ]
        self.journal.record_intents(intents, self.clock.now())
        crashpoint("after_intent")
        results = self._send(reqs)
        crashpoint("after_send")
        working: dict[str, str] = {}
        by_cl: dict[str, LegOutcome] = {}
        unknown: list[tuple[LegOutcome, OrderRequest, ExchangeError]] = []
        with self.journal.transaction():
            for out, req, result in zip(active, reqs, results, strict=True):
                by_cl[req.cl_ord_id] = out
                if not self._journal_result(out, req, result, working):
                    assert isinstance(result, ExchangeError)
                    unknown.append((out, req, result))
        crashpoint("after_ack")
        for out, req, error in unknown:
            self._resolve_unknown(out, req, error, working, until)
        if not working:
            return
        limit = any(r.ord_type == "limit" for r in reqs if r.cl_ord_id in working)
        wait_s = self.settings.order_wait_s if limit else _MARKET_WAIT_S
        known = self.tracker.wait_terminal(working, min(until, self.clock.now() + timedelta(seconds=wait_s)))
        if not all(cl in known and known[cl].is_terminal for cl in working):
            known = self.tracker.settle(working, known)
            crashpoint("after_cancel")
        for cl in working:
            order = known.get(cl)
            out = by_cl[cl]
            if order is None or not order.is_terminal:
                out.unresolved = True  # left open in the journal: recovered before the next bar
                if order is not None:
                    out.filled += order.acc_fill_sz
                    out.orders.append(order)
                continue
            out.filled += order.acc_fill_sz
            out.orders.append(order)

    @staticmethod
    def _more_to_do(out: LegOutcome) -> bool:
        if (out.error is not None and not out.retry) or out.unresolved:
            return False
        lo = out.leg_order
        return floor_to_step(out.remaining, lo.lot_sz) >= max(lo.min_sz, lo.lot_sz)

    def execute(
        self, bar_close: datetime, legs: Sequence[LegOrder], until: datetime | None = None
    ) -> list[LegOutcome]:
        """Execute ``legs`` (all of the same phase) to completion, or until ``until`` (when the
        bar stops being current); one outcome per leg."""
        outcomes = [LegOutcome(lo) for lo in legs]
        end = until or datetime.max.replace(tzinfo=UTC)
        for round_no in range(self.settings.reprice_attempts + 1):
            active = [o for o in outcomes if self._more_to_do(o)]
            if not active:
                break
            if self.clock.now() >= end:
                log.warning("%s: bar %s is no longer current: %d leg(s) left to the next bar",
                            self.account, bar_close.isoformat(), len(active))  # fmt: skip
                for out in active:
                    out.late = True
                break
            if round_no:
                log.info("%s: re-pricing %d leg(s), round %d", self.account, len(active), round_no)
            self._round(bar_close, active, round_no, end)
        return outcomes
