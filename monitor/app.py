"""The monitor's aiohttp application: pages, JSON API, the SSE stream, the vendored static files.

    GET /                       fleet page            GET /api/fleet
    GET /account/{name}         account page          GET /api/accounts/{name}
    GET /chart?inst=&interval=[&account=]             GET /api/candles?inst=&interval=[&since=]
                                                      GET /api/overlays?inst=&interval=[&account=][&since=]
                                                                        [&backtest=RUN]
    GET /api/events             Server-Sent Events (see :mod:`monitor.live`)
    GET|POST /login             token form (only when a token is required)

Bad input (unknown account, instrument or interval, a malformed ``since``) is a 404/400 with a
JSON ``{"error": ...}`` naming what was wrong. With a token configured every route but
``/login`` requires it, as header ``X-Okxfleet-Token`` / ``Authorization: Bearer`` or the
``okxfleet_token`` cookie, compared in constant time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from core.errors import DataError
from monitor.jsontext import dumps
from monitor.live import Hub, watch
from monitor.views import FleetViews, NotFound

__all__ = ["COOKIE", "HEADER", "build_app"]

log = logging.getLogger("okxfleet.monitor")
STATIC = Path(__file__).resolve().parent / "static"
COOKIE = "okxfleet_token"
HEADER = "X-Okxfleet-Token"
HEARTBEAT_S = 15.0
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
VIEWS = web.AppKey("views", FleetViews)
HUB = web.AppKey("hub", Hub)
TOKEN = web.AppKey("token", str)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(data, default=str), status=status, content_type="application/json",
                        headers={"Cache-Control": "no-store"})  # fmt: skip


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message}, status)


def _presented_token(request: web.Request) -> str:
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        return auth[7:]
    return request.headers.get(HEADER) or request.cookies.get(COOKIE, "")


def _auth_middleware(token: str) -> Any:
    expected = token.encode()

    @web.middleware
    async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == "/login" or hmac.compare_digest(_presented_token(request).encode(), expected):
            return await handler(request)
        if request.path.startswith("/api/"):
            return _error(401, "a token is required: header X-Okxfleet-Token or cookie okxfleet_token")
        raise web.HTTPFound("/login")

    return auth


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except NotFound as exc:
        return _error(404, str(exc.args[0]))
    except (ValueError, DataError) as exc:
        status = 400 if isinstance(exc, ValueError) and not isinstance(exc, DataError) else 500
        return _error(status, str(exc))
    except web.HTTPNotFound:
        return _error(404, f"no such page: {request.path}")


def _page(name: str) -> Handler:
    async def page(request: web.Request) -> web.StreamResponse:
        if name == "account":
            request.app[VIEWS].account(request.match_info["name"])
        return web.FileResponse(
            STATIC / f"{name}.html",
            headers={"Cache-Control": "no-store", "Content-Type": "text/html; charset=utf-8"},
        )

    return page


def _arg(request: web.Request, name: str) -> str:
    value = request.query.get(name)
    if not value:
        raise ValueError(f"missing query parameter {name!r}")
    return value


def _since(request: web.Request) -> int | None:
    raw = request.query.get("since")
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise ValueError(f"since must be Unix seconds, got {raw!r}")
    return int(raw)


async def _in_thread(func: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, func, *args)


async def api_fleet(request: web.Request) -> web.Response:
    return _json(await _in_thread(request.app[VIEWS].fleet))


async def api_account(request: web.Request) -> web.Response:
    return _json(await _in_thread(request.app[VIEWS].account_page, request.match_info["name"]))


async def api_candles(request: web.Request) -> web.Response:
    views = request.app[VIEWS]
    bars = await _in_thread(
        views.chart_bars, _arg(request, "inst"), _arg(request, "interval"), _since(request)
    )
    text = await _in_thread(bars.to_json)
    return web.Response(text=text, content_type="application/json", headers={"Cache-Control": "no-store"})


async def api_overlays(request: web.Request) -> web.Response:
    views = request.app[VIEWS]
    account = request.query.get("account") or None
    backtest = request.query.get("backtest") or None
    data = await _in_thread(
        views.overlays, _arg(request, "inst"), _arg(request, "interval"), account, _since(request), backtest
    )
    text = await _in_thread(dumps, data)
    return web.Response(text=text, content_type="application/json", headers={"Cache-Control": "no-store"})


async def api_events(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
    await resp.prepare(request)
    await resp.write(b"retry: 1000\n: connected\n\n")
    async with request.app[HUB].subscribe() as queue:
        while True:
            try:
                data = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
            except TimeoutError:
                await resp.write(b": heartbeat\n\n")
                continue
            if not data:  # the server is shutting down
                break
            await resp.write(f"data: {data}\n\n".encode())
    return resp


_LOGIN = """<!doctype html><meta charset=utf-8><title>okxfleet monitor: token</title>
<link rel=stylesheet href=/static/app.css><body class=login><form method=post action=/login>
<h1>okxfleet monitor</h1><p>This monitor listens beyond localhost and needs its token.</p>
<input type=password name=token autofocus placeholder=token> <button>open</button>{msg}</form>"""


async def login(request: web.Request) -> web.Response:
    if request.method == "POST":
        form = await request.post()
        token = str(form.get("token", ""))
        if hmac.compare_digest(token.encode(), request.app[TOKEN].encode()):
            resp = web.HTTPFound("/")
            resp.set_cookie(COOKIE, token, httponly=True, samesite="Strict")
            raise resp
        return web.Response(text=_LOGIN.format(msg="<p class=bad>wrong token</p>"), status=401,
                            content_type="text/html")  # fmt: skip
    return web.Response(text=_LOGIN.format(msg=""), content_type="text/html")


def build_app(views: FleetViews, *, token: str | None = None, poll_s: float = 0.2) -> web.Application:
    """The application; ``token`` (required beyond loopback, see ``__main__``) protects every route."""
    middlewares = [_errors] + ([_auth_middleware(token)] if token else [])
    app = web.Application(middlewares=middlewares)
    app[VIEWS] = views
    app[HUB] = Hub()
    app[TOKEN] = token or ""
    app.router.add_get("/", _page("fleet"))
    app.router.add_get("/account/{name}", _page("account"))
    app.router.add_get("/chart", _page("chart"))
    app.router.add_get("/api/fleet", api_fleet)
    app.router.add_get("/api/accounts/{name}", api_account)
    app.router.add_get("/api/candles", api_candles)
    app.router.add_get("/api/overlays", api_overlays)
    app.router.add_get("/api/events", api_events)
    if token:
        app.router.add_route("*", "/login", login)
    app.router.add_static("/static", STATIC, append_version=False)

    async def watcher(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(watch(views.cfg, app[HUB], poll_s))
        warm = asyncio.get_running_loop().run_in_executor(None, views.warm)  # parse the CSVs once, now
        yield
        warm.cancel()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def end_streams(app: web.Application) -> None:
        app[HUB].close()

    app.cleanup_ctx.append(watcher)
    app.on_shutdown.append(end_streams)
    return app
