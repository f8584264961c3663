"""The simulator's business WebSocket on the wire (a raw aiohttp client): acknowledgements, OKX's
error frames, ping/pong, forming updates and the confirm push after a close, test controls."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
import requests

from simulator.server import RunningSimulator

CLOSE_MS = int(datetime(2024, 3, 1, 0, 1, tzinfo=UTC).timestamp() * 1000)
BTC = {"channel": "candle1m", "instId": "BTC-USDT-SWAP"}


@pytest.fixture
def sim(sim_module: RunningSimulator) -> Iterator[RunningSimulator]:
    sim_module.control.reset()
    sim_module.control.ws(reset=True, delay_ms=50, jitter_ms=0)
    sim_module.control.set_clock(CLOSE_MS - 30_000, mode="frozen")
    yield sim_module
    sim_module.control.ws(reset=True, disconnect=True)
    sim_module.control.reset()


Session = Callable[[aiohttp.ClientWebSocketResponse], Awaitable[Any]]


def talk(sim: RunningSimulator, path: str, body: Session) -> Any:
    async def main() -> Any:
        url = sim.base_url.replace("http", "ws") + path
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            return await body(ws)

    return asyncio.run(main())


async def frames(ws: aiohttp.ClientWebSocketResponse, n: int) -> list[Any]:
    out = []
    for _ in range(n):
        msg = await ws.receive(timeout=5)
        out.append(msg.data if msg.data == "pong" else json.loads(msg.data))
    return out


def test_subscribe_is_acknowledged_per_arg_with_the_request_id(sim: RunningSimulator) -> None:
    async def body(ws: aiohttp.ClientWebSocketResponse) -> list[Any]:
        await ws.send_str(json.dumps({"id": "r1", "op": "subscribe", "args": [BTC]}))
        await ws.send_str("ping")
        return await frames(ws, 2)

    ack, pong = talk(sim, "/ws/v5/business", body)

    assert ack["id"] == "r1"
    assert ack["event"] == "subscribe"
    assert ack["arg"] == BTC
    assert ack["connId"]
    assert pong == "pong"


@pytest.mark.parametrize(
    ("path", "request_", "code"),
    [
        ("/ws/v5/public", {"op": "subscribe", "args": [BTC]}, "60018"),  # candles live on business
        ("/ws/v5/business", {"op": "subscribe", "args": [{**BTC, "instId": "NOPE-USDT"}]}, "60018"),
        ("/ws/v5/business", {"op": "subscribe", "args": [{"channel": "candle7m", "instId": "BTC-USDT"}]},
         "60013"),
        ("/ws/v5/business", {"op": "subscribe", "args": [{"channel": "candle1m"}]}, "60013"),
        ("/ws/v5/business", {"op": "subscribe", "args": [{"channel": "tickers", "instId": "BTC-USDT"}]},
         "60013"),
        ("/ws/v5/business", {"op": "subscribe"}, "60012"),
        ("/ws/v5/business", {"op": "login", "args": []}, "60012"),
    ],
)  # fmt: skip
def test_bad_subscriptions_get_okx_error_frames(
    sim: RunningSimulator, path: str, request_: dict[str, Any], code: str
) -> None:
    async def body(ws: aiohttp.ClientWebSocketResponse) -> list[Any]:
        await ws.send_str(json.dumps(request_))
        return await frames(ws, 1)

    [frame] = talk(sim, path, body)

    assert frame["event"] == "error"
    assert frame["code"] == code
    assert frame["msg"]


def test_one_bad_arg_does_not_refuse_the_others(sim: RunningSimulator) -> None:
    args = [BTC, {**BTC, "instId": "NOPE-USDT"}, {**BTC, "instId": "ETH-USDT-SWAP"}]

    async def body(ws: aiohttp.ClientWebSocketResponse) -> list[Any]:
        await ws.send_str(json.dumps({"id": "7", "op": "subscribe", "args": args}))
        return await frames(ws, 3)

    got = talk(sim, "/ws/v5/business", body)

    assert [(f["event"], f.get("arg", {}).get("instId")) for f in got] == [
        ("subscribe", "BTC-USDT-SWAP"), ("error", None), ("subscribe", "ETH-USDT-SWAP"),
    ]  # fmt: skip
    assert "NOPE-USDT" in got[1]["msg"]
    assert sim.control.ws()["subscriptions"] == 0  # the connection is gone again


def test_forming_updates_then_one_confirm_push_after_the_close(sim: RunningSimulator) -> None:
    async def body(ws: aiohttp.ClientWebSocketResponse) -> list[Any]:
        await ws.send_str(json.dumps({"op": "subscribe", "args": [BTC]}))
        got = await frames(ws, 2)  # ack + a forming update
        await asyncio.to_thread(sim.control.set_clock, CLOSE_MS + 100, mode="frozen")
        return got + await frames(ws, 1)

    _ack, forming, confirm = talk(sim, "/ws/v5/business", body)

    assert forming["arg"] == BTC
    [row] = forming["data"]
    assert (int(row[0]), row[8]) == (CLOSE_MS - 60_000, "0")
    [row] = confirm["data"]
    assert len(row) == 9
    assert (int(row[0]), row[8]) == (CLOSE_MS - 60_000, "1")
    reply = requests.get(
        f"{sim.base_url}/api/v5/market/candles",
        params={"instId": "BTC-USDT-SWAP", "bar": "1m", "limit": "2"},
        timeout=5,
    ).json()
    assert reply["data"][1] == row  # the push is exactly what REST serves for the closed bar


def test_refuse_and_disconnect(sim: RunningSimulator) -> None:
    async def body(ws: aiohttp.ClientWebSocketResponse) -> Any:
        await ws.send_str(json.dumps({"op": "subscribe", "args": [BTC]}))
        await frames(ws, 1)
        await asyncio.to_thread(sim.control.ws, disconnect=True, refuse=True)
        return await ws.receive(timeout=5)

    closing = talk(sim, "/ws/v5/business", body)

    assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        talk(sim, "/ws/v5/business", lambda ws: frames(ws, 1))
    assert err.value.status == 503
