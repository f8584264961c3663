"""OKX WebSocket frames of the candle channels — pure functions, no I/O.

Client requests are ``{"id": "...", "op": "subscribe" | "unsubscribe", "args": [{"channel":
"candle1m", "instId": "BTC-USDT-SWAP"}, ...]}`` (``id`` optional) or the text ``ping``. Replies:

- acknowledgement per arg: ``{"id", "event": "subscribe", "arg": {...}, "connId"}``;
- error: ``{"id", "event": "error", "code", "msg", "connId"}`` — ``60012`` a request that is not
  a JSON object with a known ``op`` and an ``args`` list, ``60013`` an arg without a channel or
  instId or with an unknown bar, ``60018`` a candle channel on the public path (OKX serves candles
  on ``/ws/v5/business`` only) or an instrument that does not exist;
- push: ``{"arg": {...}, "data": [[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]]}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from simulator.bars import BarSpec, parse_bar

__all__ = ["BUSINESS", "PUBLIC", "Sub", "WsError", "ack", "error", "parse_request", "push", "resolve"]

BUSINESS = "/ws/v5/business"
PUBLIC = "/ws/v5/public"
_OPS = ("subscribe", "unsubscribe")


class WsError(Exception):
    """A request refused with an OKX WebSocket error code."""

    def __init__(self, code: str, msg: str) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg


@dataclass(frozen=True)
class Sub:
    """One subscription: channel, instrument and the bar it streams."""

    channel: str
    inst_id: str
    spec: BarSpec

    @property
    def arg(self) -> dict[str, str]:
        return {"channel": self.channel, "instId": self.inst_id}


def parse_request(text: str) -> tuple[str, str | None, list[Any]]:
    """``(op, id, args)`` of a client frame; :class:`WsError` 60012 if it is not a valid request."""
    try:
        body = json.loads(text)
    except ValueError:
        raise WsError("60012", f"Invalid request: {text[:200]}") from None
    if not isinstance(body, dict) or body.get("op") not in _OPS or not isinstance(body.get("args"), list):
        raise WsError("60012", f"Invalid request: {text[:200]}")
    req_id = body.get("id")
    return str(body["op"]), None if req_id is None else str(req_id), body["args"]


def resolve(arg: Any, path: str, instruments: Mapping[str, object]) -> Sub:
    """The subscription an arg asks for on ``path``, or :class:`WsError` (60013 / 60018)."""
    if not isinstance(arg, dict):
        raise WsError("60013", f"Invalid args: {arg!r}")
    channel, inst_id = arg.get("channel"), arg.get("instId")
    if not isinstance(channel, str) or not channel.startswith("candle"):
        raise WsError("60013", f"Invalid args: channel {channel!r} is not served")
    spec = parse_bar(channel[len("candle"):], history=False)
    if spec is None or not isinstance(inst_id, str) or not inst_id:
        raise WsError("60013", f"Invalid args: {json.dumps(arg)}")
    if path != BUSINESS or inst_id not in instruments:
        raise WsError(
            "60018",
            f"Wrong URL or channel:{channel},instId:{inst_id} doesn't exist. Please use the correct "
            "URL, channel and parameters referring to API document.",
        )
    return Sub(channel, inst_id, spec)


def _with_id(frame: dict[str, Any], req_id: str | None) -> str:
    if req_id is not None:
        frame = {"id": req_id, **frame}
    return json.dumps(frame, separators=(",", ":"))


def ack(op: str, sub: Sub, conn_id: str, req_id: str | None) -> str:
    return _with_id({"event": op, "arg": sub.arg, "connId": conn_id}, req_id)


def error(err: WsError, conn_id: str, req_id: str | None) -> str:
    return _with_id({"event": "error", "code": err.code, "msg": err.msg, "connId": conn_id}, req_id)


def push(sub: Sub, row: list[str]) -> str:
    return json.dumps({"arg": sub.arg, "data": [row]}, separators=(",", ":"))
