"""Public market-data handlers (plus the signed ``asset/currencies`` that ccxt needs)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np

from simulator.api import Ctx, Reply, Route, int_param, require, require_inst
from simulator.bars import bar_open, page_opens, parse_bar, step_back
from simulator.candles import fmt_units
from simulator.catalogue import Instrument
from simulator.errors import OkxError
from simulator.feed import QUOTE_UNIT
from simulator.orders import num
from simulator.prices import MINUTE_MS, hash_u64, stable_key

__all__ = ["ROUTES"]

_P = "/api/v5/"
_INST_TYPES = {"SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION"}
_DAY = 86_400_000
_HK = 8 * 3_600_000
_FUNDING = 8 * 3_600_000


def _time(ctx: Ctx) -> Reply:
    return Reply([{"ts": str(ctx.now)}])


def _status(ctx: Ctx) -> Reply:
    return Reply([])


def _inst_type(ctx: Ctx, allowed: set[str] = _INST_TYPES) -> str:
    inst_type = require(ctx, "instType")
    if inst_type not in allowed:
        raise OkxError("51000", "instType")
    return inst_type


def _of_type(ctx: Ctx, inst_type: str) -> list[Instrument]:
    return [i for i in ctx.state.instruments.values() if i.inst_type == inst_type]


def _instruments(ctx: Ctx) -> Reply:
    inst_type = _inst_type(ctx)
    if inst_type == "OPTION" and not (ctx.param("uly") or ctx.param("instFamily")):
        raise OkxError("50015", msg="Either parameter uly or instFamily is required")
    rows = _of_type(ctx, inst_type)
    inst_id, family = ctx.param("instId"), ctx.param("instFamily") or ctx.param("uly")
    if inst_id:
        rows = [i for i in rows if i.inst_id == inst_id]
        if not rows:
            raise OkxError("51001")
    if family:
        rows = [i for i in rows if i.is_swap and i.family == family]
    venue = ctx.state.engine.venue
    return Reply([i.to_okx(venue.state_of(i)) for i in rows])


def _candles(ctx: Ctx, history: bool) -> Reply:
    inst = require_inst(ctx)
    spec = parse_bar(ctx.param("bar") or "1m", history=history)
    if spec is None:
        raise OkxError("51000", "bar")
    limit = int_param(ctx, "limit", 100, 1, 100 if history else 300) or 100
    after = int_param(ctx, "after", None, 0, 2**62)
    before = int_param(ctx, "before", None, 0, 2**62)
    now = ctx.now
    oldest = bar_open(inst.coin.list_time_ms, spec)
    if not history:
        oldest = max(oldest, step_back(bar_open(now, spec), spec, 1439))
    opens = page_opens(spec, now, after=after, before=before, limit=limit, oldest_ms=oldest)
    return Reply(ctx.state.candles.rows(inst, spec, opens, now))


def _hashed(ctx: Ctx, inst: Instrument, salt: str, index: int) -> float:
    word = int(hash_u64([index], stable_key(salt, ctx.state.options.seed, inst.inst_id))[0])
    return word / 2.0**64


def _ticker_row(ctx: Ctx, inst: Instrument) -> dict[str, Any]:
    now = ctx.now
    feed, engine = ctx.state.feed, ctx.state.engine
    k_now, off = divmod(now // 1000 * 1000, MINUTE_MS)
    table = feed.minutes(inst, k_now - 1440, k_now)
    part = feed.partial(inst, k_now, 0, off)
    bid, ask = engine.book(inst, now)
    tick = inst.tick_sz
    vol = int(np.sum(table.vol)) + part[4]
    vcq = int(np.sum(table.vcq)) + part[5]
    lot = inst.lot_sz
    size = max(1, int(_hashed(ctx, inst, "sz", now // 1000) * 40)) * inst.min_sz
    return {
        "instType": inst.inst_type,
        "instId": inst.inst_id,
        "last": num(engine.last(inst, now)),
        "lastSz": num(size),
        "askPx": num(ask),
        "askSz": num(size * 3),
        "bidPx": num(bid),
        "bidSz": num(size * 2),
        "open24h": fmt_units(int(table.open[0]), tick),
        "high24h": fmt_units(max(int(table.high.max()), part[1]), tick),
        "low24h": fmt_units(min(int(table.low.min()), part[2]), tick),
        "volCcy24h": fmt_units(vol, lot * inst.ct_val) if inst.is_swap
        else fmt_units(vcq, QUOTE_UNIT),
        "vol24h": fmt_units(vol, lot),
        "ts": str(now),
        "sodUtc0": num(feed.price(inst, now // _DAY * _DAY)),
        "sodUtc8": num(feed.price(inst, (now + _HK) // _DAY * _DAY - _HK)),
    }


def _ticker(ctx: Ctx) -> Reply:
    return Reply([_ticker_row(ctx, require_inst(ctx))])


def _tickers(ctx: Ctx) -> Reply:
    inst_type = _inst_type(ctx, {"SPOT", "SWAP", "FUTURES", "OPTION"})
    family = ctx.param("instFamily") or ctx.param("uly")
    rows = [i for i in _of_type(ctx, inst_type) if not family or i.family == family]
    return Reply([_ticker_row(ctx, i) for i in rows])


def _books(ctx: Ctx) -> Reply:
    inst = require_inst(ctx)
    depth = int_param(ctx, "sz", 1, 1, 400) or 1
    bid, ask = ctx.state.engine.book(inst, ctx.now)
    second = ctx.now // 1000
    asks: list[list[str]] = []
    bids: list[list[str]] = []
    for level in range(depth):
        lots = 1 + int(_hashed(ctx, inst, "book", second * 1000 + level) * 500)
        orders = str(1 + lots % 9)
        size = num(lots * inst.min_sz)
        asks.append([num(ask + level * inst.tick_sz), size, "0", orders])
        if bid - level * inst.tick_sz > 0:
            bids.append([num(bid - level * inst.tick_sz), size, "0", orders])
    return Reply([{"asks": asks, "bids": bids, "ts": str(ctx.now)}])


def _trades(ctx: Ctx) -> Reply:
    inst = require_inst(ctx)
    limit = int_param(ctx, "limit", 100, 1, 500) or 100
    feed = ctx.state.feed
    newest = ctx.now // 1000 * 1000
    rows = []
    prev = feed.price(inst, newest - limit * 1000)
    prices = [feed.price(inst, newest - i * 1000) for i in range(limit - 1, -1, -1)]
    for i, px in enumerate(prices):
        t = newest - (limit - 1 - i) * 1000
        lots = 1 + int(_hashed(ctx, inst, "trade", t // 1000) * 200)
        rows.append({
            "instId": inst.inst_id,
            "side": "buy" if px >= prev else "sell",
            "sz": num(lots * inst.min_sz),
            "px": num(px),
            "tradeId": str(t // 1000 * 100 + inst.code % 100),
            "ts": str(t),
        })
        prev = px
    rows.reverse()
    return Reply(rows)


def _swaps(ctx: Ctx) -> list[Instrument]:
    inst_id = ctx.param("instId")
    if not inst_id or inst_id == "ANY":
        return _of_type(ctx, "SWAP")
    inst = ctx.state.instruments.get(inst_id)
    if inst is None:
        raise OkxError("51001")
    return [inst]


def _funding_rate(ctx: Ctx) -> Reply:
    require(ctx, "instId")
    rows = []
    for inst in _swaps(ctx):
        if not inst.is_swap:
            raise OkxError("51000", "instId")
        period = ctx.now // _FUNDING
        rate = _period_rate(ctx, inst, period)
        rows.append({
            "formulaType": "withRate", "fundingRate": num(rate),
            "fundingTime": str((period + 1) * _FUNDING), "impactValue": "20000",
            "instId": inst.inst_id, "instType": "SWAP", "interestRate": "0.0001",
            "maxFundingRate": "0.0075", "method": "current_period", "minFundingRate": "-0.0075",
            "nextFundingRate": "", "nextFundingTime": str((period + 2) * _FUNDING),
            "premium": num(rate - Decimal("0.0001")), "settFundingRate": num(rate),
            "settState": "settled", "ts": str(ctx.now),
        })
    return Reply(rows)


_FUNDING_KEPT = 90 * 24 * 3_600_000  # OKX keeps about three months of funding-rate history


def _period_rate(ctx: Ctx, inst: Instrument, period: int) -> Decimal:
    """The rate settled at the end of funding period ``period`` (the one ``public/funding-rate``
    shows while the period runs)."""
    raw = 0.0001 + 0.0002 * (_hashed(ctx, inst, "fund", period) - 0.4)
    return Decimal(f"{raw:.8f}").normalize()


def _funding_rate_history(ctx: Ctx) -> Reply:
    """Settled funding of one swap, newest first; ``after``/``before`` page by ``fundingTime``."""
    inst = require_inst(ctx)
    if not inst.is_swap:
        raise OkxError("51000", "instId")
    limit = int_param(ctx, "limit", 100, 1, 400) or 100
    after = int_param(ctx, "after", None, 0, 2**62)
    before = int_param(ctx, "before", None, 0, 2**62)
    newest = ctx.now // _FUNDING * _FUNDING  # the last settlement so far
    oldest = max(newest - _FUNDING_KEPT, (inst.coin.list_time_ms // _FUNDING + 1) * _FUNDING)
    top = newest if after is None else min(newest, (after - 1) // _FUNDING * _FUNDING)
    rows: list[dict[str, str]] = []
    t = top
    while t >= oldest and len(rows) < limit and (before is None or t > before):
        rate = num(_period_rate(ctx, inst, t // _FUNDING - 1))
        rows.append({"instType": "SWAP", "instId": inst.inst_id, "fundingRate": rate,
                     "realizedRate": rate, "fundingTime": str(t), "method": "current_period"})
        t -= _FUNDING
    return Reply(rows)


def _mark_price(ctx: Ctx) -> Reply:
    inst_type = _inst_type(ctx, {"MARGIN", "SWAP", "FUTURES", "OPTION"})
    if inst_type != "SWAP":
        return Reply([])
    engine = ctx.state.engine
    return Reply([
        {"instType": "SWAP", "instId": i.inst_id, "markPx": num(engine.last(i, ctx.now)),
         "ts": str(ctx.now)}
        for i in _swaps(ctx)
    ])


def _currencies(ctx: Ctx) -> Reply:
    wanted = {c for c in ctx.param("ccy").split(",") if c}
    coins = {i.coin.ccy: i.coin.name for i in ctx.state.instruments.values()}
    coins["USDT"] = "Tether"
    rows = []
    for ccy, name in sorted(coins.items()):
        if wanted and ccy not in wanted:
            continue
        rows.append({
            "canDep": True, "canInternal": True, "canWd": True, "ccy": ccy,
            "chain": f"{ccy}-{'TRC20' if ccy == 'USDT' else name.replace(' ', '')}",
            "depQuotaFixed": "", "depQuoteDailyLayer2": "", "fee": "0.1", "logoLink": "",
            "mainNet": ccy != "USDT", "maxFee": "0.2", "maxFeeForCtAddr": "", "maxWd": "1000000",
            "minDep": "0.00000001", "minDepArrivalConfirm": "1", "minFee": "0.1",
            "minFeeForCtAddr": "", "minInternal": "0.0001", "minWd": "0.001",
            "minWdUnlockConfirm": "2", "name": name, "needTag": False, "usedDepQuotaFixed": "",
            "usedWdQuota": "0", "wdQuota": "10000000", "wdTickSz": "8",
        })
    return Reply(rows)


ROUTES: dict[tuple[str, str], Route] = {
    ("GET", _P + "public/time"): Route(_time),
    ("GET", _P + "system/status"): Route(_status),
    ("GET", _P + "public/instruments"): Route(_instruments),
    ("GET", _P + "market/candles"): Route(lambda ctx: _candles(ctx, history=False)),
    ("GET", _P + "market/history-candles"): Route(lambda ctx: _candles(ctx, history=True)),
    ("GET", _P + "market/ticker"): Route(_ticker),
    ("GET", _P + "market/tickers"): Route(_tickers),
    ("GET", _P + "market/books"): Route(_books),
    ("GET", _P + "market/trades"): Route(_trades),
    ("GET", _P + "public/funding-rate"): Route(_funding_rate),
    ("GET", _P + "public/funding-rate-history"): Route(_funding_rate_history),
    ("GET", _P + "public/mark-price"): Route(_mark_price),
    ("GET", _P + "asset/currencies"): Route(_currencies, private=True),
}
