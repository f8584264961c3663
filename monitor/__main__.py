"""``python -m monitor``: the read-only fleet monitor in the browser.

    python -m monitor [--config PATH] [--host 127.0.0.1] [--port 8090] [--check]

Reads the collector's CSVs and markers and each account's journal (read-only); never talks to
OKX. Binds 127.0.0.1 by default. Binding any other address requires a token in the environment
variable ``OKXFLEET_MONITOR_TOKEN`` (at least 16 characters); the browser is asked for it once
(``/login``) and keeps it in a cookie. ``--check`` prints the plan and warns about an exposed or
unprotected bind, then exits. Prints ``monitor ready: http://HOST:PORT/`` once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

from aiohttp import web

from config.loader import add_config_argument, load_config
from config.schema import FleetConfig
from core.clock import clock_from_env
from core.errors import ConfigError
from core.logs import setup_logging
from core.netaddr import is_loopback
from monitor.app import build_app
from monitor.views import FleetViews

__all__ = ["TOKEN_ENV", "bind_problems", "main"]

TOKEN_ENV = "OKXFLEET_MONITOR_TOKEN"  # noqa: S105 - a variable name
MIN_TOKEN = 16
log = logging.getLogger("okxfleet.monitor")


def bind_problems(host: str, token: str | None) -> tuple[list[str], list[str]]:
    """(errors, warnings) of binding ``host`` with ``token`` (pure)."""
    errors: list[str] = []
    warnings: list[str] = []
    if token is not None and len(token) < MIN_TOKEN:
        errors.append(f"{TOKEN_ENV} is shorter than {MIN_TOKEN} characters")
    if not is_loopback(host):
        warnings.append(f"--host {host} exposes the monitor beyond this machine")
        if not token:
            errors.append(f"--host {host} is not loopback: set {TOKEN_ENV} (>= {MIN_TOKEN} characters)")
        warnings.append("the token travels in clear over plain HTTP: put a TLS proxy in front")
    return errors, warnings


def _token_label(host: str, token: str | None) -> str:
    if token:
        return "required"
    return "none (loopback only)" if is_loopback(host) else f"MISSING ({TOKEN_ENV} is required off loopback)"


def _plan(cfg: FleetConfig, host: str, port: int, token: str | None) -> str:
    lines = [
        f"config:    {cfg.source}",
        f"candles:   {cfg.candles_dir}{'' if cfg.candles_dir.is_dir() else '  (not there yet)'}",
        f"markers:   {cfg.markers_dir}{'' if cfg.markers_dir.is_dir() else '  (not there yet)'}",
        f"journals:  {cfg.journal_dir}{'' if cfg.journal_dir.is_dir() else '  (not there yet)'}",
        f"accounts:  {', '.join(sorted(cfg.accounts))}",
        f"bind:      http://{host}:{port}/  token: {_token_label(host, token)}",
    ]
    return "\n".join(lines)


async def _serve(cfg: FleetConfig, host: str, port: int, token: str | None) -> None:
    app = build_app(FleetViews(cfg, clock_from_env()), token=token)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    sockets = getattr(server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    url = f"http://{host}:{bound}/"
    print(f"monitor ready: {url}", flush=True)
    log.info("serving %s", url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("stopping")
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m monitor", description=__doc__.splitlines()[0])
    add_config_argument(ap)
    ap.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback only)")
    ap.add_argument("--port", type=int, default=8090, help="0 = any free port")
    ap.add_argument("--check", action="store_true", help="print the plan and warnings, then exit")
    ap.add_argument("--log-level", default="WARNING")
    args = ap.parse_args(argv)
    try:
        cfg = load_config(args.config, check_credentials=False)
    except ConfigError as exc:
        print("config is invalid:\n  - " + "\n  - ".join(exc.problems), file=sys.stderr)
        return 2
    setup_logging("monitor", cfg.logs_dir, level=args.log_level.upper())
    token = os.environ.get(TOKEN_ENV) or None
    errors, warnings = bind_problems(args.host, token)
    if args.check:
        print(_plan(cfg, args.host, args.port, token))
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    if errors:
        return 2
    if args.check:
        return 0
    try:
        asyncio.run(_serve(cfg, args.host, args.port, token))
    except OSError as exc:
        print(f"monitor: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
