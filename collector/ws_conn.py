"""One WebSocket connection of the candle feed: connect, subscribe, keep alive, reconnect.

:meth:`WsConnection.run` loops until stopped: wait for the shared :class:`ConnectGate` (OKX allows
3 connection attempts per second per IP), connect with aiohttp, subscribe its instruments in
requests under 64 KB, read pushes into the :class:`~collector.ws_book.CandleBook`, send the text
``ping`` every ``ping_every_s`` (OKX drops a connection silent for 30 s and ignores protocol
pings), and treat ``ping_every_s + pong_timeout_s`` without any frame as a dead connection. After
any close or error its instruments go "down" in the book (the cycle then takes them from REST at
once) and it reconnects after a jittered exponential backoff, subscribing everything again.

A subscription refused with an error event (60018 unknown instrument, 60012/60013 bad args) is
isolated: once the request has settled, its still unacknowledged instruments are subscribed again
in halves until a single refused instrument is left; that one is marked refused in the book (so
REST serves it — and fails it — alone) and the others stream normally.

Problems are notified, not only logged (through ``notify(kind, detail, inst_id)``, rate-limited):
``ws_down`` once per outage, when ``down_after`` connection attempts in a row have failed — an
attempt fails unless a subscription was acknowledged and the connection then stayed up
``stable_s``, so a connection that keeps dropping counts too — then ``ws_recovered`` once a
connection has stayed subscribed for ``stable_s``; ``ws_refused`` once per refused instrument.

Keep-alive, backoff and the connection gate count in the event loop's monotonic time, not the
process clock: OKX's 30 s idle rule and 3-attempts-per-second limit are wall-time rules, also
when a demo runs a scaled clock.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import deque
from collections.abc import Callable, Sequence

import aiohttp

from collector.ws_book import CandleBook
from collector.ws_plan import backoff_s, batches, candle_args
from exchange.errors import BadResponse
from exchange.ws_parse import WsCandles, WsEvent, candle_channel, parse_ws_frame

__all__ = ["ConnectGate", "Notify", "WsConnection"]

log = logging.getLogger(__name__)
Notify = Callable[[str, str, "str | None"], None]  # (kind, detail, inst_id)


def _ignore(kind: str, detail: str, inst_id: str | None) -> None:
    return None


class ConnectGate:
    """At most ``per_second`` connection attempts in any one-second window (shared by connections)."""

    def __init__(self, per_second: int = 3) -> None:
        self.per_second = per_second
        self._times: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            loop = asyncio.get_running_loop()
            while True:
                now = loop.time()
                while self._times and now - self._times[0] >= 1.0:
                    self._times.popleft()
                if len(self._times) < self.per_second:
                    self._times.append(now)
                    return
                await asyncio.sleep(1.0 - (now - self._times[0]))


class _Dead(Exception):
    """No frame for longer than the keep-alive allows."""


class WsConnection:
    """Subscriptions of ``inst_ids`` to ``candle<bar>`` on one connection, kept alive forever."""

    def __init__(
        self,
        index: int,
        url: str,
        bar: str,
        inst_ids: Sequence[str],
        book: CandleBook,
        gate: ConnectGate,
        *,
        ping_every_s: float = 25.0,
        pong_timeout_s: float = 10.0,
        settle_s: float = 1.0,
        rng: random.Random | None = None,
        notify: Notify | None = None,
        down_after: int = 3,
        stable_s: float = 60.0,
    ) -> None:
        self.name = f"ws#{index}"
        self.url = url
        self.channel = candle_channel(bar)
        self.inst_ids = tuple(inst_ids)
        self.book = book
        self.gate = gate
        self.ping_every_s = ping_every_s
        self.pong_timeout_s = pong_timeout_s
        self.settle_s = settle_s
        self._rng = rng or random.Random()  # noqa: S311 - backoff jitter
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._pending: dict[str, set[str]] = {}
        self._seq = 0
        self._acked = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.connects = 0
        self.notify: Notify = notify or _ignore
        self.down_after = down_after
        self.stable_s = stable_s
        self.failures = 0  # connection attempts in a row that did not stay subscribed for stable_s
        self._acked_at: float | None = None  # loop time of this connection's first acknowledgement
        self.outage = False  # ws_down was notified and no connection has been stable since
        self._refusals_told: set[str] = set()

    @property
    def is_open(self) -> bool:
        return self._ws is not None and not self._ws.closed

    async def run(self, session: aiohttp.ClientSession, stopping: asyncio.Event) -> None:
        attempt = 0
        while not stopping.is_set():
            await self.gate.wait()
            self._acked = False
            self._acked_at = None
            problem = "closed"
            try:
                async with session.ws_connect(self.url, autoping=True, heartbeat=None) as ws:
                    self._ws = ws
                    self.connects += 1
                    if self.connects > 1:
                        self.book.reconnected()
                        log.warning("%s: reconnected; bars closed while down come from REST", self.name)
                    await self._subscribe(self.inst_ids)
                    await self._read(ws)
                    problem = f"closed by the server (code {ws.close_code})"
                    if not stopping.is_set():
                        log.warning("%s: %s", self.name, problem)
            except (aiohttp.ClientError, TimeoutError, OSError, _Dead) as exc:
                problem = f"{type(exc).__name__}: {exc}"
                if not stopping.is_set():
                    log.warning("%s: %s", self.name, problem)
            except Exception as exc:  # a bug must not end the feed: log it, reconnect
                problem = f"unexpected {type(exc).__name__}: {exc}"
                log.exception("%s: unexpected error; reconnecting", self.name)
            finally:
                self._ws = None
                self._pending.clear()
                self.book.set_live(self.inst_ids, False)
            attempt = 1 if self._acked else attempt + 1
            self.failures = 0 if self._was_stable() else self.failures + 1
            if not stopping.is_set():
                self._check_down(self.failures, problem)
            delay = backoff_s(attempt, self._rng)
            try:
                await asyncio.wait_for(stopping.wait(), delay)
            except TimeoutError:
                continue

    def _check_down(self, failures: int, problem: str) -> None:
        """Notify an outage once, when ``down_after`` attempts in a row have failed."""
        if self.outage or failures < self.down_after:
            return
        self.outage = True
        self.notify(
            "ws_down",
            f"{self.name} to {self.url}: {failures} connection attempts in a row failed (last: {problem}); "
            f"its {len(self.inst_ids)} instrument(s) come from REST until it is back",
            None,
        )

    def _was_stable(self) -> bool:
        """The connection that just ended was subscribed for at least ``stable_s``."""
        loop = asyncio.get_running_loop()
        return self._acked_at is not None and loop.time() - self._acked_at >= self.stable_s

    def _acknowledged(self) -> None:
        self._acked = True
        if self._acked_at is None:
            loop = asyncio.get_running_loop()
            self._acked_at = loop.time()
            if self.outage:  # over once this connection has stayed up stable_s
                loop.call_later(self.stable_s, self._recovered, self.connects)

    def _recovered(self, connection: int) -> None:
        if not self.outage or connection != self.connects or not self.is_open:
            return  # dropped again (or already told): the outage goes on
        self.outage = False
        log.warning("%s: subscribed again for %.0fs; the outage is over", self.name, self.stable_s)
        detail = f"{self.name} to {self.url}: connected and subscribed again for {self.stable_s:g}s"
        self.notify("ws_recovered", detail, None)

    async def close(self) -> None:
        ws = self._ws
        if ws is not None and not ws.closed:
            await ws.close()

    # ---- subscriptions --------------------------------------------------------------------------
    async def _subscribe(self, inst_ids: Sequence[str]) -> None:
        ws = self._ws
        if ws is None or ws.closed:
            return
        for batch in batches(candle_args(self.channel, inst_ids)):
            self._seq += 1
            req_id = f"s{self._seq}"
            self._pending[req_id] = {arg["instId"] for arg in batch}
            await ws.send_str(json.dumps({"id": req_id, "op": "subscribe", "args": batch}))

    def _on_event(self, ev: WsEvent) -> None:
        if ev.event == "subscribe":
            if ev.req_id in self._pending:
                self._pending[ev.req_id].discard(ev.inst_id)
            self._acknowledged()
            self.book.set_live([ev.inst_id], True)
        elif ev.event == "error" and ev.req_id in self._pending:
            loop = asyncio.get_running_loop()
            loop.call_later(self.settle_s, self._isolate, ev.req_id, ev)
        elif ev.event == "error":
            log.error("%s: websocket error %s", self.name, ev.describe)
        elif ev.event == "notice":
            log.warning("%s: notice %s", self.name, ev.describe)

    def _isolate(self, req_id: str, ev: WsEvent) -> None:
        left = sorted(self._pending.pop(req_id, set()))
        if not left or not self.is_open:
            return
        if len(left) == 1:
            log.warning("%s: %s %s refused: %s", self.name, left[0], self.channel, ev.describe)
            self.book.refuse(left[0], ev.describe)
            if left[0] not in self._refusals_told:
                self._refusals_told.add(left[0])
                self.notify(
                    "ws_refused",
                    f"{self.name}: subscription to {self.channel} refused ({ev.describe}); "
                    "REST serves this instrument alone",
                    left[0],
                )
            return
        half = len(left) // 2
        for part in (left[:half], left[half:]):
            task = asyncio.get_running_loop().create_task(self._resubscribe(part))
            self._tasks.add(task)  # keep a reference until it is done
            task.add_done_callback(self._tasks.discard)

    async def _resubscribe(self, inst_ids: Sequence[str]) -> None:
        try:
            await self._subscribe(inst_ids)
        except (aiohttp.ClientError, OSError) as exc:  # the connection is going; run() reconnects
            log.warning("%s: resubscribe failed: %s", self.name, exc)

    # ---- reading --------------------------------------------------------------------------------
    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        loop = asyncio.get_running_loop()
        last_rx = last_ping = loop.time()
        while True:
            wait = max(0.05, self.ping_every_s - (loop.time() - last_ping))
            try:
                msg: aiohttp.WSMessage | None = await ws.receive(timeout=wait)
            except TimeoutError:
                msg = None
            now = loop.time()
            if now - last_ping >= self.ping_every_s:
                if now - last_rx > self.ping_every_s + self.pong_timeout_s:
                    raise _Dead(f"no frame for {now - last_rx:.0f}s")
                await ws.send_str("ping")
                last_ping = now
            if msg is None:
                continue
            if msg.type != aiohttp.WSMsgType.TEXT:
                return  # closed, closing or an error: the caller reconnects
            last_rx = now
            self._on_text(msg.data)

    def _on_text(self, text: str) -> None:
        try:
            frame = parse_ws_frame(text)
        except BadResponse as exc:
            log.warning("%s: unusable frame ignored: %s", self.name, exc)
            return
        if isinstance(frame, WsCandles):
            if frame.channel == self.channel:
                self.book.add(frame.candles)
        elif isinstance(frame, WsEvent):
            self._on_event(frame)
