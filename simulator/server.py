"""aiohttp application: the ``/api/v5`` dispatcher (faults, latency, auth, rate limits, envelope)
plus the ``/__sim`` control API, and ways to run it (background thread or foreground).

Request pipeline for ``/api/v5/...``: pick a fault -> sleep the latency -> (timeout / drop /
error-reply faults) -> route -> authenticate (private routes) -> parse the body -> rate limit ->
evaluate resting orders -> handler -> (lost-response fault) -> JSON envelope.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Mapping
from decimal import Decimal
from types import TracebackType
from typing import Any

from aiohttp import web

from core.exposure import warn_if_exposed
from simulator import (
    account_api,
    bills,
    control_api,
    control_candles,
    control_venue,
    market,
    trading,
    treasury_api,
    ws,
)
from simulator.api import Ctx, Reply, Route
from simulator.auth import verify
from simulator.control import SimControl
from simulator.errors import OkxError
from simulator.faults import FaultRule
from simulator.ratelimit import LIMITS, Limit, RateLimiter
from simulator.state import STATE, AccountSpec, RequestRecord, SimOptions, SimState
from simulator.validation import text

__all__ = ["EXPOSED", "ROUTES", "RunningSimulator", "build_options", "create_app", "start_background"]

log = logging.getLogger(__name__)
EXPOSED = (
    "the control API (/__sim: prices, balances, accounts, faults) and the test accounts of this "
    "simulator are reachable from the network"
)

ROUTES: dict[tuple[str, str], Route] = {
    **market.ROUTES, **account_api.ROUTES, **trading.ROUTES,
    **treasury_api.ROUTES,  # issue #16: master account, sub-accounts, transfers
    **bills.ROUTES,  # transfer bills (the trader nets transfers out of its risk limits)
}  # fmt: skip
_SINGLE = {
    "/api/v5/trade/batch-orders": "/api/v5/trade/order",
    "/api/v5/trade/cancel-batch-orders": "/api/v5/trade/cancel-order",
}
_FAULT_REPLIES = {
    "http_503": ("50001", 503),
    "code_50001": ("50001", 200),
    "code_50013": ("50013", 200),
    "rate_limit": ("50011", 429),
}


def _json(reply: Reply) -> web.Response:
    body = json.dumps(reply.envelope(), separators=(",", ":"))
    return web.Response(text=body, status=reply.http, content_type="application/json")


def _error_reply(err: OkxError) -> Reply:
    bare = err.code.startswith("501") or err.code == "50011"  # OKX omits `data` on these
    return Reply(code=err.code, msg=err.msg, http=err.http, with_data=not bare)


def _parse_body(method: str, body: bytes) -> Any:
    if method != "POST" or not body.strip():
        return {}
    try:
        parsed = json.loads(body)
    except ValueError:
        raise OkxError("50002", msg="Json data format error", http=400) from None
    if not isinstance(parsed, dict | list):
        raise OkxError("50002", msg="Json data format error", http=400)
    return parsed


def _charges(
    limiter: RateLimiter, method: str, path: str, query: Mapping[str, str], body: Any,
    ip: str, account: str | None,
) -> tuple[Limit, list[tuple[tuple[str, ...], int]]] | None:
    limit = LIMITS.get((method, path))
    if limit is None:
        return None
    if isinstance(body, list):
        insts = Counter(text(i, "instId") if isinstance(i, Mapping) else "" for i in body)
        if len(body) == 1 and path in _SINGLE:
            path = _SINGLE[path]
            limit = LIMITS[(method, path)]
        return limit, [
            (limiter.scope_key(path, limit, ip, account, inst), n) for inst, n in insts.items()
        ]
    source = body if isinstance(body, Mapping) and body else query
    inst = text(source, "instId")
    return limit, [(limiter.scope_key(path, limit, ip, account, inst), 1)]


_EXP_TIME_PATHS = frozenset(
    "/api/v5/trade/" + p for p in ("order", "batch-orders", "amend-order", "amend-batch-orders")
)


def check_exp_time(headers: Mapping[str, str], method: str, path: str, now_ms: int) -> None:
    """OKX's ``expTime`` header: a place/amend request processed after it is refused (50036)."""
    raw = headers.get("expTime")
    if raw is None or method != "POST" or path not in _EXP_TIME_PATHS:
        return
    try:
        deadline = int(raw)
    except ValueError:
        raise OkxError("51000", "expTime") from None
    if now_ms > deadline:
        raise OkxError("50036")


def process(state: SimState, request: web.Request, body: bytes) -> tuple[Reply, str | None]:
    """Run one ``/api/v5`` request synchronously; return the reply and the account name."""
    method, path = request.method, request.path
    route = ROUTES.get((method, path))
    if route is None:
        if any(p == path for _, p in ROUTES):
            return Reply(code="50115", msg="Invalid request method", http=405), None
        return Reply(code="404", msg="Not Found", http=404), None
    now = state.now()
    account = None
    try:
        if route.private:
            account = verify(request.headers, method, request.raw_path, body, state.accounts,
                             now, check_skew=state.skew_check)
        parsed = _parse_body(method, body)
        name = account.name if account else None
        charge = _charges(state.limiter, method, path, request.query, parsed,
                          request.remote or "", name)
        if charge is not None and not state.limiter.allow(*charge):
            raise OkxError("50011")
        check_exp_time(request.headers, method, path, now)
        state.sync(now)
        ctx = Ctx(state, method, path, request.query, parsed, account, now)
        reply = route.handler(ctx)
    except OkxError as err:
        reply = _error_reply(err)
    except Exception:
        log.exception("handler failed for %s %s", method, path)
        reply = Reply(code="50026", msg="System error, please try again later.", http=500)
    return reply, account.name if account else None


