"""Executions: cash, fees, positions and realised PnL of one fill, and order state changes.

A fill of ``qty`` at ``px`` updates the order (``accFillSz``, volume-weighted ``avgPx``,
``fillPx``/``fillSz``/``tradeId`` of this last fill, cumulative ``fee`` and ``pnl``), appends a
``trade/fills`` row and, for swaps, moves the position (net or per side; avgPx kept on increases,
PnL realised on reductions, flips re-open at ``px``). A partially filled order keeps frozen the
share of its margin or funds that matches what is still unfilled.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from simulator.accounts import ZERO, Account, Position
from simulator.orders import Fill, Ids, Order

__all__ = ["MAKER_FEE", "TAKER_FEE", "apply_fill", "finish"]

log = logging.getLogger(__name__)

TAKER_FEE = Decimal("0.0005")
MAKER_FEE = Decimal("0.0002")


def finish(order: Order, state: str, now: int) -> None:
    """Set a terminal (or partially filled) state; terminal orders release what they froze."""
    order.state = state
    if state not in {"live", "partially_filled"}:
        order.frozen = ZERO
    order.u_time = now


def apply_fill(
    ids: Ids, acct: Account, order: Order, qty: Decimal, px: Decimal, *, maker: bool, now: int
) -> Fill:
    """Execute ``qty`` of ``order`` at ``px``; returns the ``trade/fills`` row it appended."""
    inst = order.inst
    rate = MAKER_FEE if maker else TAKER_FEE
    pnl = ZERO
    trade_id = ids.trade()
    if inst.is_swap:
        fee, fee_ccy = -(qty * inst.ct_val * px * rate), "USDT"
        acct.add_cash("USDT", fee)
        pnl = _apply_position(ids, acct, order, qty, px, fee, trade_id, now)
    elif order.side == "buy":
        fee, fee_ccy = -(qty * rate), inst.base
        acct.add_cash(inst.quote, -qty * px)
        acct.add_cash(inst.base, qty + fee)
    else:
        fee, fee_ccy = -(qty * px * rate), inst.quote
        acct.add_cash(inst.base, -qty)
        acct.add_cash(inst.quote, qty * px + fee)
    unfilled = order.sz - order.acc_fill_sz
    filled = order.acc_fill_sz + qty
    prev = (order.avg_px or ZERO) * order.acc_fill_sz
    order.avg_px = (prev + px * qty) / filled
    order.acc_fill_sz, order.fill_px, order.fill_sz = filled, px, qty
    order.fill_time, order.trade_id = str(now), trade_id
    order.fee += fee
    order.fee_ccy, order.pnl = fee_ccy, order.pnl + pnl
    left = order.sz - filled
    order.frozen = order.frozen * left / unfilled if unfilled > 0 and left > 0 else ZERO
    finish(order, "filled" if left <= 0 else "partially_filled", now)
    acct.u_time = now
    fill = Fill(
        inst, trade_id, order.ord_id, order.cl_ord_id, order.tag, order.side, order.pos_side,
        px, qty, fee, fee_ccy, pnl, maker, now, str(int(trade_id) * 3),
    )
    acct.fills.append(fill)
    log.debug("fill %s %s %s %s @ %s", acct.name, inst.inst_id, order.side, qty, px)
    return fill


def _apply_position(
    ids: Ids, acct: Account, order: Order, qty: Decimal, px: Decimal, fee: Decimal, trade_id: str,
    now: int,
) -> Decimal:
    inst = order.inst
    key = (inst.inst_id, order.pos_side)
    pos = acct.positions.get(key)
    if pos is None:
        lever = acct.get_lever(inst, order.td_mode, order.pos_side)
        pos = Position(inst, order.pos_side, order.td_mode, ZERO, px, lever, ids.pos(), now, now)
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
    pos.qty, pos.u_time, pos.trade_id = new, now, trade_id
    pos.realized_pnl += realised + fee
    pos.pnl += realised
    pos.fee += fee
    if new == 0:
        del acct.positions[key]
    return realised
