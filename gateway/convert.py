"""Typed exchange records -> the ``data`` shapes FMZ expects (guide §6; reference §5). Pure.

Encoding follows the guide's examples field for field: ticker and account values are decimal
**strings** (ticker ``time`` a string of epoch ms); depth, trades, records, orders, positions and
fundings carry JSON **numbers**. Record time is epoch **seconds**, oldest first; depth, trade and
funding times are epoch ms. Order status strings are the guide's (:func:`order_status`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.clock import to_ms
from exchange.records import (
    Balance,
    Candle,
    FundingRate,
    Instrument,
    Order,
    OrderBook,
    Position,
    PublicTrade,
    Ticker,
)
from gateway.symbols import fmz_symbol, format_order_id

__all__ = [
    "account_rows",
    "depth_data",
    "funding_row",
    "market_row",
    "num",
    "order_data",
    "order_status",
    "position_row",
    "record_rows",
    "text",
    "ticker_data",
    "trade_rows",
]

_MAX_SAFE_INT = 2**53
_EIGHT_HOURS_MS = 8 * 3600 * 1000


def num(value: Decimal | None) -> int | float:
    """A JSON number: int when integral (and exact), else float; ``None`` -> 0."""
    if value is None:
        return 0
    if value == value.to_integral_value() and abs(value) < _MAX_SAFE_INT:
        return int(value)
    return float(value)


def text(value: Decimal | None) -> str:
    """A plain decimal string (no exponent, no trailing zeros); ``None`` -> ``"0"``."""
    if value is None:
        return "0"
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return format(value.normalize(), "f")


def ticker_data(t: Ticker) -> dict[str, str]:
    """``{"symbol","buy","sell","high","low","open","last","vol","time"}``, all strings."""
    return {
        "symbol": fmz_symbol(t.inst_id),
        "buy": text(t.bid),
        "sell": text(t.ask),
        "high": text(t.high24h),
        "low": text(t.low24h),
        "open": text(t.open24h),
        "last": text(t.last),
        "vol": text(t.vol24h),
        "time": str(to_ms(t.ts)),
    }


def depth_data(book: OrderBook, limit: int | None = None) -> dict[str, Any]:
    """``{"time": ms, "asks": [[px, sz]...] ascending, "bids": [[px, sz]...] descending}``."""
    asks = sorted(book.asks, key=lambda lvl: lvl.px)[:limit]
    bids = sorted(book.bids, key=lambda lvl: lvl.px, reverse=True)[:limit]
    return {
        "time": to_ms(book.ts),
        "asks": [[num(lvl.px), num(lvl.sz)] for lvl in asks],
        "bids": [[num(lvl.px), num(lvl.sz)] for lvl in bids],
    }


def trade_rows(trades: Iterable[PublicTrade]) -> list[dict[str, Any]]:
    """Public trades, oldest first: ``{"id","time","price","amount","type"}``."""
    ordered = sorted(trades, key=lambda tr: (tr.ts, tr.trade_id))
    return [
        {
            "id": tr.trade_id,
            "time": to_ms(tr.ts),
            "price": num(tr.px),
            "amount": num(tr.sz),
            "type": "buy" if tr.side == "buy" else "sell",
        }
        for tr in ordered
    ]


def record_rows(candles: Iterable[Candle], limit: int | None = None) -> list[list[int | float]]:
    """``[[time_s, open, high, low, close, volume]...]`` oldest first, unique times, newest ``limit``.

    Volume is OKX ``vol``: base currency for spot, contracts for swaps. The forming bar is kept
    (FMZ's last record is the current one).
    """
    by_ts: dict[datetime, Candle] = {c.ts: c for c in candles}
    rows = [by_ts[ts] for ts in sorted(by_ts)]
    if limit is not None and limit > 0:
        rows = rows[-limit:]
    return [
        [to_ms(c.ts) // 1000, num(c.open), num(c.high), num(c.low), num(c.close), num(c.vol)] for c in rows
    ]


def account_rows(balance: Balance) -> list[dict[str, str]]:
    """``[{"currency","free","frozen"}...]``: free = availEq, else availBal, else cashBal."""
    rows = []
    for d in balance.details:
        free = d.avail_eq if d.avail_eq is not None else d.avail_bal
        rows.append(
            {
                "currency": d.ccy,
                "free": text(free if free is not None else d.cash_bal),
                "frozen": text(d.frozen_bal),
            }
        )
    return rows


def order_status(state: str, filled: Decimal) -> str:
    """OKX ``state`` -> the guide's status string.

    live -> ``pending``; partially_filled -> ``partial-filled``; filled -> ``filled``;
    canceled / mmp_canceled -> ``canceled``, or ``partial-canceled`` when something filled.
    Any other OKX state is passed through (FMZ then reads it as UNKNOWN).
    """
    if state == "live":
        return "pending"
    if state == "partially_filled":
        return "partial-filled"
    if state == "filled":
        return "filled"
    if state in ("canceled", "mmp_canceled"):
        return "partial-canceled" if filled > 0 else "canceled"
    return state


def order_data(o: Order) -> dict[str, Any]:
    """``{"id","symbol","amount","price","deal_amount","avg_price","type","status","time"}``.

    ``price`` is 0 for market orders and ``avg_price`` 0 before any fill. Amounts are OKX ``sz``:
    base units for spot (quote units for a spot market buy), contracts for swaps.
    """
    return {
        "id": format_order_id(o.inst_id, o.ord_id),
        "symbol": fmz_symbol(o.inst_id),
        "amount": num(o.sz),
        "price": num(o.px),
        "deal_amount": num(o.acc_fill_sz),
        "avg_price": num(o.avg_px),
        "type": "buy" if o.side == "buy" else "sell",
        "status": order_status(o.state, o.acc_fill_sz),
        "time": to_ms(o.c_time) if o.c_time is not None else 0,
    }


def position_row(p: Position, contract_value: Decimal | None = None) -> dict[str, Any]:
    """``{"symbol","contract_type","type","amount","frozen_amount","price","profit","margin_level","margin"}``.

    ``type`` 0 = long, 1 = short (FMZ PD_LONG / PD_SHORT); ``amount`` in contracts, unsigned.
    ``margin`` = |pos| * contract value * mark / leverage (0 when unknown).
    """
    signed = p.signed_pos
    amount = abs(signed)
    frozen = amount - abs(p.avail_pos) if p.avail_pos is not None else Decimal(0)
    margin = Decimal(0)
    if contract_value is not None and p.mark_px is not None and p.lever:
        margin = amount * contract_value * p.mark_px / p.lever
    return {
        "symbol": fmz_symbol(p.inst_id),
        "contract_type": "swap" if p.inst_type == "SWAP" else p.inst_type.lower(),
        "type": 1 if signed < 0 else 0,
        "amount": num(amount),
        "frozen_amount": num(max(frozen, Decimal(0))),
        "price": num(p.avg_px),
        "profit": num(p.upl),
        "margin_level": num(p.lever),
        "margin": num(margin),
    }


def funding_row(f: FundingRate) -> dict[str, Any]:
    """``{"symbol","time","rate","interval"}``: time = next settlement (ms), interval in ms."""
    interval = _EIGHT_HOURS_MS
    if f.next_funding_time is not None and f.next_funding_time > f.funding_time:
        interval = to_ms(f.next_funding_time) - to_ms(f.funding_time)
    return {
        "symbol": fmz_symbol(f.inst_id),
        "time": to_ms(f.funding_time),
        "rate": num(f.funding_rate),
        "interval": interval,
    }


def market_row(i: Instrument) -> dict[str, Any]:
    """One ``markets`` entry (names UNCONFIRMED; values from ``public/instruments``)."""
    return {
        "symbol": fmz_symbol(i.inst_id),
        "base_asset": i.base_ccy or i.ct_val_ccy,
        "quote_asset": i.quote_ccy or i.settle_ccy,
        "tick_size": num(i.tick_sz),
        "amount_size": num(i.lot_sz),
        "price_precision": _decimals(i.tick_sz),
        "amount_precision": _decimals(i.lot_sz),
        "min_qty": num(i.min_sz),
        "max_qty": num(i.max_lmt_sz),
        "min_notional": 0,
        "max_notional": 0,
        "ct_val": num(i.contract_value) if i.is_contract else 1,
        "ct_val_ccy": i.ct_val_ccy,
    }


def _decimals(step: Decimal) -> int:
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0
