"""``python -m simulator``: run the OKX V5 simulator in the foreground until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path

from aiohttp import web

from core.exposure import warn_if_exposed
from simulator.clock import parse_anchor, parse_time_ms
from simulator.faults import DEFAULT_MIX, normalise_kind, parse_fault_spec
from simulator.server import EXPOSED, create_app
from simulator.state import AccountSpec, SimOptions, SimState, normalise_pos_mode

__all__ = ["main", "parse_args"]

log = logging.getLogger("simulator")


def _port(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0..65535, got {port}")
    return port


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    p.add_argument("--host", default="127.0.0.1", help="bind address (default loopback)")
    p.add_argument("--port", type=_port, default=8081)
    p.add_argument("--seed", type=int, default=7, help="price-path seed")
    p.add_argument("--account", action="append", default=[], metavar="KEY:SECRET:PASS[:USDT]",
                   help="register an account (repeatable)")
    p.add_argument("--config", help="register the accounts of a config.py")
    p.add_argument("--balance", default="10000", help="USDT of --config accounts")
    p.add_argument("--pos-mode", default="net", choices=["net", "long_short"])
    p.add_argument("--latency-ms", type=int, default=0, help="added latency per /api/v5 request")
    p.add_argument("--fault-rate", type=float, default=0.0,
                   help="probability of a random fault per /api/v5 request")
    p.add_argument("--fault-kinds", default=",".join(DEFAULT_MIX),
                   help="kinds drawn by --fault-rate (comma list)")
    p.add_argument("--fault-path", default="/api/v5/*", help="glob the --fault-rate applies to")
    p.add_argument("--fault", action="append", default=[], metavar="KIND:RATE[:PATH]",
                   help="an extra fault rule (repeatable)")
    p.add_argument("--timeout-hold-ms", type=int, default=30_000,
                   help="how long a 'timeout' fault holds the request")
    p.add_argument("--rate-limits", choices=["on", "off"], default="on")
    p.add_argument("--clock-start", help="ISO 8601 or epoch ms (default: wall clock)")
    p.add_argument("--clock-speed", type=float, default=1.0)
    p.add_argument("--clock-frozen", action="store_true")
    p.add_argument(
        "--clock-anchor",
        default=os.environ.get("OKXFLEET_CLOCK") or None,
        metavar="WALL_MS:VIRTUAL_MS:SPEED",
        help="share a virtual clock with other okxfleet processes (default: $OKXFLEET_CLOCK)",
    )
    p.add_argument("--extra-instruments", type=int, default=0, metavar="N",
                   help="add N synthetic USDT swaps S001-USDT-SWAP ... (benchmarks; max 999)")
    p.add_argument("--liquidity", action="append", default=[], metavar="INST:MAX_FILL_SZ",
                   help="fill orders on INST at most MAX_FILL_SZ per simulated second (repeatable)")
    p.add_argument("--no-skew-check", action="store_true",
                   help="accept any OK-ACCESS-TIMESTAMP (default: 30 s window, 50102)")
    p.add_argument("--log-level", default="WARNING")
    return p


def _config_accounts(path: str, balance: str) -> tuple[list[AccountSpec], str | None]:
    """The config's accounts (named by their OKX sub-account) and, with a TREASURY, the master
    account that owns them (issue #16)."""
    from config import load_config, resolve_credentials  # only for --config
    from config.credentials import MASTER_SIM_NAME, resolve_master_credentials

    try:
        cfg = load_config(Path(path))
        specs = []
        for name, acct in cfg.accounts.items():
            creds = resolve_credentials(cfg, name)
            specs.append(AccountSpec(creds.api_key, creds.secret, creds.passphrase,
                                     Decimal(balance), name=acct.okx_sub_account))
        master = None
        if cfg.treasury is not None:
            creds = resolve_master_credentials(cfg)
            specs.append(AccountSpec(creds.api_key, creds.secret, creds.passphrase, Decimal(0),
                                     name=MASTER_SIM_NAME))
            master = MASTER_SIM_NAME
    except Exception as exc:  # ConfigError and friends: show the message, exit 2
        raise ValueError(f"--config {path}: {exc}") from None
    return specs, master


def _liquidity(specs: Sequence[str]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for spec in specs:
        inst_id, _, size = spec.rpartition(":")
        try:
            out[inst_id] = Decimal(size)
        except InvalidOperation:
            raise ValueError(f"--liquidity {spec!r}: expected INST:MAX_FILL_SZ") from None
        if not inst_id:
            raise ValueError(f"--liquidity {spec!r}: expected INST:MAX_FILL_SZ")
    return out


def parse_args(argv: Sequence[str] | None = None) -> tuple[SimOptions, str, int, str]:
    """Options, host, port and log level from the command line (exits with a message on bad input)."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        accounts = [AccountSpec.parse(a) for a in args.account]
        master = None
        if args.config:
            from_config, master = _config_accounts(args.config, args.balance)
            accounts += from_config
        normalise_pos_mode(args.pos_mode)
        anchor = parse_anchor(args.clock_anchor) if args.clock_anchor else None
        start_ms = parse_time_ms(args.clock_start) if args.clock_start else None
        options = SimOptions(
            seed=args.seed,
            accounts=accounts,
            pos_mode=args.pos_mode,
            latency_ms=args.latency_ms,
            fault_rate=args.fault_rate,
            fault_kinds=tuple(normalise_kind(k) for k in args.fault_kinds.split(",") if k),
            fault_path=args.fault_path,
            faults=[parse_fault_spec(f) for f in args.fault],
            timeout_hold_ms=args.timeout_hold_ms,
            rate_limits=args.rate_limits == "on",
            clock_start_ms=anchor[1] if anchor else start_ms,
            clock_speed=anchor[2] if anchor else args.clock_speed,
            clock_anchor_wall_ms=anchor[0] if anchor else None,
            clock_frozen=args.clock_frozen,
            skew_check=not args.no_skew_check,
            extra_instruments=args.extra_instruments,
            liquidity=_liquidity(args.liquidity),
            master=master,
        )
        SimState(options)  # fail here, with a usage message, on unknown instruments or sizes
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    return options, args.host, args.port, args.log_level.upper()


async def _serve(options: SimOptions, host: str, port: int) -> None:
    state = SimState(options)
    warn_if_exposed(log, host, EXPOSED)
    runner = web.AppRunner(create_app(state), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    bound = runner.addresses[0][1]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(
        f"okxfleet simulator listening on http://{host}:{bound} (seed {options.seed}, "
        f"{len(state.accounts)} accounts, pos-mode {options.pos_mode})",
        flush=True,
    )
    await stop.wait()
    log.info("stopping")
    await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    options, host, port, level = parse_args(argv)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(_serve(options, host, port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
