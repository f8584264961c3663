"""Test control of trading conditions: liquidity (partial fills), instrument state, account level.

Endpoints (JSON in, JSON out; see :mod:`simulator.venue` for the models)::

    GET    /__sim/liquidity                          {instId: max_fill_sz, ...}
    POST   /__sim/liquidity {instId, max_fill_sz}    limit fills per order and simulated second
                                                     (max_fill_sz null/"" removes the limit)
    DELETE /__sim/liquidity[?instId=X]               remove one limit, or all of them
    GET    /__sim/instrument-state?instId=X          {instId, state}
    POST   /__sim/instrument-state {instId, state}   live | suspend | preopen | test
    GET    /__sim/account-level?account=NAME         {account, acctLv}
    POST   /__sim/account-level {account, acctLv}    "1" Spot, "2" Futures, "3" Multi-currency,
                                                     "4" Portfolio margin (refused with open
                                                     positions or orders, as OKX does)
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from simulator.accounts import Account
from simulator.catalogue import Instrument
from simulator.control_api import BadRequest, Json, View, read_body
from simulator.state import SimState

__all__ = ["VIEWS"]


async def _params(request: web.Request) -> Json:
    return await read_body(request) if request.method == "POST" else dict(request.query)


def _inst(state: SimState, params: Json, required: bool = True) -> Instrument | None:
    inst_id = str(params.get("instId") or "")
    if not inst_id and not required:
        return None
    inst = state.instruments.get(inst_id)
    if inst is None:
        raise BadRequest("unknown or missing instId")
    return inst


def _liquidity_json(state: SimState) -> Json:
    limits: dict[str, Any] = state.engine.venue.to_json()["liquidity"]
    return limits


async def _liquidity(state: SimState, request: web.Request) -> Json:
    venue = state.engine.venue
    params = await _params(request)
    if request.method != "GET":
        state.sync()  # orders match up to now under the old limit
    if request.method == "DELETE":
        venue.clear_liquidity(_inst(state, params, required=False))
    elif request.method == "POST":
        inst = _inst(state, params)
        assert inst is not None
        raw = params.get("max_fill_sz")
        if raw is None or raw == "":
            venue.clear_liquidity(inst)
        else:
            try:
                venue.set_liquidity(inst, Decimal(str(raw)))
            except InvalidOperation:
                raise BadRequest("max_fill_sz must be a number") from None
    return _liquidity_json(state)


async def _instrument_state(state: SimState, request: web.Request) -> Json:
    params = await _params(request)
    inst = _inst(state, params)
    assert inst is not None
    venue = state.engine.venue
    if request.method == "POST":
        state.sync()  # orders match up to now under the old state
        venue.set_state(inst, str(params.get("state", "")))
    return {"instId": inst.inst_id, "state": venue.state_of(inst)}


def _account(state: SimState, params: Json) -> Account:
    acct = state.account_by_name(str(params.get("account") or ""))
    if acct is None:
        raise BadRequest("unknown or missing account (use its name)")
    return acct


async def _account_level(state: SimState, request: web.Request) -> Json:
    params = await _params(request)
    acct = _account(state, params)
    if request.method == "POST":
        state.sync()
        state.set_acct_lv(acct, str(params.get("acctLv", "")))
    return {"account": acct.name, "acctLv": acct.acct_lv}


VIEWS: list[tuple[str, View, tuple[str, ...]]] = [
    ("liquidity", _liquidity, ("GET", "POST", "DELETE")),
    ("instrument-state", _instrument_state, ("GET", "POST")),
    ("account-level", _account_level, ("GET", "POST")),
]
