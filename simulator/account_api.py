"""Private ``account/*`` handlers: balance, positions, config, position mode, leverage, max size."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal
from typing import Any

from simulator.accounts import ZERO, Account, MarkCache, Position
from simulator.api import Ctx, Reply, Route, require
from simulator.catalogue import Instrument
from simulator.errors import OkxError
from simulator.orders import num

__all__ = ["ROUTES"]

_P = "/api/v5/account/"
_MMR = Decimal("0.004")  # maintenance margin rate


def _ids(ctx: Ctx, key: str, most: int) -> list[Instrument]:
    out: list[Instrument] = []
    for inst_id in [i for i in ctx.param(key).split(",") if i][:most]:
        inst = ctx.state.instruments.get(inst_id)
        if inst is None:
            raise OkxError("51001")
        out.append(inst)
    return out


def _detail(ccy: str, acct: Account, marks: MarkCache, usd: Decimal, now: int) -> dict[str, Any]:
    cash = acct.cash.get(ccy, ZERO)
    frozen = acct.frozen(ccy)
    upl = imr = ZERO
    if ccy == "USDT":
        upl, imr = acct.upl(marks), acct.imr(marks)
    eq = cash + upl
    blank = ["accAvgPx", "borrowFroz", "clSpotInUseAmt", "colBorrAutoConversion", "crossLiab",
             "fixedBal", "interest", "isoLiab", "liab", "maxLoan", "maxSpotInUse", "openAvgPx",
             "rewardBal", "smtSyncEq", "spotCopyTradingEq", "spotInUseAmt", "spotUpl",
             "spotUplRatio", "totalPnl", "totalPnlRatio", "twap", "uplLiab", "frpType",
             "autoLendAmt", "autoLendMtAmt"]
    row: dict[str, Any] = dict.fromkeys(blank, "")
    row.update({
        "ccy": ccy, "eq": num(eq), "cashBal": num(cash), "uTime": str(acct.u_time or now),
        "isoEq": "0", "availEq": num(eq - imr - frozen), "disEq": num(eq * usd),
        "availBal": num(max(cash - frozen - imr, ZERO)), "frozenBal": num(frozen + imr),
        "ordFrozen": num(frozen), "upl": num(upl), "isoUpl": "0", "mgnRatio": "",
        "eqUsd": num(eq * usd), "notionalLever": "", "stgyEq": "0", "spotIsoBal": "0",
        "imr": num(imr) if ccy == "USDT" else "", "mmr": "", "spotBal": "",
        "colRes": "0", "collateralEnabled": False, "collateralRestrict": False,
        "autoLendStatus": "off",
    })
    return row


def _balance(ctx: Ctx) -> Reply:
    acct, now = ctx.acct, ctx.now
    marks = ctx.state.engine.mark_fn(now)
    wanted = [c for c in ctx.param("ccy").split(",") if c]
    ccys = wanted or sorted(c for c, v in acct.cash.items() if v != 0 or c == "USDT")
    spot = {i.base: i for i in ctx.state.instruments.values() if not i.is_swap}
    details = []
    total = ZERO
    for ccy in ccys:
        if ccy != "USDT" and ccy not in spot:
            continue
        usd = Decimal(1) if ccy == "USDT" else marks(spot[ccy])
        row = _detail(ccy, acct, marks, usd, now)
        total += Decimal(row["eqUsd"])
        details.append(row)
    imr = acct.imr(marks)
    notional = sum((p.notional(marks(p.inst)) for p in acct.positions.values()), ZERO)
    mmr = notional * _MMR
    eq = acct.usdt_eq(marks)
    return Reply([{
        "adjEq": "", "availEq": "", "borrowFroz": "", "details": details,
        "imr": num(imr), "isoEq": "0", "mgnRatio": num(eq / mmr) if mmr else "",
        "mmr": num(mmr), "notionalUsd": num(notional), "notionalUsdForBorrow": "",
        "notionalUsdForFutures": "0", "notionalUsdForOption": "0",
        "notionalUsdForSwap": num(notional), "ordFroz": num(acct.frozen("USDT")),
        "totalEq": num(total), "uTime": str(acct.u_time or now), "upl": num(acct.upl(marks)),
    }])


def _position_row(ctx: Ctx, acct: Account, pos: Position, marks: MarkCache) -> dict[str, Any]:
    mark = marks(pos.inst)
    upl, imr = pos.upl(mark), pos.imr(mark)
    notional = pos.notional(mark)
    size = pos.qty if pos.pos_side == "net" else abs(pos.qty)
    blank = ["baseBal", "baseBorrowed", "baseInterest", "bizRefId", "bizRefType",
             "clSpotInUseAmt", "deltaBS", "deltaPA", "gammaBS", "gammaPA", "hedgedPos",
             "interest", "liab", "liabCcy", "margin", "maxSpotInUseAmt", "nonSettleAvgPx",
             "optVal", "pendingCloseOrdLiabVal", "posCcy", "quoteBal", "quoteBorrowed",
             "quoteInterest", "settledPnl", "spotInUseAmt", "spotInUseCcy", "thetaBS",
             "thetaPA", "usdPx", "vegaBS", "vegaPA", "liqPx"]
    row: dict[str, Any] = dict.fromkeys(blank, "")
    row.update({
        "adl": "1", "availPos": num(abs(pos.qty)), "avgPx": num(pos.avg_px),
        "bePx": num(pos.avg_px), "cTime": str(pos.c_time), "ccy": "USDT",
        "closeOrderAlgo": [], "fee": num(pos.fee), "fundingFee": "0", "idxPx": num(mark),
        "imr": num(imr), "instId": pos.inst.inst_id, "instType": "SWAP", "last": num(mark),
        "lever": str(pos.lever), "liqPenalty": "0", "markPx": num(mark),
        "mgnMode": pos.mgn_mode, "mgnRatio": num(acct.usdt_eq(marks) / (notional * _MMR)),
        "mmr": num(notional * _MMR), "notionalUsd": num(notional), "pnl": num(pos.pnl),
        "pos": num(size), "posId": pos.pos_id, "posSide": pos.pos_side,
        "realizedPnl": num(pos.realized_pnl), "tradeId": pos.trade_id,
        "uTime": str(pos.u_time), "upl": num(upl), "uplLastPx": num(upl),
        "uplRatio": num(upl / imr) if imr else "0", "uplRatioLastPx": num(upl / imr) if imr
        else "0",
    })
    return row


def _positions(ctx: Ctx) -> Reply:
    inst_type = ctx.param("instType")
    if inst_type and inst_type not in {"MARGIN", "SWAP", "FUTURES", "OPTION"}:
        raise OkxError("51000", "instType")
    insts = {i.inst_id for i in _ids(ctx, "instId", 10)}
    pos_ids = {p for p in ctx.param("posId").split(",") if p}
    acct = ctx.acct
    marks = ctx.state.engine.mark_fn(ctx.now)
    rows = []
    for pos in sorted(acct.positions.values(), key=lambda p: p.c_time, reverse=True):
        if inst_type and inst_type != "SWAP":
            continue
        if (insts and pos.inst.inst_id not in insts) or (pos_ids and pos.pos_id not in pos_ids):
            continue
        rows.append(_position_row(ctx, acct, pos, marks))
    return Reply(rows)


def _config(ctx: Ctx) -> Reply:
    acct = ctx.acct
    return Reply([{
        "acctLv": acct.acct_lv, "acctStpMode": "cancel_maker", "autoLoan": False,
        "ctIsoMode": "automatic", "enableSpotBorrow": False, "greeksType": "PA", "feeType": "0",
        "ip": "", "type": "0", "kycLv": "3", "label": acct.name, "level": "Lv1",
        "levelTmp": "", "liquidationGear": "-1", "mainUid": ctx.state.main_uid,
        "mgnIsoMode": "automatic", "opAuth": "1", "perm": "read_only,trade",
        "posMode": acct.pos_mode, "roleType": "0", "spotBorrowAutoRepay": False,
        "spotOffsetType": "", "spotRoleType": "0", "spotTraderInsts": [], "stgyType": "0",
        "traderInsts": [], "uid": acct.uid, "settleCcy": "USDT", "settleCcyList": ["USDT"],
    }])


def _set_position_mode(ctx: Ctx) -> Reply:
    mode = require(ctx, "posMode")
    if mode not in {"net_mode", "long_short_mode"}:
        raise OkxError("51000", "posMode")
    acct = ctx.acct
    if mode != acct.pos_mode and (acct.positions or acct.pending()):
        raise OkxError("59000", msg="Settings failed. Close any open positions or orders first.")
    acct.pos_mode = mode
    return Reply([{"posMode": mode}])


def _mgn_mode(ctx: Ctx) -> str:
    mode = require(ctx, "mgnMode")
    if mode not in {"cross", "isolated"}:
        raise OkxError("51000", "mgnMode")
    return mode


def _set_leverage(ctx: Ctx) -> Reply:
    raw = require(ctx, "lever")
    mgn_mode = _mgn_mode(ctx)
    inst_id, ccy = ctx.param("instId"), ctx.param("ccy")
    if not inst_id and not ccy:
        raise OkxError("50014", "instId")
    pos_side = ctx.param("posSide")
    try:
        lever = Decimal(raw)
    except ArithmeticError:
        raise OkxError("51000", "lever") from None
    if not inst_id:
        return Reply([{"lever": raw, "mgnMode": mgn_mode, "instId": "", "posSide": pos_side}])
    inst = ctx.state.instruments.get(inst_id)
    if inst is None:
        raise OkxError("51001")
    if lever != lever.to_integral_value() or not 1 <= lever <= inst.max_lever:
        raise OkxError("51000", "lever")
    acct = ctx.acct
    if mgn_mode == "isolated" and acct.long_short and pos_side not in {"long", "short"}:
        raise OkxError("51000", "posSide")
    acct.set_lever(inst, mgn_mode, pos_side, int(lever))
    return Reply([{"lever": str(int(lever)), "mgnMode": mgn_mode, "instId": inst_id,
                   "posSide": pos_side}])


def _leverage_info(ctx: Ctx) -> Reply:
    mgn_mode = _mgn_mode(ctx)
    insts = _ids(ctx, "instId", 20)
    if not insts:
        raise OkxError("50014", "instId")
    acct = ctx.acct
    sides = ["long", "short"] if acct.long_short else ["net"]
    rows = [
        {"ccy": "", "instId": i.inst_id, "mgnMode": mgn_mode, "posSide": side,
         "lever": str(acct.get_lever(i, mgn_mode, side))}
        for i in insts for side in sides
    ]
    return Reply(rows)


def _max_size(ctx: Ctx) -> Reply:
    insts = _ids(ctx, "instId", 5)
    if not insts:
        raise OkxError("50014", "instId")
    td_mode = require(ctx, "tdMode")
    acct = ctx.acct
    marks = ctx.state.engine.mark_fn(ctx.now)
    avail = acct.avail_usdt(marks)
    rows = []
    for inst in insts:
        raw_px = ctx.param("px")
        px = Decimal(raw_px) if raw_px else marks(inst)
        if inst.is_swap:
            lever = Decimal(ctx.param("leverage") or acct.get_lever(inst, td_mode))
            most = max(avail, ZERO) * lever / (inst.ct_val * px)
            size = (most / inst.lot_sz).to_integral_value(ROUND_FLOOR) * inst.lot_sz
            rows.append({"ccy": "USDT", "instId": inst.inst_id, "maxBuy": num(size),
                         "maxSell": num(size)})
        else:
            cash = min(acct.avail_ccy(inst.quote), avail)
            buy = (max(cash, ZERO) / px / inst.lot_sz).to_integral_value(ROUND_FLOOR)
            rows.append({"ccy": "", "instId": inst.inst_id, "maxBuy": num(buy * inst.lot_sz),
                         "maxSell": num(max(acct.avail_ccy(inst.base), ZERO))})
    return Reply(rows)


ROUTES: dict[tuple[str, str], Route] = {
    ("GET", _P + "balance"): Route(_balance, private=True),
    ("GET", _P + "positions"): Route(_positions, private=True),
    ("GET", _P + "config"): Route(_config, private=True),
    ("POST", _P + "set-position-mode"): Route(_set_position_mode, private=True),
    ("POST", _P + "set-leverage"): Route(_set_leverage, private=True),
    ("GET", _P + "leverage-info"): Route(_leverage_info, private=True),
    ("GET", _P + "max-size"): Route(_max_size, private=True),
}
