"""``python -m gateway``: serve the FMZ custom protocol for OKX.

Configure the FMZ exchange as "Custom Protocol" with service address ``http://127.0.0.1:6666/OKX``,
Access Key = the OKX API key, Secret Key = ``secret,passphrase`` (``secret,passphrase,simulate`` for
OKX demo trading when the gateway runs ``--exchange live``).

Prints one ready line (``gateway ready: http://127.0.0.1:6666/OKX ...``) on stdout once listening;
stops cleanly on SIGINT / SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from config.safety import real_exchange_problems
from config.schema import ExchangeSettings
from core.clock import clock_from_env
from core.logs import setup_logging
from gateway.calls import Options
from gateway.clients import ClientPool
from gateway.server import GatewayServer

log = logging.getLogger("gateway")

SIMULATOR_URL = "http://127.0.0.1:8081"


def _int_within(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer in ``low..high``, else a usage error naming the range."""

    def integer(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {low}..{high}, got {value}")
        return value

    return integer


def seconds(text: str) -> float:
    """An argparse type: a duration in ``(0, 3600]`` seconds."""
    value = float(text)
    if not 0 < value <= 3600:  # NaN fails too
        raise argparse.ArgumentTypeError(f"must be > 0 and <= 3600 seconds, got {text}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m gateway", description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback only)")
    ap.add_argument("--port", type=_int_within(0, 65535), default=6666)
    ap.add_argument(
        "--exchange",
        choices=("live", "demo", "simulator"),
        default="live",
        help="live OKX (',simulate' keys -> demo), OKX demo trading, or the local simulator",
    )
    ap.add_argument(
        "--base-url",
        default=None,
        help=f"OKX REST base URL (default: https://www.okx.com; simulator: {SIMULATOR_URL})",
    )
    ap.add_argument("--timeout", type=seconds, default=10.0, help="upstream HTTP timeout per OKX call (s)")
    ap.add_argument(
        "--request-timeout",
        type=seconds,
        default=30.0,
        help="deadline of one FMZ request, retries and queueing included (s)",
    )
    ap.add_argument("--workers", type=_int_within(1, 1024), default=64, help="requests served in parallel")
    ap.add_argument(
        "--max-clients", type=_int_within(1, 100_000), default=64, help="cached account clients (LRU)"
    )
    ap.add_argument(
        "--margin-mode", choices=("cross", "isolated"), default="cross", help="tdMode of swap orders"
    )
    ap.add_argument(
        "--candle-timezone",
        choices=("Asia/Shanghai", "UTC"),
        default="Asia/Shanghai",
        help="alignment of 6h/12h/1d records (OKX 1D vs 1Dutc)",
    )
    ap.add_argument("--log-dir", type=Path, default=None, help="also write gateway.log here")
    ap.add_argument("--log-level", default="INFO")
    return ap.parse_args(argv)  # fmt: skip


def exchange_settings(args: argparse.Namespace) -> ExchangeSettings:
    base_url = args.base_url
    if base_url is None and args.exchange == "simulator":
        base_url = SIMULATOR_URL
    return ExchangeSettings(mode=args.exchange, base_url=base_url, timeout_s=args.timeout)


async def serve(args: argparse.Namespace) -> None:
    settings = exchange_settings(args)
    pool = ClientPool(settings, clock_from_env(), max_accounts=args.max_clients)
    options = Options(margin_mode=args.margin_mode, candle_timezone=args.candle_timezone)
    server = GatewayServer(
        pool, options, host=args.host, port=args.port, workers=args.workers,
        request_timeout_s=args.request_timeout,
    )  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    print(f"gateway ready: {server.url} (exchange={settings.mode} base={settings.url})", flush=True)
    log.info("serving %s (exchange=%s base=%s)", server.url, settings.mode, settings.url)
    try:
        await stop.wait()
    finally:
        log.info("stopping")
        await server.stop()
        log.info("stopped")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging("gateway", args.log_dir, level=args.log_level.upper())
    try:
        settings = exchange_settings(args)  # validate --base-url before binding
    except ValueError as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return 2
    refused = real_exchange_problems(settings.mode, settings.url, os.environ)
    if refused:
        for problem in refused:
            print(f"gateway: --exchange {settings.mode}: {problem}", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(args))
    except OSError as exc:
        print(f"gateway: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
