"""Order execution: market fills, resting limit orders, cancels, amends and position closes.

Prices come from the :class:`MarketFeed`: ``last`` is the path price at the current second, the
book is one tick either side of it, and takers pay a deterministic slippage (0.02 %) capped at
their limit price. Resting orders fill at their limit price (maker) as soon as the path's low
(buy) or high (sell) since the last evaluation reaches it — completely, unless the instrument's
liquidity is limited (:mod:`simulator.venue`: at most ``max_fill_sz`` per order and simulated
second, which leaves orders ``partially_filled``). Fees: taker 0.05 %, maker 0.02 % (negative =
charged); swaps pay in USDT, spot in the currency received (:mod:`simulator.fills`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from simulator.accounts import ZERO, Account, MarkCache
from simulator.catalogue import Instrument
from simulator.feed import MarketFeed
from simulator.fills import MAKER_FEE, TAKER_FEE, apply_fill, finish
from simulator.orders import Ids, Order
from simulator.validation import OrderRequest, Rejected, check_lot
from simulator.venue import Venue

__all__ = ["IOC_LIKE", "MAKER_FEE", "SLIPPAGE", "TAKER_FEE", "Engine"]

log = logging.getLogger(__name__)

SLIPPAGE = Decimal("0.0002")
IOC_LIKE = frozenset({"market", "ioc", "fok", "optimal_limit_ioc"})  # never rest


def _round(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    return (value / step).to_integral_value(rounding=rounding) * step


class Engine:
    """The matching engine; all methods run on the server loop (no locking needed)."""

    def __init__(self, feed: MarketFeed, ids: Ids | None = None, venue: Venue | None = None) -> None:
        self.feed = feed
        self.ids = ids or Ids()
        self.venue = venue or Venue()

    # -- prices ----------------------------------------------------------------------------
    def last(self, inst: Instrument, now: int) -> Decimal:
        return self.feed.price(inst, now // 1000 * 1000)

    def book(self, inst: Instrument, now: int) -> tuple[Decimal, Decimal]:
        """(best bid, best ask): one tick either side of the last price."""
        last = self.last(inst, now)
        return max(last - inst.tick_sz, inst.tick_sz), last + inst.tick_sz

    def taker_px(self, inst: Instrument, side: str, now: int) -> Decimal:
        last = self.last(inst, now)
        if side == "buy":
            return _round(last * (1 + SLIPPAGE), inst.tick_sz, ROUND_CEILING)
        return max(_round(last * (1 - SLIPPAGE), inst.tick_sz, ROUND_FLOOR), inst.tick_sz)

    def mark_fn(self, now: int) -> MarkCache:
        """Mark prices (= last swap price) memoised for one instant."""
        return MarkCache(self.last, now)

    # -- placing ---------------------------------------------------------------------------
    def place(self, acct: Account, req: OrderRequest, now: int) -> Order:
        """Validate against the account, then execute or rest; raises :class:`Rejected`."""
        inst = req.inst
        self.check_tradable(acct, inst, req.td_mode)
        if req.cl_ord_id and any(o.cl_ord_id == req.cl_ord_id for o in acct.pending()):
            raise Rejected("51016")
        marketable, exec_px = self._execution(req, now)
        sz, req_sz = req.sz, ""
        if not inst.is_swap and req.ord_type == "market" and req.tgt_ccy == "quote_ccy":
            req_sz = str(req.sz)
            sz = _round(req.sz / exec_px, inst.lot_sz, ROUND_FLOOR)
            check_lot(inst, sz)
        ref_px = req.px if req.px is not None else exec_px  # OKX freezes limits at their price
        frozen, frozen_ccy = self._reserve(acct, req, sz, ref_px, now)
        lever = ""
        if inst.is_swap:
            lever = str(acct.get_lever(inst, req.td_mode, req.pos_side))
        order = Order(
            account=acct.name, ord_id=self.ids.order(), cl_ord_id=req.cl_ord_id, tag=req.tag,
            inst=inst, td_mode=req.td_mode, side=req.side, pos_side=req.pos_side,
            ord_type=req.ord_type, sz=sz, px=req.px, reduce_only=req.reduce_only,
            tgt_ccy=req.tgt_ccy, lever=lever, c_time=now, u_time=now, checked_ms=now,
            req_sz=req_sz, frozen=frozen, frozen_ccy=frozen_ccy, liq_sec=now // 1000 - 1,
        )
        acct.orders.append(order)
        if marketable and req.ord_type == "post_only":
            finish(order, "canceled", now)  # it would take liquidity
        elif marketable:
            self._take(acct, order, exec_px, now)
        elif req.ord_type in IOC_LIKE:
            finish(order, "canceled", now)
        return order

    def check_tradable(self, acct: Account, inst: Instrument, td_mode: str) -> None:
        """The instrument is live and the account's mode may trade it (``51001`` / ``51010``)."""
        if not self.venue.tradable(inst):
            raise Rejected("51001", msg=f"Instrument ID {inst.inst_id} is not available for "
                           f"trading (state {self.venue.state_of(inst)}).")
        if (inst.is_swap and acct.acct_lv == "1") or (
            td_mode == "isolated" and acct.acct_lv in {"3", "4"}
        ):
            raise Rejected("51010")

    def _take(self, acct: Account, order: Order, exec_px: Decimal, now: int) -> None:
        """A marketable order takes what liquidity allows now; IOC-like kinds cancel the rest."""
        want = order.sz - order.acc_fill_sz
        qty = self.venue.available(order.inst, order.liq_sec, now, want)
        if order.ord_type == "fok" and qty < want:
            finish(order, "canceled", now)
            return
        if qty > 0:
            apply_fill(self.ids, acct, order, qty, exec_px, maker=False, now=now)
            order.liq_sec = now // 1000
        if order.is_pending and order.ord_type in IOC_LIKE:
            finish(order, "canceled", now)  # what the book could not fill (OKX: IOC-style)

    def _execution(self, req: OrderRequest, now: int) -> tuple[bool, Decimal]:
        exec_px = self.taker_px(req.inst, req.side, now)
        if req.px is None:
            return True, exec_px
        bid, ask = self.book(req.inst, now)
        if req.side == "buy":
            return req.px >= ask, min(req.px, exec_px)
        return req.px <= bid, max(req.px, exec_px)

    def _open_part(self, acct: Account, req: OrderRequest, sz: Decimal) -> Decimal:
        """Contracts that open exposure (need margin); checks reduce-only / close rules."""
        pos = acct.position(req.inst, req.pos_side)
        qty = pos.qty if pos else ZERO
        direction = 1 if req.side == "buy" else -1
        if acct.long_short:
            if not req.closing:
                return sz
            pending = sum(
                (o.sz for o in acct.pending() if o.inst is req.inst and o.pos_side == req.pos_side
                 and o.side == req.side), ZERO)
            if qty == 0:
                raise Rejected("51169")
            if sz + pending > abs(qty):
                raise Rejected("51112")
            return ZERO
        opposite = qty != 0 and (qty > 0) != (direction > 0)
        if req.reduce_only:
            if not opposite:
                raise Rejected("51169")
            if sz > abs(qty):
                raise Rejected("51112")
            return ZERO
        return max(sz - abs(qty), ZERO) if opposite else sz

    def _reserve(
        self, acct: Account, req: OrderRequest, sz: Decimal, px: Decimal, now: int
    ) -> tuple[Decimal, str]:
        """Check funds; return what a resting order would freeze."""
        inst = req.inst
        marks = self.mark_fn(now)
        if inst.is_swap:
            opening = self._open_part(acct, req, sz)
            need = opening * inst.ct_val * px / acct.get_lever(inst, req.td_mode, req.pos_side)
            if need > 0 and need > acct.avail_usdt(marks):
                raise Rejected("51008")
            return need, "USDT"
        if req.side == "buy":
            need = sz * px
            avail = min(acct.avail_ccy(inst.quote), acct.avail_usdt(marks))
            if need > avail:
                raise Rejected("51008", msg=f"Order failed. Insufficient {inst.quote} balance")
            return need, inst.quote
        if sz > acct.avail_ccy(inst.base):
            raise Rejected("51008", msg=f"Order failed. Insufficient {inst.base} balance")
        return sz, inst.base

    # -- resting orders --------------------------------------------------------------------
    def sync(self, accounts: Iterable[Account], now: int) -> int:
        """Fill resting limit orders the path crossed since their last check; count fills."""
        fills = 0
        window: dict[tuple[str, int], tuple[int, int]] = {}
        for acct in accounts:
            for order in acct.pending():
                if order.checked_ms >= now or order.px is None:
                    order.checked_ms = min(order.checked_ms, now)
                    continue
                crossed = False
                if self.venue.tradable(order.inst):
                    key = (order.inst.inst_id, order.checked_ms)
                    if key not in window:
                        window[key] = self.feed.extremes(order.inst, order.checked_ms, now)
                    low, high = window[key]
                    px_ticks = int(order.px / order.inst.tick_sz)
                    crossed = (order.side == "buy" and low <= px_ticks) or (
                        order.side == "sell" and high >= px_ticks
                    )
                if crossed:
                    fills += self._fill_resting(acct, order, now)
                else:  # not marketable: liquidity of past seconds is gone
                    order.checked_ms = now
                    order.liq_sec = max(order.liq_sec, now // 1000 - 1)
        return fills

    def _fill_resting(self, acct: Account, order: Order, now: int) -> int:
        inst = order.inst
        left = order.sz - order.acc_fill_sz
        if inst.is_swap and (order.reduce_only or order.closing):
            pos = acct.position(inst, order.pos_side)
            if pos is None or abs(pos.qty) < left or (
                not acct.long_short and (pos.qty > 0) == (order.side == "buy")
            ):
                finish(order, "canceled", now)
                order.cancel_source = "reduce_only_canceled"
                return 0
        qty = self.venue.available(inst, order.liq_sec, now, left)
        if qty <= 0:
            return 0  # no liquidity left this second: the crossing is looked at again later
        order.checked_ms, order.liq_sec = now, now // 1000
        apply_fill(self.ids, acct, order, qty, order.px or ZERO, maker=True, now=now)
        return 1

    # -- cancel / amend / close --------------------------------------------------------------
    @staticmethod
    def find(acct: Account, inst_id: str, ord_id: str, cl_ord_id: str) -> Order | None:
        """By ordId (wins) or the latest order with that clOrdId, on that instrument."""
        for order in reversed(acct.orders):
            if order.inst.inst_id != inst_id:
                continue
            if (ord_id and order.ord_id == ord_id) or (
                not ord_id and cl_ord_id and order.cl_ord_id == cl_ord_id
            ):
                return order
        return None

    def cancel(self, acct: Account, order: Order | None, now: int) -> Order:
        if order is None or not order.is_pending:
            raise Rejected("51400")
        finish(order, "canceled", now)
        return order

    def amend(
        self, acct: Account, order: Order | None, new_sz: Decimal | None,
        new_px: Decimal | None, now: int,
    ) -> Order:
        """Change size and/or price of a resting order (re-checks margin, may fill at once)."""
        if order is None or not order.is_pending:
            raise Rejected("51503")
        inst = order.inst
        self.check_tradable(acct, inst, order.td_mode)
        if new_sz is not None:
            check_lot(inst, new_sz)
            if new_sz <= order.acc_fill_sz:
                raise Rejected("51000", "newSz")
        if new_px is not None and new_px % inst.tick_sz != 0:
            raise Rejected("51000", "newPx")
        req = OrderRequest(inst, order.td_mode, order.side, order.pos_side, order.ord_type,
                           new_sz or order.sz, new_px or order.px, order.reduce_only,
                           order.tgt_ccy, "", order.tag)
        saved = order.frozen
        order.frozen = ZERO  # release while re-checking
        try:
            marketable, exec_px = self._execution(req, now)
            frozen, ccy = self._reserve(acct, req, req.sz, req.px or exec_px, now)
        except Rejected:
            order.frozen = saved
            raise
        order.sz, order.px, order.u_time = req.sz, req.px, now
        order.frozen, order.frozen_ccy = frozen * (req.sz - order.acc_fill_sz) / req.sz, ccy
        if marketable:
            order.liq_sec = max(order.liq_sec, now // 1000 - 1)  # it was not marketable before
            self._take(acct, order, exec_px, now)
        return order
