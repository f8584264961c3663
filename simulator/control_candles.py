"""Test control of served candles (see :mod:`simulator.candle_edits`)::

    GET    /__sim/candle-edits                          [{instId, bar, ts, hidden, fields}, ...]
    POST   /__sim/candle-edits {instId, bar, ts, hidden: true}        never serve that row
    POST   /__sim/candle-edits {instId, bar, ts, fields: {vol: ...}}  serve it with these values
    DELETE /__sim/candle-edits[?instId=X]                             serve as generated again
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from simulator.bars import parse_bar
from simulator.control_api import BadRequest, Json, View, read_body
from simulator.state import SimState

__all__ = ["VIEWS"]


def _edit(state: SimState, params: Json) -> None:
    inst_id = str(params.get("instId") or "")
    if inst_id not in state.instruments:
        raise BadRequest("unknown or missing instId")
    bar = str(params.get("bar") or "1m")
    if parse_bar(bar, history=True) is None:
        raise BadRequest(f"unknown bar {bar!r}")
    try:
        ts = int(str(params.get("ts")))
    except ValueError:
        raise BadRequest("ts must be the bar's open time in epoch ms") from None
    edits = state.candles.edits
    if params.get("hidden"):
        edits.hide(inst_id, bar, ts)
        return
    fields = params.get("fields")
    if not isinstance(fields, dict):
        raise BadRequest("give hidden: true or fields: {o, h, l, c, vol, volCcy, volCcyQuote}")
    try:
        edits.change(inst_id, bar, ts, {str(k): str(v) for k, v in fields.items()})
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


async def _candle_edits(state: SimState, request: web.Request) -> Any:
    edits = state.candles.edits
    if request.method == "POST":
        _edit(state, await read_body(request))
    elif request.method == "DELETE":
        edits.remove(request.query.get("instId") or None)
    result: list[Json] = edits.to_json()
    return result


VIEWS: list[tuple[str, View, tuple[str, ...]]] = [
    ("candle-edits", _candle_edits, ("GET", "POST", "DELETE")),
]
