"""``python -m trader <account> [--config PATH] [--once] [--report]`` — one process per account.

Exit codes: 0 stopped cleanly, 2 configuration or preflight refused (message on stderr).
The process clock comes from ``OKXFLEET_CLOCK`` when set (see :func:`core.clock.clock_from_env`).
"""

from __future__ import annotations

import argparse
import logging
import sys

from config import add_config_argument, load_config, resolve_credentials
from core.clock import ScaledClock, SystemClock, clock_from_env
from core.errors import ConfigError
from core.logs import setup_logging
from trader.journal import Journal
from trader.report import format_report

__all__ = ["main"]

log = logging.getLogger("trader")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m trader", description=__doc__)
    parser.add_argument("account", help="account name from config.py ACCOUNTS")
    add_config_argument(parser)
    parser.add_argument("--once", action="store_true", help="run the latest closed bar, then exit")
    parser.add_argument("--report", action="store_true", help="print recent cycles, orders and PnL")
    parser.add_argument("--limit", type=int, default=20, help="rows per --report section (default 20)")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING (default INFO)")
    return parser


def _run(args: argparse.Namespace) -> int:
    from exchange import make_account_client, make_public_client
    from notify.format import ReportCadence
    from notify.service import make_notifier
    from trader.context import build_context
    from trader.service import TraderService

    cfg = load_config(args.config)
    account = cfg.account(args.account).name
    setup_logging(f"trader-{account}", cfg.logs_dir, level=args.log_level.upper())
    clock = clock_from_env()
    credentials = resolve_credentials(cfg, account)
    client = make_account_client(cfg.exchange, credentials, clock, account=account)
    public = make_public_client(cfg.exchange, clock)
    # DingTalk counts its rate window in wall time, also in an accelerated demo (as in the collector)
    wall = SystemClock() if isinstance(clock, ScaledClock) else clock
    notifier = make_notifier(cfg, process=f"trader-{account}", account=account, clock=wall)
    bus = None
    if cfg.data_bus.kind == "redis":  # issue #17: bars, markers and the account lease in Redis
        from bus.factory import redis_client
        from trader.standby import build_leased_context, serve_leased

        bus = redis_client(cfg)
        ctx, leased = build_leased_context(
            cfg, account, bus, client=client, public=public, clock=clock, notifier=notifier
        )
    else:
        ctx = build_context(cfg, account, client=client, public=public, clock=clock, notifier=notifier)
    service = TraderService(ctx, ReportCadence(cfg.notify.report_every_minutes, cfg.candle_timezone))
    service.install_signal_handlers()
    log.info("trader %s starting (%s mode, %s bars)", account, cfg.exchange.mode, ctx.account.interval)
    try:
        if bus is not None:
            return serve_leased(service, leased, once=args.once)
        return service.run(once=args.once)
    finally:
        if bus is not None:
            bus.close()
        notifier.close()
        ctx.close()
        client.close()
        public.close()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.report:
            cfg = load_config(args.config, check_credentials=False)
            path = cfg.journal_dir / f"{cfg.account(args.account).name}.sqlite"
            if not path.is_file():
                print(f"no journal for account {args.account!r} at {path}", file=sys.stderr)
                return 1
            journal = Journal(path)
            try:
                sys.stdout.write(format_report(journal, args.account, args.limit))
            finally:
                journal.close()
            return 0
        return _run(args)
    except ConfigError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return 2
    except KeyError as exc:  # unknown account name
        print(f"error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
