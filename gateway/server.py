"""The aiohttp server: ``POST /OKX`` in, one JSON reply out, HTTP 200 always.

The exchange layer is synchronous, so each request's handler runs in a bounded thread pool
(``workers`` threads): concurrent docker calls (``exchange.Go``) are served in parallel, and a slow
OKX call blocks only its own thread. Each request has a deadline (``request_timeout_s``, queueing
included); past it the docker gets ``{"error": "timeout ..."}`` at once and the worker finishes (or
times out upstream) in the background.

Every bad request is answered ``{"error": "..."}`` with HTTP 200: GET and other verbs, unknown
paths, oversized, empty or non-JSON bodies, missing fields, unknown methods, bad params, OKX errors
and timeouts. Bodies are never echoed. One log line per request -- FMZ method, symbol, latency,
outcome -- and never a key, secret, passphrase or signature (the formatter redacts as a second net).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from config.schema import ExchangeSettings
from core.clock import Clock, SystemClock
from core.netaddr import is_loopback
from core.redaction import redact, register_secret
from gateway.calls import Options
from gateway.clients import ClientPool
from gateway.methods import handle
from gateway.protocol import BadRequest, FmzRequest, fail, parse_body

__all__ = ["GatewayServer", "RunningGateway", "is_loopback", "start_background"]

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
_PATHS = ("/", "/okx", "/okx/")


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), default=str)


class GatewayServer:
    """The FMZ plugin HTTP server over a :class:`ClientPool`."""

    def __init__(
        self,
        pool: ClientPool,
        options: Options | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 6666,
        workers: int = 64,
        request_timeout_s: float = 30.0,
    ) -> None:
        self.pool = pool
        self.options = options or Options()
        self.host = host
        self.port = port
        self.request_timeout_s = request_timeout_s
        self._executor = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="gateway")
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """The service address to configure in FMZ."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/OKX"

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/{tail:.*}", self._serve)
        return app

    async def start(self) -> None:
        """Bind and serve; ``port=0`` picks a free port (read it back from :attr:`port`)."""
        if not is_loopback(self.host):
            log.warning("listening on %s: reachable from the network, and requests carry API keys", self.host)
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False, shutdown_timeout=5.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        addresses = self._runner.addresses
        if addresses:
            self.port = int(addresses[0][1])

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stop listening, give running OKX calls ``grace_s`` to finish, close every client."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        loop = asyncio.get_running_loop()
        drain = loop.run_in_executor(
            None, functools.partial(self._executor.shutdown, wait=True, cancel_futures=True)
        )
        try:
            await asyncio.wait_for(asyncio.shield(drain), grace_s)
        except TimeoutError:
            log.warning("stopping while OKX calls are still running (they finish in the background)")
        await loop.run_in_executor(None, self.pool.close)

    async def _serve(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        method, symbol = "-", "-"
        try:
            if request.method != "POST":
                reply = fail(f"{request.method[:10]} not supported: FMZ calls plugins with POST")
            elif request.path.lower() not in _PATHS:
                reply = fail(f"unknown path {request.path[:40]!r}: use the service address {self.url}")
            else:
                body = await request.read()
                fmz = parse_body(body, request.headers.get("Http-Method"))
                for secret in fmz.secrets():  # first sight: masked in every log line from now on
                    register_secret(secret)
                method, symbol = fmz.method[:64], fmz.symbol[:40] or "-"
                reply = await self._run(fmz)
        except BadRequest as exc:
            reply = fail(str(exc))
        except web.HTTPRequestEntityTooLarge:
            reply = fail(f"request body too large (max {MAX_BODY} bytes)")
        except Exception as exc:
            log.exception("request failed")
            reply = fail(f"internal error ({type(exc).__name__})")
        latency_ms = (time.perf_counter() - started) * 1000
        outcome = "ok" if "data" in reply else "error: " + str(reply.get("error", ""))[:200]
        # method and symbol are the caller's text: masked like everything else, before the record
        log.info("%s %s %.1fms %s", redact(method), redact(symbol), latency_ms, outcome)
        return web.json_response(reply, dumps=_dumps)

    async def _run(self, fmz: FmzRequest) -> dict[str, Any]:
        job = self._executor.submit(handle, fmz, self.pool, self.options)
        waiter = asyncio.wrap_future(job)
        done, _ = await asyncio.wait({waiter}, timeout=self.request_timeout_s)
        if done:
            return waiter.result()
        waiter.cancel()  # stop listening for it
        if job.cancel():  # still queued: dropped, so no order can be placed after the docker gave up
            return fail(f"timeout: gateway busy for {self.request_timeout_s:g}s; nothing was sent to OKX")
        hint = "; the order may have been placed: check orders" if fmz.method == "trade" else ""
        return fail(f"timeout: no answer within {self.request_timeout_s:g}s{hint}")


@dataclass
class RunningGateway:
    """A gateway serving on its own event-loop thread (tests, bench)."""

    server: GatewayServer
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def pool(self) -> ClientPool:
        return self.server.pool

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)

    def __enter__(self) -> RunningGateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_background(
    settings: ExchangeSettings,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    options: Options | None = None,
    workers: int = 64,
    max_accounts: int = 64,
    request_timeout_s: float = 30.0,
    clock: Clock | None = None,
) -> RunningGateway:
    """Start a gateway on a background thread; returns once it is listening."""
    pool = ClientPool(settings, clock or SystemClock(), max_accounts=max_accounts)
    server = GatewayServer(
        pool, options, host=host, port=port, workers=workers, request_timeout_s=request_timeout_s
    )
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.start())
        except BaseException as exc:
            failure.append(exc)
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="gateway-loop", daemon=True)
    thread.start()
    ready.wait(timeout=30)
    if failure:
        raise failure[0]
    return RunningGateway(server, loop, thread)
