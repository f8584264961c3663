"""Order execution: market fills, resting limit orders, cancels, amends and position closes.

Prices come from the :class:`MarketFeed`: ``last`` is the path price at the current second, the
book is one tick either side of it, and takers pay a deterministic slippage (0.02 %) capped at
their limit price. Resting orders fill completely at their limit price (maker) as soon as the
path's low (buy) or high (sell) since the last evaluation reaches it. Fees: taker 0.05 %,
maker 0.02 % (negative = charged); swaps pay in USDT, spot in the currency received.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from simulator.accounts import ZERO, Account, MarkCache, Position
from simulator.catalogue import Instrument
from simulator.feed import MarketFeed
from simulator.orders import Fill, Ids, Order
from simulator.validation import OrderRequest, Rejected, check_lot

__all__ = ["MAKER_FEE", "SLIPPAGE", "TAKER_FEE", "Engine"]

log = logging.getLogger(__name__)

TAKER_FEE = Decimal("0.0005")
MAKER_FEE = Decimal("0.0002")
SLIPPAGE = Decimal("0.0002")


def _round(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    return (value / step).to_integral_value(rounding=rounding) * step


class Engine:
    """The matching engine; all methods run on the server loop (no locking needed)."""

    def __init__(self, feed: MarketFeed, ids: Ids | None = None) -> None:
        self.feed = feed
        self.ids = ids or Ids()

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
        if req.cl_ord_id and any(o.cl_ord_id == req.cl_ord_id for o in acct.pending()):
            raise Rejected("51016")
        marketable, exec_px = self._execution(req, now)
        sz, req_sz = req.sz, ""
        if not inst.is_swap and req.ord_type == "market" and req.tgt_ccy == "quote_ccy":
            req_sz = str(req.sz)
            sz = _round(req.sz / exec_px, inst.lot_sz, ROUND_FLOOR)
            check_lot(inst, sz)
        ref_px = req.px if (req.px is not None and not marketable) else exec_px
        frozen, frozen_ccy = self._reserve(acct, req, sz, ref_px, now)
        lever = ""
        if inst.is_swap:
            lever = str(acct.get_lever(inst, req.td_mode, req.pos_side))
        order = Order(
            account=acct.name, ord_id=self.ids.order(), cl_ord_id=req.cl_ord_id, tag=req.tag,
            inst=inst, td_mode=req.td_mode, side=req.side, pos_side=req.pos_side,
            ord_type=req.ord_type, sz=sz, px=req.px, reduce_only=req.reduce_only,
            tgt_ccy=req.tgt_ccy, lever=lever, c_time=now, u_time=now, checked_ms=now,
            req_sz=req_sz,
        )
        acct.orders.append(order)
        if marketable:
            if req.ord_type == "post_only":
                self._finish(order, "canceled", now)
            else:
                self._fill(acct, order, sz, exec_px, maker=False, now=now)
        elif req.ord_type in {"fok", "ioc"}:
            self._finish(order, "canceled", now)
        else:
            order.frozen, order.frozen_ccy = frozen, frozen_ccy
        return order

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

    # -- fills -----------------------------------------------------------------------------
    def _finish(self, order: Order, state: str, now: int) -> None:
        order.state = state
        order.frozen = ZERO
        order.u_time = now

    def _fill(
        self, acct: Account, order: Order, qty: Decimal, px: Decimal, *, maker: bool, now: int
    ) -> None:
        inst = order.inst
        rate = MAKER_FEE if maker else TAKER_FEE
        pnl = ZERO
        if inst.is_swap:
            fee, fee_ccy = -(qty * inst.ct_val * px * rate), "USDT"
            acct.add_cash("USDT", fee)
            pnl = self._apply_position(acct, order, qty, px, fee, now)
        elif order.side == "buy":
            fee, fee_ccy = -(qty * rate), inst.base
            acct.add_cash(inst.quote, -qty * px)
            acct.add_cash(inst.base, qty + fee)
        else:
            fee, fee_ccy = -(qty * px * rate), inst.quote
            acct.add_cash(inst.base, -qty)
            acct.add_cash(inst.quote, qty * px + fee)
        trade_id = self.ids.trade()
        filled = order.acc_fill_sz + qty
        prev = (order.avg_px or ZERO) * order.acc_fill_sz
        order.avg_px = (prev + px * qty) / filled
        order.acc_fill_sz, order.fill_px, order.fill_sz = filled, px, qty
        order.fill_time, order.trade_id = str(now), trade_id
        order.fee += fee
        order.fee_ccy, order.pnl = fee_ccy, order.pnl + pnl
        self._finish(order, "filled" if filled >= order.sz else "partially_filled", now)
        acct.u_time = now
        acct.fills.append(Fill(
            inst, trade_id, order.ord_id, order.cl_ord_id, order.tag, order.side, order.pos_side,
            px, qty, fee, fee_ccy, pnl, maker, now, str(int(trade_id) * 3),
        ))
        log.debug("fill %s %s %s %s @ %s", acct.name, inst.inst_id, order.side, qty, px)

    def _apply_position(
        self, acct: Account, order: Order, qty: Decimal, px: Decimal, fee: Decimal, now: int
    ) -> Decimal:
        inst = order.inst
        key = (inst.inst_id, order.pos_side)
        pos = acct.positions.get(key)
        if pos is None:
            lever = acct.get_lever(inst, order.td_mode, order.pos_side)
            pos = Position(inst, order.pos_side, order.td_mode, ZERO, px, lever,
                           self.ids.pos(), now, now)
            acct.positions[key] = pos
        delta = qty if order.side == "buy" else -qty
        old = pos.qty
        new = old + delta
        realised = ZERO
        if old != 0 and (old > 0) != (delta > 0):
            closed = min(abs(delta), abs(old))
            realised = (px - pos.avg_px) * closed * inst.ct_val * (1 if old > 0 else -1)
            if new != 0 and (new > 0) != (old > 0):
                pos.avg_px = px
        else:
            pos.avg_px = (abs(old) * pos.avg_px + abs(delta) * px) / abs(new)
        acct.add_cash("USDT", realised)
        pos.qty, pos.u_time, pos.trade_id = new, now, order.trade_id
        pos.realized_pnl += realised + fee
        pos.pnl += realised
        pos.fee += fee
        if new == 0:
            del acct.positions[key]
        return realised

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
                key = (order.inst.inst_id, order.checked_ms)
                if key not in window:
                    window[key] = self.feed.extremes(order.inst, order.checked_ms, now)
                low, high = window[key]
                order.checked_ms = now
                px_ticks = int(order.px / order.inst.tick_sz)
                if (order.side == "buy" and low <= px_ticks) or (
                    order.side == "sell" and high >= px_ticks
                ):
                    fills += self._fill_resting(acct, order, now)
        return fills

    def _fill_resting(self, acct: Account, order: Order, now: int) -> int:
        inst = order.inst
        if inst.is_swap and (order.reduce_only or order.closing):
            pos = acct.position(inst, order.pos_side)
            if pos is None or abs(pos.qty) < order.sz or (
                not acct.long_short and (pos.qty > 0) == (order.side == "buy")
            ):
                self._finish(order, "canceled", now)
                order.cancel_source = "reduce_only_canceled"
                return 0
        order.frozen = ZERO
        self._fill(acct, order, order.sz - order.acc_fill_sz, order.px or ZERO, maker=True,
                   now=now)
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
        self._finish(order, "canceled", now)
        return order

    def amend(
        self, acct: Account, order: Order | None, new_sz: Decimal | None,
        new_px: Decimal | None, now: int,
    ) -> Order:
        """Change size and/or price of a resting order (re-checks margin, may fill at once)."""
        if order is None or not order.is_pending:
            raise Rejected("51503")
        inst = order.inst
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
        if marketable:
            self._fill(acct, order, order.sz - order.acc_fill_sz, exec_px, maker=False, now=now)
        else:
            order.frozen, order.frozen_ccy = frozen, ccy
        return order
