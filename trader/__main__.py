"""``python -m trader <account> [--config PATH] [--once] [--report] [--targets]
[--set-target INST {1,-1,0}] [--flatten | --resume]`` — one process per account.
``--flatten`` closes everything and halts the account (a running trader keeps reporting,
never orders); ``--resume`` lifts the halt.

Exit codes: 0 stopped cleanly, 2 configuration or preflight refused (message on stderr), 3 the
journal file is corrupt or empty (message on stderr and an alert; never a fresh history). Neither
restarts under systemd or the supervisor. After start nothing else ends the process: OKX being
unavailable or refusing the keys pauses trading (alerted, retried with backoff).
The process clock comes from ``OKXFLEET_CLOCK`` when set (see :func:`core.clock.clock_from_env`).
"""

from __future__ import annotations

import argparse
import logging
import sys

from config import add_config_argument, load_config, resolve_credentials
from config.schema import FleetConfig
from core.barlock import LockTimeout
from core.clock import ScaledClock, SystemClock, clock_from_env
from core.errors import ConfigError
from core.logs import setup_logging
from notify import events as ev
from trader.journal import Journal
from trader.journal_open import EXIT_JOURNAL, JournalUnreadable
from trader.report import format_report
from trader.targets_cli import format_targets, set_target

__all__ = ["main"]

log = logging.getLogger("trader")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m trader", description=__doc__)
    parser.add_argument("account", help="account name from config.py ACCOUNTS")
    add_config_argument(parser)
    parser.add_argument("--once", action="store_true", help="run the latest closed bar, then exit")
    parser.add_argument("--report", action="store_true", help="print recent cycles, orders and PnL")
    parser.add_argument("--limit", type=int, default=20, help="rows per --report section (default 20)")
    parser.add_argument("--targets", action="store_true", help="show the standing target of each instrument")
    parser.add_argument(
        "--set-target", nargs=2, metavar=("INST", "TARGET"),
        help="set an instrument's standing target by hand: 1 long, -1 short, 0 flat (journaled)",
    )  # fmt: skip
    kill = parser.add_mutually_exclusive_group()
    kill.add_argument("--flatten", action="store_true", help="close every position and halt the account")
    kill.add_argument("--resume", action="store_true", help="lift a halt (drawdown or --flatten)")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING (default INFO)")
    return parser


def _run(args: argparse.Namespace) -> int:
    from exchange import make_account_client, make_market_client
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
    public = make_market_client(client, clock)  # instruments and tickers: no ccxt in the trader
    # DingTalk counts its rate window in wall time, also in an accelerated demo (as in the collector)
    wall = SystemClock() if isinstance(clock, ScaledClock) else clock
    notifier = make_notifier(cfg, process=f"trader-{account}", account=account, clock=wall)
    bus = None
    try:
        if cfg.data_bus.kind == "redis":  # issue #17: bars, markers and the account lease in Redis
            from bus.factory import redis_client
            from trader.standby import build_leased_context, serve_leased

            bus = redis_client(cfg)
            ctx, leased = build_leased_context(
                cfg, account, bus, client=client, public=public, clock=clock, notifier=notifier
            )
        else:
            ctx = build_context(cfg, account, client=client, public=public, clock=clock, notifier=notifier)
    except JournalUnreadable as exc:
        log.error("%s", exc)
        notifier.notify(ev.TradingAlert(account, "journal_unreadable", str(exc)))
        notifier.close()
        client.close()
        public.close()
        raise
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


def _offline(args: argparse.Namespace) -> int:
    """``--report``, ``--targets``, ``--set-target``: the journal only, no exchange call."""
    cfg = load_config(args.config, check_credentials=False)
    account = cfg.account(args.account)
    path = cfg.journal_dir / f"{account.name}.sqlite"
    target: int | None = None
    if args.set_target:
        raw = args.set_target[1]
        if raw not in ("1", "-1", "0"):
            print(f"error: TARGET must be 1, -1 or 0, got {raw!r}", file=sys.stderr)
            return 2
        target = int(raw)
    elif not path.is_file():
        print(f"no journal for account {args.account!r} at {path}", file=sys.stderr)
        return 1
    if target is not None and cfg.data_bus.kind == "redis":  # issue #17: the state lives in Redis
        return _remote(cfg, account.name, args)
    journal = Journal(path)
    try:
        if target is not None:
            sys.stdout.write(set_target(journal, account, args.set_target[0], target, clock_from_env()))
        elif args.targets:
            sys.stdout.write(format_targets(journal, account))
        else:
            sys.stdout.write(format_report(journal, args.account, args.limit))
    finally:
        journal.close()
    return 0


def _remote(cfg: FleetConfig, account: str, args: argparse.Namespace) -> int:
    """Redis mode: queue ``--set-target``, ``--flatten`` or ``--resume`` for the lease holder."""
    from bus.factory import redis_client
    from trader.remote_cli import queue_flatten, queue_resume, queue_set_target

    client = redis_client(cfg)
    try:
        if args.set_target:
            out = queue_set_target(cfg, client, account, args.set_target[0], int(args.set_target[1]))
        else:
            out = queue_flatten(cfg, client, account) if args.flatten else queue_resume(cfg, client, account)
    finally:
        client.close()
    sys.stdout.write(out)
    return 0


def _kill_switch(args: argparse.Namespace) -> int:
    from exchange import make_account_client, make_market_client
    from exchange.errors import ExchangeError
    from notify.service import make_notifier
    from trader.killswitch import flatten, flatten_failed, resume

    cfg = load_config(args.config)
    account = cfg.account(args.account).name
    if cfg.data_bus.kind == "redis":  # issue #17: the halt lives in Redis; the lease holder flattens
        return _remote(cfg, account, args)
    setup_logging(f"trader-{account}-cli", cfg.logs_dir, level=args.log_level.upper())
    clock = clock_from_env()
    notifier = make_notifier(cfg, process=f"trader-{account}", account=account)
    try:
        if args.resume:
            return resume(cfg, account, clock, notifier)
        client = make_account_client(cfg.exchange, resolve_credentials(cfg, account), clock, account=account)
        public = make_market_client(client, clock)
        try:
            return flatten(cfg, account, client, public, clock, notifier)
        except (ExchangeError, LockTimeout, ConfigError) as exc:  # halted already: the trader finishes it
            print(f"error: {flatten_failed(cfg, account, clock, notifier, exc)}", file=sys.stderr)
            return 1
        finally:
            public.close()
            client.close()
    finally:
        notifier.close()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.report or args.targets or args.set_target:
            return _offline(args)
        if args.flatten or args.resume:
            return _kill_switch(args)
        return _run(args)
    except JournalUnreadable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_JOURNAL
    except ValueError as exc:  # --set-target for an instrument the account does not trade
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return 2
    except KeyError as exc:  # unknown account name
        print(f"error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
