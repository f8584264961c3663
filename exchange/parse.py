"""Pure parsers: OKX reply items -> frozen records. Unknown fields are ignored, optional ones may be
missing or ``""``; a required field that is missing or malformed raises :class:`BadResponse`.

Every parser takes one ``data`` item (a dict, or a list for candle rows) as returned by
:func:`check_envelope`, which is re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from exchange.envelope import check_batch, check_envelope
from exchange.errors import BadCandle
from exchange.fields import (
    bad,
    dec,
    item_of,
    ms,
    opt_dec,
    opt_time,
    req_dec,
    req_str,
    req_time,
    text,
    zero_dec,
)
from exchange.parse_orders import parse_fill, parse_order, parse_order_ack
from exchange.records import (
    AccountConfig,
    Balance,
    BalanceDetail,
    BookLevel,
    Candle,
    FundingRate,
    FundingSettlement,
    Instrument,
    LeverageInfo,
    MarkPrice,
    MaxSize,
    OrderBook,
    Position,
    PosMode,
    PosSide,
    PublicTrade,
    Ticker,
)

__all__ = [
    "candle_problem",
    "check_batch",
    "check_envelope",
    "parse_account_config",
    "parse_balance",
    "parse_candle",
    "parse_candles",
    "parse_fill",
    "parse_funding_rate",
    "parse_instrument",
    "parse_leverage_info",
    "parse_mark_price",
    "parse_max_size",
    "parse_order",
    "parse_order_ack",
    "parse_order_book",
    "parse_position",
    "parse_public_trade",
    "parse_server_time",
    "parse_ticker",
]

# ---- market data --------------------------------------------------------------------------


def parse_server_time(item: Any) -> datetime:
    """``public/time`` item -> aware UTC datetime."""
    return req_time(item_of(item, "time"), "ts")


def parse_candle(row: Any, inst_id: str, bar: str) -> Candle:
    """One ``[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]`` row."""
    if not isinstance(row, list | tuple) or len(row) < 9:
        raise bad("candle row is not a 9-field array", row)
    confirm = str(row[8])
    if confirm not in ("0", "1"):
        raise bad("candle confirm flag is not '0' or '1'", row[8])
    candle = Candle(
        inst_id=inst_id,
        bar=bar,
        ts=ms(row[0], "ts"),
        open=dec(row[1], "o"),
        high=dec(row[2], "h"),
        low=dec(row[3], "l"),
        close=dec(row[4], "c"),
        vol=dec(row[5], "vol"),
        vol_ccy=dec(row[6], "volCcy"),
        vol_quote=dec(row[7], "volCcyQuote"),
        confirmed=confirm == "1",
    )
    problem = candle_problem(candle)
    if problem:
        raise BadCandle("", f"impossible {inst_id} {bar} candle at {candle.ts.isoformat()}: {problem}")
    return candle


def candle_problem(c: Candle) -> str:
    """Why ``c`` cannot be a real candle, or "" if it can."""
    for name, px in (("open", c.open), ("high", c.high), ("low", c.low), ("close", c.close)):
        if px <= 0:
            return f"{name} {px} is not a positive price"
    if c.high < c.low:
        return f"high {c.high} < low {c.low}"
    if c.high < max(c.open, c.close) or c.low > min(c.open, c.close):
        return f"open {c.open} / close {c.close} outside low {c.low} .. high {c.high}"
    for name, vol in (("vol", c.vol), ("volCcy", c.vol_ccy), ("volCcyQuote", c.vol_quote)):
        if vol < 0:
            return f"negative {name} {vol}"
    return ""


def parse_candles(rows: Iterable[Any], inst_id: str, bar: str) -> list[Candle]:
    """Rows (newest first, as OKX sends them) -> candles ascending by ``ts``, one per ``ts``.

    If OKX repeats a ``ts`` (cached services can disagree), the confirmed row wins.
    """
    by_ts: dict[datetime, Candle] = {}
    for row in rows:
        candle = parse_candle(row, inst_id, bar)
        old = by_ts.get(candle.ts)
        if old is None or (candle.confirmed and not old.confirmed):
            by_ts[candle.ts] = candle
    return [by_ts[ts] for ts in sorted(by_ts)]


def parse_instrument(item: Any) -> Instrument:
    """``public/instruments`` item. Pre-open rows may carry only instId/instType/state: missing
    sizes then read as 0 (such an instrument is not tradeable anyway)."""
    d = item_of(item, "instrument")
    inst_id = req_str(d, "instId")
    parts = inst_id.split("-")
    base = text(d, "baseCcy") or parts[0]
    quote = text(d, "quoteCcy") or (parts[1] if len(parts) > 1 else "")
    return Instrument(
        inst_id=inst_id,
        inst_type=req_str(d, "instType"),
        base_ccy=base,
        quote_ccy=quote,
        settle_ccy=text(d, "settleCcy"),
        ct_val=opt_dec(d, "ctVal"),
        ct_mult=opt_dec(d, "ctMult"),
        ct_val_ccy=text(d, "ctValCcy"),
        ct_type=text(d, "ctType"),
        lot_sz=zero_dec(d, "lotSz"),
        min_sz=zero_dec(d, "minSz"),
        tick_sz=zero_dec(d, "tickSz"),
        max_lever=opt_dec(d, "lever"),
        state=text(d, "state") or "unknown",
        max_lmt_sz=opt_dec(d, "maxLmtSz"),
        max_mkt_sz=opt_dec(d, "maxMktSz"),
    )


def parse_ticker(item: Any) -> Ticker:
    d = item_of(item, "ticker")
    return Ticker(
        inst_id=req_str(d, "instId"),
        last=req_dec(d, "last"),
        bid=opt_dec(d, "bidPx"),
        ask=opt_dec(d, "askPx"),
        bid_sz=opt_dec(d, "bidSz"),
        ask_sz=opt_dec(d, "askSz"),
        open24h=opt_dec(d, "open24h"),
        high24h=opt_dec(d, "high24h"),
        low24h=opt_dec(d, "low24h"),
        vol24h=opt_dec(d, "vol24h"),
        vol_ccy24h=opt_dec(d, "volCcy24h"),
        ts=req_time(d, "ts"),
    )


def _levels(rows: Any, what: str) -> tuple[BookLevel, ...]:
    if rows is None:
        return ()
    if not isinstance(rows, list):
        raise bad(f"order book {what} is not a list", rows)
    out = []
    for row in rows:
        if not isinstance(row, list | tuple) or len(row) < 2:
            raise bad(f"order book {what} row is malformed", row)
        orders = int(str(row[3])) if len(row) > 3 and str(row[3]).isdigit() else 0
        out.append(BookLevel(px=dec(row[0], "px"), sz=dec(row[1], "sz"), orders=orders))
    return tuple(out)


def parse_order_book(item: Any, inst_id: str) -> OrderBook:
    d = item_of(item, "order book")
    return OrderBook(
        inst_id=inst_id,
        asks=_levels(d.get("asks"), "asks"),
        bids=_levels(d.get("bids"), "bids"),
        ts=req_time(d, "ts"),
    )


def parse_public_trade(item: Any) -> PublicTrade:
    d = item_of(item, "trade")
    return PublicTrade(
        inst_id=req_str(d, "instId"),
        trade_id=req_str(d, "tradeId"),
        px=req_dec(d, "px"),
        sz=req_dec(d, "sz"),
        side=text(d, "side"),
        ts=req_time(d, "ts"),
    )


def parse_funding_rate(item: Any) -> FundingRate:
    d = item_of(item, "funding rate")
    return FundingRate(
        inst_id=req_str(d, "instId"),
        funding_rate=req_dec(d, "fundingRate"),
        funding_time=req_time(d, "fundingTime"),
        next_funding_time=opt_time(d, "nextFundingTime"),
    )


def parse_funding_settlement(item: Any) -> FundingSettlement:
    d = item_of(item, "funding-rate history")
    realized = d.get("realizedRate")
    return FundingSettlement(
        inst_id=req_str(d, "instId"),
        funding_time=req_time(d, "fundingTime"),
        rate=req_dec(d, "fundingRate" if realized in (None, "") else "realizedRate"),
    )


def parse_mark_price(item: Any) -> MarkPrice:
    d = item_of(item, "mark price")
    return MarkPrice(inst_id=req_str(d, "instId"), mark_px=req_dec(d, "markPx"), ts=req_time(d, "ts"))


# ---- account ------------------------------------------------------------------------------


def parse_balance(item: Any) -> Balance:
    d = item_of(item, "balance")
    details_raw = d.get("details") or []
    if not isinstance(details_raw, list):
        raise bad("balance details is not a list", details_raw)
    details = []
    for raw in details_raw:
        x = item_of(raw, "balance detail")
        details.append(
            BalanceDetail(
                ccy=req_str(x, "ccy"),
                eq=req_dec(x, "eq"),
                cash_bal=req_dec(x, "cashBal"),
                avail_bal=opt_dec(x, "availBal"),
                avail_eq=opt_dec(x, "availEq"),
                frozen_bal=opt_dec(x, "frozenBal"),
                upl=opt_dec(x, "upl"),
                eq_usd=opt_dec(x, "eqUsd"),
            )
        )
    return Balance(
        total_eq=req_dec(d, "totalEq"),
        upl=opt_dec(d, "upl"),
        details=tuple(details),
        ts=opt_time(d, "uTime"),
    )


def parse_position(item: Any) -> Position:
    d = item_of(item, "position")
    pos_side = text(d, "posSide") or "net"
    if pos_side not in ("net", "long", "short"):
        raise bad("unknown posSide", pos_side)
    return Position(
        inst_id=req_str(d, "instId"),
        inst_type=text(d, "instType"),
        mgn_mode=text(d, "mgnMode"),
        pos_side=cast(PosSide, pos_side),
        pos=req_dec(d, "pos"),
        avail_pos=opt_dec(d, "availPos"),
        avg_px=opt_dec(d, "avgPx"),
        mark_px=opt_dec(d, "markPx"),
        upl=opt_dec(d, "upl"),
        lever=opt_dec(d, "lever"),
        liq_px=opt_dec(d, "liqPx"),
        ccy=text(d, "ccy"),
        u_time=opt_time(d, "uTime"),
    )


def parse_account_config(item: Any) -> AccountConfig:
    d = item_of(item, "account config")
    pos_mode = req_str(d, "posMode")
    if pos_mode not in ("net_mode", "long_short_mode"):
        raise bad("unknown posMode", pos_mode)
    return AccountConfig(
        uid=text(d, "uid"),
        main_uid=text(d, "mainUid"),
        acct_lv=req_str(d, "acctLv"),
        pos_mode=cast(PosMode, pos_mode),
        perm=text(d, "perm"),
        label=text(d, "label"),
    )


def parse_leverage_info(item: Any) -> LeverageInfo:
    d = item_of(item, "leverage")
    return LeverageInfo(
        inst_id=text(d, "instId"),
        mgn_mode=text(d, "mgnMode"),
        pos_side=text(d, "posSide"),
        lever=req_dec(d, "lever"),
    )


def parse_max_size(item: Any) -> MaxSize:
    d = item_of(item, "max size")
    return MaxSize(
        inst_id=req_str(d, "instId"), max_buy=zero_dec(d, "maxBuy"), max_sell=zero_dec(d, "maxSell")
    )
