"""Order-endpoint parsers: acknowledgements, order states, fills."""

from __future__ import annotations

from typing import Any

from exchange.fields import (
    item_of,
    opt_dec,
    opt_time,
    req_dec,
    req_str,
    req_time,
    text,
)
from exchange.records import Fill, Order, OrderAck

__all__ = ["parse_fill", "parse_order", "parse_order_ack"]


def parse_order_ack(item: Any) -> OrderAck:
    """A successful per-order item of place/cancel/amend (``sCode`` already checked)."""
    d = item_of(item, "order ack")
    return OrderAck(
        ord_id=text(d, "ordId"),
        cl_ord_id=text(d, "clOrdId"),
        ts=opt_time(d, "ts"),
        s_msg=text(d, "sMsg"),
    )


_ORDER_FIELDS = frozenset(
    [
        "instId",
        "instType",
        "ordId",
        "clOrdId",
        "state",
        "side",
        "posSide",
        "ordType",
        "tdMode",
        "px",
        "sz",
        "accFillSz",
        "avgPx",
        "fee",
        "feeCcy",
        "pnl",
        "lever",
        "reduceOnly",
        "cTime",
        "uTime",
    ]
)


def parse_order(item: Any) -> Order:
    """``trade/order``, ``orders-pending`` and ``orders-history`` item. Other string fields
    (``tag``, ``fillPx``, ``category``, ``cancelSource``...) are kept in ``extra``."""
    d = item_of(item, "order")
    extra = {k: v for k, v in d.items() if k not in _ORDER_FIELDS and isinstance(v, str) and v != ""}
    return Order(
        inst_id=req_str(d, "instId"),
        inst_type=text(d, "instType"),
        ord_id=req_str(d, "ordId"),
        cl_ord_id=text(d, "clOrdId"),
        state=req_str(d, "state"),
        side=text(d, "side"),
        pos_side=text(d, "posSide"),
        ord_type=text(d, "ordType"),
        td_mode=text(d, "tdMode"),
        px=opt_dec(d, "px"),
        sz=req_dec(d, "sz"),
        acc_fill_sz=req_dec(d, "accFillSz"),
        avg_px=opt_dec(d, "avgPx"),
        fee=req_dec(d, "fee"),
        fee_ccy=text(d, "feeCcy"),
        pnl=opt_dec(d, "pnl"),
        lever=opt_dec(d, "lever"),
        reduce_only=text(d, "reduceOnly").lower() == "true",
        c_time=opt_time(d, "cTime"),
        u_time=opt_time(d, "uTime"),
        extra=extra,
    )


def parse_fill(item: Any) -> Fill:
    d = item_of(item, "fill")
    ts = opt_time(d, "fillTime") or req_time(d, "ts")
    return Fill(
        inst_id=req_str(d, "instId"),
        trade_id=text(d, "tradeId"),
        ord_id=text(d, "ordId"),
        cl_ord_id=text(d, "clOrdId"),
        fill_px=req_dec(d, "fillPx"),
        fill_sz=req_dec(d, "fillSz"),
        side=text(d, "side"),
        pos_side=text(d, "posSide"),
        fee=req_dec(d, "fee"),
        fee_ccy=text(d, "feeCcy"),
        ts=ts,
    )