def _drop(request: web.Request) -> web.Response:
    transport = request.transport
    if transport is not None:
        transport.close()
    return web.Response(status=204)


async def handle_api(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    started = time.perf_counter()
    fault = state.faults.pick(request.method, request.path)
    kind = fault[0] if fault else None
    delay = state.faults.latency_ms + (fault[1].hold_ms if fault and kind == "latency" else 0)
    if delay > 0:
        await asyncio.sleep(delay / 1000)
    account: str | None = None
    response: web.StreamResponse
    if kind == "timeout" and fault:
        await asyncio.sleep(fault[1].hold_ms / 1000)
        response, status, code = _drop(request), 0, ""
    elif kind == "drop":
        response, status, code = _drop(request), 0, ""
    elif kind == "late" and fault:
        body = await request.read()
        await asyncio.sleep(fault[1].hold_ms / 1000)  # the client gives up meanwhile
        reply, account = process(state, request, body)
        code, status = reply.code, reply.http
        response = _drop(request)
    elif kind in _FAULT_REPLIES:
        code, http = _FAULT_REPLIES[kind or ""]
        reply = _error_reply(OkxError(code, http=http))
        response, status = _json(reply), http
    else:
        body = await request.read()
        reply, account = process(state, request, body)
        code, status = reply.code, reply.http
        response = _drop(request) if kind == "lost_response" else _json(reply)
    state.requests.append(RequestRecord(
        state.now(), request.method, request.raw_path, account, status, code,
        round((time.perf_counter() - started) * 1000, 3), kind,
    ))
    return response


def create_app(state: SimState) -> web.Application:
    """The aiohttp application serving ``/api/v5``, ``/ws/v5`` and ``/__sim``."""
    app = web.Application()
    app[STATE] = state
    control_api.setup(app)
    control_api.register(app, control_venue.VIEWS)
    ws.setup(app)  # /ws/v5/business candle pushes and /__sim/ws
    control_api.register(app, treasury_api.VIEWS)
    control_api.register(app, control_candles.VIEWS)
    app.router.add_route("*", "/api/v5/{tail:.*}", handle_api)
    return app


def _account_spec(value: Any) -> AccountSpec:
    if isinstance(value, AccountSpec):
        return value
    if isinstance(value, str):
        return AccountSpec.parse(value)
    if isinstance(value, Mapping):
        return AccountSpec(
            str(value["key"]), str(value["secret"]), str(value["passphrase"]),
            Decimal(str(value.get("balance", "10000"))), value.get("pos_mode"),
            value.get("name"), str(value.get("acct_lv") or "2"),
        )
    key, secret, passphrase, *rest = value
    return AccountSpec(key, secret, passphrase, Decimal(str(rest[0])) if rest else Decimal(10000))


def build_options(**options: Any) -> SimOptions:
    """``SimOptions`` from keyword arguments; accounts may be specs, dicts, tuples or CLI strings,
    faults may be ``FaultRule``s or dicts (``{"kind": "drop", "rate": 0.1, "path": ...}``)."""
    accounts = [_account_spec(a) for a in options.pop("accounts", [])]
    faults = [f if isinstance(f, FaultRule) else FaultRule.from_json(f)
              for f in options.pop("faults", [])]
    liquidity = {str(k): Decimal(str(v)) for k, v in dict(options.pop("liquidity", {})).items()}
    return SimOptions(accounts=accounts, faults=faults, liquidity=liquidity, **options)


class RunningSimulator:
    """A simulator serving on its own event loop in a daemon thread."""

    def __init__(self, state: SimState, host: str, port: int) -> None:
        self.state = state
        self.host = host
        self._port = port
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="okx-simulator", daemon=True)
        self._control: SimControl | None = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self._port}"

    @property
    def control(self) -> SimControl:
        """A :class:`SimControl` for this simulator (one per instance, closed by ``stop``)."""
        if self._control is None:
            self._control = SimControl(self.base_url)
        return self._control

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # surfaced to the starting thread
            self._error = exc
            self._loop.close()
            self._started.set()
            return
        self._started.set()
        self._loop.run_forever()
        self._loop.close()

    async def _serve(self) -> None:
        warn_if_exposed(log, self.host, EXPOSED)
        runner = web.AppRunner(create_app(self.state), access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._port = runner.addresses[0][1]
        self._runner = runner

    def start(self) -> RunningSimulator:
        self._thread.start()
        self._started.wait(30)
        if self._error is not None:
            raise RuntimeError(f"simulator failed to start: {self._error}") from self._error
        log.info("simulator listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        """Stop serving and join the thread (idempotent)."""
        if self._control is not None:
            self._control.close()
            self._control = None
        if not self._thread.is_alive():
            return
        if self._runner is not None:
            future = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
            future.result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> RunningSimulator:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_background(
    *, host: str = "127.0.0.1", port: int = 0, **options: Any
) -> RunningSimulator:
    """Start a simulator on ``host:port`` (0 = ephemeral) in a daemon thread.

    Options are :class:`SimOptions` fields (``seed``, ``accounts``, ``pos_mode``, ``latency_ms``,
    ``faults``, ``rate_limits``, ``clock_start_ms``, ``clock_speed``, ``clock_frozen``,
    ``skew_check``, ``extra_instruments=N`` synthetic swaps, ``liquidity={instId: max_fill_sz}``
    ...). Use as a context manager or call ``.stop()``.
    """
    state = SimState(build_options(**options))
    return RunningSimulator(state, host, port).start()
