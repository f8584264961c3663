"""OKX WebSocket frames (business channel, candles) parsed at the edge into typed records.

A frame is the text ``pong`` or a JSON object: a push (``arg`` + ``data`` rows), an event
(``subscribe`` / ``unsubscribe`` acknowledgement, ``error`` with ``code``/``msg``, ``notice`` such
as 64008 before a service upgrade). :func:`parse_ws_frame` returns one of the records below or
raises :class:`~exchange.errors.BadResponse` naming what was wrong; candle rows go through the
same :func:`~exchange.parse.parse_candle` as REST, so a push and a REST row are one ``Candle``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from exchange.errors import BadResponse
from exchange.parse import parse_candle
from exchange.records import Candle

__all__ = ["CANDLE_PREFIX", "WsCandles", "WsEvent", "WsFrame", "WsPong", "candle_channel", "parse_ws_frame"]

CANDLE_PREFIX = "candle"
_ENDPOINT = "ws/v5/business"


def candle_channel(bar: str) -> str:
    """The channel of an OKX bar code: ``1m`` -> ``candle1m``, ``1Dutc`` -> ``candle1Dutc``."""
    return CANDLE_PREFIX + bar


@dataclass(frozen=True)
class WsPong:
    """The reply to the text ``ping``."""


@dataclass(frozen=True)
class WsEvent:
    """``subscribe`` / ``unsubscribe`` / ``error`` / ``notice`` (``channel``/``inst_id`` from ``arg``)."""

    event: str
    req_id: str | None = None
    channel: str = ""
    inst_id: str = ""
    code: str = ""
    msg: str = ""

    @property
    def describe(self) -> str:
        return f"{self.code}: {self.msg}" if self.code else self.event


@dataclass(frozen=True)
class WsCandles:
    """A candle push: the rows of one channel and instrument."""

    channel: str
    inst_id: str
    candles: tuple[Candle, ...]


WsFrame = WsPong | WsEvent | WsCandles


def _bad(what: str, raw: Any) -> BadResponse:
    return BadResponse("", f"{what}: {str(raw)[:200]}", endpoint=_ENDPOINT)


def _arg(body: dict[str, Any]) -> tuple[str, str]:
    arg = body.get("arg")
    if arg is None:
        return "", ""
    if not isinstance(arg, dict):
        raise _bad("websocket arg is not an object", arg)
    return str(arg.get("channel") or ""), str(arg.get("instId") or "")


def parse_ws_frame(text: str) -> WsFrame:
    """One text frame from OKX's WebSocket as a record."""
    if text == "pong":
        return WsPong()
    try:
        body = json.loads(text)
    except ValueError:
        raise _bad("websocket frame is not JSON", text) from None
    if not isinstance(body, dict):
        raise _bad("websocket frame is not an object", text)
    channel, inst_id = _arg(body)
    if "event" in body:
        req_id = body.get("id")
        return WsEvent(
            event=str(body["event"]),
            req_id=None if req_id is None else str(req_id),
            channel=channel,
            inst_id=inst_id,
            code=str(body.get("code") or ""),
            msg=str(body.get("msg") or ""),
        )
    data = body.get("data")
    if not channel.startswith(CANDLE_PREFIX) or not inst_id or not isinstance(data, list):
        raise _bad("websocket push without a candle arg and a data list", text)
    bar = channel[len(CANDLE_PREFIX):]
    return WsCandles(channel, inst_id, tuple(parse_candle(row, inst_id, bar) for row in data))
