"""``python -m treasury [--plan | --once] [--config PATH]`` — capital across sub-accounts.

Runs with the master account's key (``TREASURY = Treasury(credentials="OKX_MASTER", ...)``).
``--plan`` prints the plan and changes nothing; ``--once`` executes one plan; without either it
runs daily at ``TREASURY.schedule`` (UTC). Exit codes: 0 done, 1 a transfer failed or was
refused, 2 configuration error.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

from config import add_config_argument, load_config
from config.credentials import resolve_master_credentials
from core.clock import clock_from_env
from core.errors import ConfigError
from core.logs import setup_logging

__all__ = ["main"]

log = logging.getLogger("treasury")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m treasury", description=__doc__)
    add_config_argument(parser)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--plan", action="store_true", help="print the plan, change nothing")
    mode.add_argument("--once", action="store_true", help="execute one plan, then exit")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING (default INFO)")
    return parser


def _run(args: argparse.Namespace) -> int:
    from exchange.treasury import make_master_client
    from notify.service import make_notifier
    from treasury.journal import TreasuryJournal
    from treasury.service import TreasuryService, render_plan

    cfg = load_config(args.config)
    if cfg.treasury is None:
        raise ConfigError("no TREASURY configured: add TREASURY = Treasury(credentials='OKX_MASTER')")
    setup_logging("treasury", cfg.logs_dir, level=args.log_level.upper())
    clock = clock_from_env()
    master = make_master_client(cfg.exchange, resolve_master_credentials(cfg), clock)
    notifier = make_notifier(cfg, process="treasury", clock=clock)
    journal = TreasuryJournal(cfg.journal_dir / "treasury.sqlite")
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    service = TreasuryService(cfg, master, journal, clock, notifier, stop)
    try:
        if args.plan or args.once:
            result = service.run_once(execute=args.once)
            if result.plan is not None:
                print(render_plan(result.plan))
            for o in result.outcomes:
                print(f"  {o.client_id}: {o.status}{' — ' + o.detail if o.detail else ''}")
            bad = any(o.status in ("failed", "refused") for o in result.outcomes)
            return 1 if bad else 0
        return service.run_forever()
    finally:
        notifier.close()
        journal.close()
        master.close()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from exchange.errors import ExchangeError

    try:
        return _run(args)
    except ConfigError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return 2
    except ExchangeError as exc:  # journaled plans are looked up and finished by the next run
        print(f"OKX error: {exc}; open transfers are looked up by clientId on the next run", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
