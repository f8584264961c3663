"""Master-account endpoints (sub-accounts, funding, transfers) and their ``/__sim/treasury`` control.

OKX endpoints (master key only, except ``asset/transfer`` type 0 and ``asset/balances``)::

    GET  /api/v5/users/subaccount/list             subAcct, uid, canTransOut, enable, ...
    GET  /api/v5/account/subaccount/balances       a sub's trading balance (account/balance shape)
    GET  /api/v5/asset/subaccount/balances         a sub's funding balances
    GET  /api/v5/account/subaccount/max-withdrawal a sub's maxWd per currency
    GET  /api/v5/asset/balances                    the caller's funding balances
    GET  /api/v5/account/max-withdrawal            the caller's maxWd
    POST /api/v5/asset/transfer                    type 0 (own 6<->18), 1 master->sub, 2 sub->master
    POST /api/v5/asset/subaccount/transfer         sub -> sub
    GET  /api/v5/asset/transfer-state              by transId or clientId

Control (JSON)::

    GET  /__sim/treasury     master, settlement, forced errors, funding balances, every transfer
    POST /__sim/treasury     {master, settlement: bool, forced: {account: code|null},
                              can_trans_out: {account: bool}, funding: {account: amount}}
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp import web

from simulator import account_api
from simulator.accounts import ZERO, Account
from simulator.api import Ctx, Reply, Route, require
from simulator.control_api import BadRequest, Json, View, read_body
from simulator.errors import OkxError
from simulator.orders import num
from simulator.state import SimState
from simulator.treasury_book import FUNDING, TRADING, Leg, Transfer, max_withdrawal
from simulator.validation import Rejected, decimal_param

__all__ = ["ROUTES", "VIEWS"]

_KINDS = (FUNDING, TRADING)


def _sub(ctx: Ctx, key: str = "subAcct") -> Account:
    ctx.state.treasury.require_master(ctx.acct)
    acct = ctx.state.account_by_name(require(ctx, key))
    if acct is None or ctx.state.treasury.is_master(acct):
        raise OkxError("51000", key)
    return acct


def _subs(ctx: Ctx) -> Reply:
    book = ctx.state.treasury
    book.require_master(ctx.acct)
    wanted = ctx.param("subAcct")
    rows = [
        {"canTransOut": a.name not in book.no_trans_out, "enable": True, "frozenFunc": [],
         "gAuth": False, "label": a.name, "mobile": "", "subAcct": a.name, "ts": str(a.u_time),
         "type": "1", "uid": a.uid, "subAcctLv": "1", "firstLvSubAcct": a.name, "ifDma": False}
        for a in ctx.state.accounts.values()
        if not book.is_master(a) and (not wanted or a.name == wanted)
    ]  # fmt: skip
    return Reply(rows)


def _sub_trading_balance(ctx: Ctx) -> Reply:
    sub = _sub(ctx)
    handler = account_api.ROUTES[("GET", "/api/v5/account/balance")].handler
    return handler(Ctx(ctx.state, ctx.method, ctx.path, {}, {}, sub, ctx.now))


def _funding_rows(ctx: Ctx, acct: Account) -> Reply:
    bucket = ctx.state.treasury.funding.get(acct.name, {})
    wanted = [c for c in ctx.param("ccy").split(",") if c]
    ccys = wanted or sorted(c for c, v in bucket.items() if v != 0)
    return Reply([
        {"ccy": c, "bal": num(bucket.get(c, ZERO)), "frozenBal": "0", "availBal": num(bucket.get(c, ZERO))}
        for c in ccys
    ])  # fmt: skip


def _max_wd_rows(ctx: Ctx, acct: Account) -> Reply:
    marks = ctx.state.engine.mark_fn(ctx.now)
    wanted = [c for c in ctx.param("ccy").split(",") if c]
    ccys = wanted or sorted(c for c, v in acct.cash.items() if v != 0 or c == "USDT")
    rows = []
    for c in ccys:
        wd = num(max_withdrawal(acct, c, marks))
        rows.append({"ccy": c, "maxWd": wd, "maxWdEx": wd, "spotOffsetMaxWd": "", "spotOffsetMaxWdEx": ""})
    return Reply(rows)


def _kind(ctx: Ctx, key: str) -> str:
    value = require(ctx, key)
    if value not in _KINDS:
        raise OkxError("51000", key)
    return value


def _amount(ctx: Ctx) -> Decimal:
    try:
        return decimal_param(require(ctx, "amt"), "amt")
    except Rejected:
        raise OkxError("51000", "amt") from None


def _ack(t: Transfer) -> dict[str, str]:
    return {
        "transId": t.trans_id,
        "ccy": t.ccy,
        "clientId": t.client_id,
        "from": t.src,
        "amt": str(t.amt),
        "to": t.dst,
    }


def _transfer(ctx: Ctx) -> Reply:
    state, book, caller = ctx.state, ctx.state.treasury, ctx.acct
    client_id = ctx.param("clientId")
    done = book.previous(caller, client_id)
    if done is not None:  # the same clientId again: the first transfer, nothing moves twice
        return Reply([_ack(done)])
    type_ = ctx.param("type") or "0"
    ccy, amt = require(ctx, "ccy"), _amount(ctx)
    src_kind, dst_kind = _kind(ctx, "from"), _kind(ctx, "to")
    if type_ == "0":
        if src_kind == dst_kind:
            raise OkxError("51000", "to")
        src, dst, sub_name = Leg(caller, src_kind), Leg(caller, dst_kind), ""
    elif type_ in ("1", "2"):
        sub = _sub(ctx)
        master_leg, sub_leg = (
            Leg(caller, src_kind if type_ == "1" else dst_kind),
            Leg(sub, dst_kind if type_ == "1" else src_kind),
        )
        src, dst = (master_leg, sub_leg) if type_ == "1" else (sub_leg, master_leg)
        sub_name = sub.name
    else:
        raise OkxError("51000", "type")
    t = book.move(
        caller,
        src,
        dst,
        ccy,
        amt,
        type_=type_,
        client_id=client_id,
        now=ctx.now,
        marks=state.engine.mark_fn(ctx.now),
        sub_acct=sub_name,
    )
    return Reply([_ack(t)])


def _sub_transfer(ctx: Ctx) -> Reply:
    state, book, caller = ctx.state, ctx.state.treasury, ctx.acct
    client_id = ctx.param("clientId")
    done = book.previous(caller, client_id)
    if done is not None:
        return Reply([{"transId": done.trans_id, "clientId": done.client_id}])
    src_acct, dst_acct = _sub(ctx, "fromSubAccount"), _sub(ctx, "toSubAccount")
    if src_acct is dst_acct:
        raise OkxError("51000", "toSubAccount")
    ccy, amt = require(ctx, "ccy"), _amount(ctx)
    src, dst = Leg(src_acct, _kind(ctx, "from")), Leg(dst_acct, _kind(ctx, "to"))
    t = book.move(
        caller,
        src,
        dst,
        ccy,
        amt,
        type_="4",
        client_id=client_id,
        now=ctx.now,
        marks=state.engine.mark_fn(ctx.now),
        sub_acct=src_acct.name,
    )
    return Reply([{"transId": t.trans_id, "clientId": t.client_id}])


def _transfer_state(ctx: Ctx) -> Reply:
    trans_id, client_id = ctx.param("transId"), ctx.param("clientId")
    if not trans_id and not client_id:
        raise OkxError("50014", "transId")
    t = ctx.state.treasury.find(ctx.acct, trans_id, client_id)
    return Reply([t.state_row()] if t is not None else [])


ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/api/v5/users/subaccount/list"): Route(_subs, private=True),
    ("GET", "/api/v5/account/subaccount/balances"): Route(_sub_trading_balance, private=True),
    ("GET", "/api/v5/asset/subaccount/balances"): Route(lambda c: _funding_rows(c, _sub(c)), private=True),
    ("GET", "/api/v5/account/subaccount/max-withdrawal"): Route(
        lambda c: _max_wd_rows(c, _sub(c)), private=True
    ),
    ("GET", "/api/v5/asset/balances"): Route(lambda c: _funding_rows(c, c.acct), private=True),
    ("GET", "/api/v5/account/max-withdrawal"): Route(lambda c: _max_wd_rows(c, c.acct), private=True),
    ("POST", "/api/v5/asset/transfer"): Route(_transfer, private=True),
    ("POST", "/api/v5/asset/subaccount/transfer"): Route(_sub_transfer, private=True),
    ("GET", "/api/v5/asset/transfer-state"): Route(_transfer_state, private=True),
}


def _account(state: SimState, name: str) -> Account:
    acct = state.account_by_name(name)
    if acct is None:
        raise BadRequest(f"unknown account {name!r}")
    return acct


async def _treasury(state: SimState, request: web.Request) -> Json:
    book = state.treasury
    if request.method == "POST":
        body: dict[str, Any] = await read_body(request)
        if "master" in body:
            book.master = _account(state, str(body["master"])).name if body["master"] else None
        if "settlement" in body:
            book.settlement = bool(body["settlement"])
        for name, code in dict(body.get("forced") or {}).items():
            _account(state, name)
            if code:
                book.forced[name] = str(code)
            else:
                book.forced.pop(name, None)
        for name, allowed in dict(body.get("can_trans_out") or {}).items():
            _account(state, name)
            (book.no_trans_out.discard if allowed else book.no_trans_out.add)(name)
        for name, amount in dict(body.get("funding") or {}).items():
            _account(state, name)
            book.funding.setdefault(name, {})["USDT"] = Decimal(str(amount))
    return book.to_json(lambda: [a.name for a in state.accounts.values()])


VIEWS: list[tuple[str, View, tuple[str, ...]]] = [("treasury", _treasury, ("GET", "POST"))]
