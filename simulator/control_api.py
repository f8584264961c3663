"""Server side of the test-control API under ``/__sim/`` (JSON in, JSON out).

Never affected by faults, latency or rate limits. Endpoints::

    GET  /__sim/status                       seed, clock, accounts, settings
    GET  /__sim/clock                        {now_ms, iso, mode, speed}
    POST /__sim/clock     {now_ms|iso, advance_ms, mode: frozen|running, speed}
    GET  /__sim/price?instId=X               {instId, price, ts}
    POST /__sim/price     {instId, price}    override the coin's path from now on
    GET  /__sim/orders?account=&instId=&state=&clOrdId=   every order received
    GET  /__sim/faults                       {latency_ms, rules}
    POST /__sim/faults    {rules: [...], latency_ms, append}
    DELETE /__sim/faults                     clear rules and latency
    GET|POST /__sim/rate-limits {enabled}
    GET|POST /__sim/settings {skew_check, rate_limits, latency_ms}
    GET  /__sim/accounts                     names, uids, modes, acctLv, balances (no secrets)
    POST /__sim/accounts  {key, secret, passphrase, balance, pos_mode, name, acct_lv}
    POST /__sim/reset                        back to the start-up state
    GET  /__sim/requests?limit=&path=&account=   request log;  DELETE clears it

Liquidity, instrument state and account level: :mod:`simulator.control_venue`.

POST bodies are strict: an unknown key, a clock speed <= 0, a latency outside 0..600 s or a price
the feed cannot hold is a 400 naming it, never a silent no-op.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from simulator.clock import parse_time_ms
from simulator.faults import FaultRule
from simulator.orders import num
from simulator.state import STATE, AccountSpec, SimState

__all__ = ["PREFIX", "BadRequest", "Json", "View", "read_body", "register", "setup"]

log = logging.getLogger(__name__)

PREFIX = "/__sim"
Json = dict[str, Any]
_MAX_TICKS = Decimal(2) ** 53
_ACCOUNT_KEYS = ("key", "secret", "passphrase", "balance", "pos_mode", "name", "acct_lv")


class BadRequest(Exception):
    """A control request that cannot be honoured: HTTP 400 with the message."""


MAX_LATENCY_MS = 600_000


async def read_body(request: web.Request, keys: tuple[str, ...] | None = None) -> Json:
    """The JSON object of a control request; with ``keys``, any other key is refused (a typo in a
    test's set-up must fail it, not leave the simulator as it was)."""
    if not request.can_read_body:
        return {}
    try:
        data = await request.json()
    except ValueError:
        raise BadRequest("body must be JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object")
    unknown = sorted(str(k) for k in data if keys is not None and k not in keys)
    if unknown:
        raise BadRequest(f"unknown key(s) {', '.join(map(repr, unknown))}; expected {', '.join(keys or ())}")
    return data


def _latency_ms(value: Any) -> int:
    ms = int(value)
    if not 0 <= ms <= MAX_LATENCY_MS:
        raise BadRequest(f"latency_ms must be 0..{MAX_LATENCY_MS}, got {ms}")
    return ms


def _status(state: SimState) -> Json:
    return {
        "seed": state.options.seed,
        "clock": state.clock.state(),
        "accounts": len(state.accounts),
        "pos_mode": state.options.pos_mode,
        "rate_limits": state.limiter.enabled,
        "skew_check": state.skew_check,
        "faults": state.faults.state(),
        "instruments": len(state.instruments),
        "venue": state.engine.venue.to_json(),
    }


async def _clock(state: SimState, request: web.Request) -> Json:
    if request.method == "POST":
        body = await read_body(request, ("now_ms", "iso", "advance_ms", "mode", "speed"))
        target = body.get("now_ms", body.get("iso"))
        if target is not None:
            state.clock.set(parse_time_ms(target))
        if body.get("advance_ms") is not None:
            state.clock.advance(int(body["advance_ms"]))
        mode = body.get("mode")
        if mode == "frozen":
            state.clock.freeze()
        elif mode == "running":
            state.clock.run()
        elif mode is not None:
            raise BadRequest("mode must be 'frozen' or 'running'")
        if body.get("speed") is not None:
            speed = float(body["speed"])
            if not 0 < speed <= 1e6:  # NaN fails too; 'frozen' is how to stop the clock
                raise BadRequest(f"speed must be > 0 (use mode 'frozen' to stop the clock), got {speed}")
            state.clock.set_speed(speed)
        state.sync()
    return state.clock.state()


async def _price(state: SimState, request: web.Request) -> Json:
    body = await read_body(request, ("instId", "price")) if request.method == "POST" else dict(request.query)
    inst = state.instruments.get(str(body.get("instId", "")))
    if inst is None:
        raise BadRequest("unknown or missing instId")
    now = state.now()
    if request.method == "POST":
        try:
            price = Decimal(str(body["price"]))
        except (KeyError, InvalidOperation):
            raise BadRequest("price must be a number") from None
        if not price.is_finite() or price <= 0:
            raise BadRequest("price must be positive")
        if price / inst.tick_sz >= _MAX_TICKS:  # the feed counts prices in ticks (float-exact)
            raise BadRequest(f"price {price} is too large for {inst.inst_id} (tick {inst.tick_sz})")
        at = now // 1000 * 1000
        state.feed.set_price(inst, price, at)
        for acct in state.accounts.values():
            for order in acct.pending():
                if order.inst.coin is inst.coin:
                    order.checked_ms = min(order.checked_ms, at - 1)
        state.sync()
    return {"instId": inst.inst_id, "price": num(state.engine.last(inst, now)), "ts": now}


async def _orders(state: SimState, request: web.Request) -> list[Json]:
    state.sync()
    q = request.query
    rows = [r.to_json() for r in state.order_log]
    for key, field in (("account", "account"), ("instId", "instId"), ("state", "state"),
                       ("clOrdId", "clOrdId")):
        if q.get(key):
            rows = [r for r in rows if r[field] == q[key]]
    return rows


async def _faults(state: SimState, request: web.Request) -> Json:
    if request.method == "DELETE":
        state.faults.reset(0, [])
    elif request.method == "POST":
        body = await read_body(request, ("rules", "latency_ms", "append"))
        try:
            rules = [FaultRule.from_json(r) for r in body.get("rules", [])]
        except (ValueError, TypeError) as exc:
            raise BadRequest(str(exc)) from None
        if body.get("append"):
            rules = state.faults.rules + rules
        latency = _latency_ms(body.get("latency_ms", state.faults.latency_ms))
        state.faults.reset(latency, rules)
    return state.faults.state()


async def _rate_limits(state: SimState, request: web.Request) -> Json:
    if request.method == "POST":
        body = await read_body(request, ("enabled",))
        state.limiter.enabled = bool(body.get("enabled", True))
        state.limiter.reset()
    return {"enabled": state.limiter.enabled}


async def _settings(state: SimState, request: web.Request) -> Json:
    if request.method == "POST":
        body = await read_body(request, ("skew_check", "rate_limits", "latency_ms"))
        if "skew_check" in body:
            state.skew_check = bool(body["skew_check"])
        if "rate_limits" in body:
            state.limiter.enabled = bool(body["rate_limits"])
            state.limiter.reset()
        if "latency_ms" in body:
            state.faults.latency_ms = _latency_ms(body["latency_ms"])
    return {"skew_check": state.skew_check, "rate_limits": state.limiter.enabled,
            "latency_ms": state.faults.latency_ms}


def _account_json(state: SimState, key: str) -> Json:
    acct = state.accounts[key]
    return {"name": acct.name, "uid": acct.uid, "pos_mode": acct.pos_mode, "acct_lv": acct.acct_lv,
            "cash": {c: num(v) for c, v in sorted(acct.cash.items())},
            "positions": len(acct.positions), "pending_orders": len(acct.pending())}


async def _accounts(state: SimState, request: web.Request) -> Any:
    if request.method == "POST":
        body = await read_body(request, _ACCOUNT_KEYS)
        try:
            spec = AccountSpec(
                str(body["key"]), str(body["secret"]), str(body["passphrase"]),
                Decimal(str(body.get("balance", "10000"))), body.get("pos_mode"),
                body.get("name"), str(body.get("acct_lv") or "2"),
            )
            acct = state.add_account(spec)
        except (KeyError, ValueError, InvalidOperation) as exc:
            raise BadRequest(f"cannot add account: {exc}") from None
        return _account_json(state, acct.key)
    return [_account_json(state, k) for k in state.accounts]


async def _reset(state: SimState, request: web.Request) -> Json:
    state.reset()
    return _status(state)


async def _requests(state: SimState, request: web.Request) -> Any:
    if request.method == "DELETE":
        state.requests.clear()
        return {"cleared": True}
    q = request.query
    rows = [r.to_json() for r in state.requests]
    if q.get("path"):
        rows = [r for r in rows if q["path"] in r["path"]]
    if q.get("account"):
        rows = [r for r in rows if r["account"] == q["account"]]
    if q.get("limit"):
        rows = rows[-int(q["limit"]):]
    return rows


async def _status_view(state: SimState, request: web.Request) -> Json:
    return _status(state)


View = Callable[[SimState, web.Request], Awaitable[Any]]


def _wrap(view: View) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            result = await view(request.app[STATE], request)
        except (BadRequest, ValueError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(result)

    return handler


def register(app: web.Application, views: list[tuple[str, View, tuple[str, ...]]]) -> None:
    """Serve each ``(name, view, methods)`` at ``/__sim/<name>``."""
    for name, view, methods in views:
        for method in methods:
            app.router.add_route(method, f"{PREFIX}/{name}", _wrap(view))


def setup(app: web.Application) -> None:
    """Register this module's ``/__sim`` routes on ``app`` (the server adds
    :data:`simulator.control_venue.VIEWS` with :func:`register`)."""
    register(app, [
        ("status", _status_view, ("GET",)),
        ("clock", _clock, ("GET", "POST")),
        ("price", _price, ("GET", "POST")),
        ("orders", _orders, ("GET",)),
        ("faults", _faults, ("GET", "POST", "DELETE")),
        ("rate-limits", _rate_limits, ("GET", "POST")),
        ("settings", _settings, ("GET", "POST")),
        ("accounts", _accounts, ("GET", "POST")),
        ("reset", _reset, ("POST",)),
        ("requests", _requests, ("GET", "DELETE")),
    ])
