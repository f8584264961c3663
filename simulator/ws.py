"""The business WebSocket: candle subscriptions and pushes on ``/ws/v5/business`` (and the public
path, which refuses candle channels with 60018 as OKX does).

Every subscribed ``candle<bar>`` gets, like OKX:

- updates of the forming bar (``confirm "0"``) every ``update_ms`` of wall time;
- one ``confirm "1"`` push of the bar that just closed, ``delay_ms`` + up to ``jitter_ms`` of
  simulated time after its close (the hub notices the close on the simulator clock, whether it
  runs or is moved through ``/__sim/clock``); the next bar's updates follow it.

Test controls (:class:`WsSettings`, ``GET/POST /__sim/ws``): push delay and jitter, a random
``drop_rate`` for every push, ``drop_confirm`` instruments whose confirm push is lost (the next
bar's updates still come), ``never_confirm`` instruments whose closed bar is pushed again as
``confirm "0"`` and then nothing more, ``echo`` (every confirm push is followed by a duplicate, the
previous bar's confirm and a stale forming row of the closed bar: duplicates and out-of-order
pushes), ``disconnect`` (close every connection now), ``reset`` (defaults again) and ``refuse``
(HTTP 503 on new connections, for downtime). A connection from which nothing was received for
``idle_ms`` (30 s) of wall time is closed, as OKX does when the client does not ping.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from simulator.bars import BarSpec, bar_open, next_open, prev_open
from simulator.control_api import BadRequest, Json, read_body, register
from simulator.state import STATE, SimState
from simulator.ws_frames import BUSINESS, PUBLIC, Sub, WsError, ack, error, parse_request, push, resolve

__all__ = ["HUB", "WsHub", "WsSettings", "setup"]

log = logging.getLogger(__name__)
_TICK_S = 0.05


@dataclass
class WsSettings:
    delay_ms: int = 100
    jitter_ms: int = 200
    update_ms: int = 1000
    idle_ms: int = 30_000
    drop_rate: float = 0.0
    drop_confirm: set[str] = field(default_factory=set)
    never_confirm: set[str] = field(default_factory=set)
    echo: bool = False
    refuse: bool = False

    def to_json(self) -> Json:
        return {
            "delay_ms": self.delay_ms, "jitter_ms": self.jitter_ms, "update_ms": self.update_ms,
            "idle_ms": self.idle_ms,
            "drop_rate": self.drop_rate, "drop_confirm": sorted(self.drop_confirm),
            "never_confirm": sorted(self.never_confirm), "echo": self.echo, "refuse": self.refuse,
        }  # fmt: skip

    def update(self, body: Json) -> None:
        for name in ("delay_ms", "jitter_ms", "update_ms", "idle_ms"):
            if name in body:
                value = int(body[name])
                if value < 0:
                    raise BadRequest(f"{name} must be >= 0")
                setattr(self, name, value)
        if "drop_rate" in body:
            rate = float(body["drop_rate"])
            if not 0 <= rate <= 1:
                raise BadRequest("drop_rate must be within [0, 1]")
            self.drop_rate = rate
        for name in ("drop_confirm", "never_confirm"):
            if name in body:
                if not isinstance(body[name], list):
                    raise BadRequest(f"{name} must be a list of instIds")
                setattr(self, name, {str(i) for i in body[name]})
        for name in ("echo", "refuse"):
            if name in body:
                setattr(self, name, bool(body[name]))


@dataclass(eq=False)
class _Conn:
    ws: web.WebSocketResponse
    conn_id: str
    path: str
    subs: dict[tuple[str, str], Sub] = field(default_factory=dict)
    confirming: set[tuple[str, str]] = field(default_factory=set)  # confirm push still due
    opens: dict[tuple[str, str], int] = field(default_factory=dict)  # forming bar last seen per sub
    queue: asyncio.Queue[str] = field(default_factory=asyncio.Queue)


class WsHub:
    """Connections, subscriptions and the push schedule of one simulator."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self.settings = WsSettings()
        self.conns: set[_Conn] = set()
        self.connections_total = 0
        self.pushes = 0
        self._ids = itertools.count(1)
        self._rng = random.Random(state.options.seed)  # noqa: S311 - simulated jitter
        self._last_update = 0.0
        self._task: asyncio.Task[None] | None = None

    # ---- lifecycle ------------------------------------------------------------------------------
    async def start(self, app: web.Application) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self, app: web.Application) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.disconnect()

    async def disconnect(self) -> int:
        """Close every connection (server side); returns how many were open."""
        conns = list(self.conns)
        for conn in conns:
            await conn.ws.close(code=1001, message=b"server disconnect")
        return len(conns)

    # ---- one connection -------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.settings.refuse:
            return web.Response(status=503, text="service unavailable")
        ws = web.WebSocketResponse(autoping=True, heartbeat=None)
        await ws.prepare(request)
        conn = _Conn(ws, f"{next(self._ids):08x}", request.path)
        self.conns.add(conn)
        self.connections_total += 1
        writer = asyncio.create_task(self._write(conn))
        try:
            while True:
                try:
                    msg = await ws.receive(timeout=self.settings.idle_ms / 1000)
                except TimeoutError:
                    break  # the client stopped pinging
                if msg.type != WSMsgType.TEXT:
                    break
                if msg.data == "ping":
                    conn.queue.put_nowait("pong")
                else:
                    self._request(conn, msg.data)
        finally:
            self.conns.discard(conn)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            await ws.close()
        return ws

    def _request(self, conn: _Conn, text: str) -> None:
        try:
            op, req_id, args = parse_request(text)
        except WsError as err:
            conn.queue.put_nowait(error(err, conn.conn_id, None))
            return
        for arg in args:
            try:
                sub = resolve(arg, conn.path, self.state.instruments)
            except WsError as err:
                conn.queue.put_nowait(error(err, conn.conn_id, req_id))
                continue
            key = (sub.channel, sub.inst_id)
            if op == "subscribe":
                conn.subs[key] = sub
                conn.opens.setdefault(key, bar_open(self.state.now(), sub.spec))
            else:
                conn.subs.pop(key, None)
            conn.queue.put_nowait(ack(op, sub, conn.conn_id, req_id))

    @staticmethod
    async def _write(conn: _Conn) -> None:
        while True:
            frame = await conn.queue.get()
            if conn.ws.closed:
                return
            await conn.ws.send_str(frame)

    # ---- pushes ---------------------------------------------------------------------------------
    def _specs(self) -> dict[str, BarSpec]:
        return {s.spec.code: s.spec for c in self.conns for s in c.subs.values()}

    def _wall_s(self, sim_ms: float) -> float:
        clock = self.state.clock
        return sim_ms / 1000 / (1.0 if clock.frozen else clock.speed)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(_TICK_S)
            try:
                self._tick(loop)
            except Exception:  # the pusher must survive anything a test does to the state
                log.exception("websocket push tick failed")

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        now = self.state.now()
        current = {code: bar_open(now, spec) for code, spec in self._specs().items()}
        for conn in list(self.conns):
            for key, sub in conn.subs.items():
                forming = current[sub.spec.code]
                last = conn.opens.get(key, forming)
                conn.opens[key] = forming
                if forming > last:  # the bar closed (a clock moved backwards closes nothing)
                    conn.confirming.add(key)
                    delay = self.settings.delay_ms + self._rng.uniform(0, self.settings.jitter_ms)
                    closed = prev_open(forming, sub.spec)
                    loop.call_later(self._wall_s(delay), self._confirm, conn, sub, closed)
        every = self.settings.update_ms / 1000
        if every and loop.time() - self._last_update >= every:
            self._last_update = loop.time()
            for conn in list(self.conns):
                for key, sub in conn.subs.items():
                    if key not in conn.confirming and sub.inst_id not in self.settings.never_confirm:
                        self._send(conn, sub, bar_open(now, sub.spec), now)

    def _confirm(self, conn: _Conn, sub: Sub, open_ms: int) -> None:
        conn.confirming.discard((sub.channel, sub.inst_id))
        if conn not in self.conns or (sub.channel, sub.inst_id) not in conn.subs:
            return
        if sub.inst_id in self.settings.drop_confirm:
            return
        now = max(self.state.now(), next_open(open_ms, sub.spec))
        self._send(conn, sub, open_ms, now, stuck=sub.inst_id in self.settings.never_confirm)
        if self.settings.echo:  # the same confirm again, an older bar's, a stale forming row
            self._send(conn, sub, open_ms, now)
            self._send(conn, sub, prev_open(open_ms, sub.spec), now)
            self._send(conn, sub, open_ms, now, stuck=True)

    def _send(self, conn: _Conn, sub: Sub, open_ms: int, now: int, *, stuck: bool = False) -> None:
        if self.settings.drop_rate and self._rng.random() < self.settings.drop_rate:
            return
        inst = self.state.instruments[sub.inst_id]
        row = self.state.candles.rows(inst, sub.spec, [open_ms], now)[0]
        if stuck:
            row[8] = "0"
        conn.queue.put_nowait(push(sub, row))
        self.pushes += 1

    def to_json(self) -> Json:
        return {
            **self.settings.to_json(),
            "connections": len(self.conns),
            "connections_total": self.connections_total,
            "subscriptions": sum(len(c.subs) for c in self.conns),
            "pushes": self.pushes,
        }


HUB: web.AppKey[WsHub] = web.AppKey("okx_simulator_ws", WsHub)


async def _control(state: SimState, request: web.Request) -> Any:
    hub = request.app[HUB]
    if request.method == "POST":
        body = await read_body(request)
        if body.get("reset"):
            hub.settings = WsSettings()
        hub.settings.update(body)
        if body.get("disconnect"):
            await hub.disconnect()
    return hub.to_json()


def setup(app: web.Application) -> None:
    """Serve the WebSocket paths and ``/__sim/ws`` on ``app``."""
    hub = WsHub(app[STATE])
    app[HUB] = hub
    app.on_startup.append(hub.start)
    app.on_shutdown.append(hub.stop)
    app.router.add_get(BUSINESS, hub.handle)
    app.router.add_get(PUBLIC, hub.handle)
    register(app, [("ws", _control, ("GET", "POST"))])
