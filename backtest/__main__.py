"""``python -m backtest`` — what would a configured account, or one strategy, have done?

    python -m backtest --account sub1 [--from 2026-01-01 --to 2026-06-30] [--config PATH]
    python -m backtest --strategy bollinger --inst ETH-USDT-SWAP --interval 1h --params '{"n":200,"m":2}'
    python -m backtest --strategy bollinger --inst ETH-USDT-SWAP --interval 1h \\
        --grid '{"n":[20,50,100],"m":[1.5,2,2.5]}'

Dates are UTC; a plain date in ``--to`` includes that day. Exit codes: 0 done, 2 bad input
(unknown account or strategy, bad params, empty range, a gap in the data, ...), 1 anything else.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from backtest.grid import parse_grid, rank, run_grid
from backtest.model import BacktestError, Costs, RunSettings, settings_for
from backtest.report import METRIC_HEADERS, format_summary, metrics_row, table, write_outputs
from backtest.runner import Request, StrategyRequest, execute, prepare
from config.loader import add_config_argument, load_config
from config.schema import FleetConfig, RiskSettings, TraderSettings
from core.clock import clock_from_env
from core.errors import ConfigError
from core.intervals import parse_interval
from exchange import make_public_client

__all__ = ["main", "parse_args"]

log = logging.getLogger("backtest")


def _when(text: str, *, end: bool = False) -> datetime:
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            ts = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return ts + timedelta(days=1) if end else ts
        ts = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date or ISO time: {text!r} (e.g. 2026-01-01)") from None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m backtest",
        description="What would a configured account, or one strategy, have done? (see README: Backtesting)",
    )
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--account", help="backtest this account of the config (all its strategies)")
    what.add_argument("--strategy", help="backtest one strategy (with --inst, --interval, --params)")
    p.add_argument("--inst", help="instrument id for --strategy, e.g. ETH-USDT-SWAP")
    p.add_argument("--interval", help="bar interval for --strategy, e.g. 1h")
    p.add_argument("--params", default="{}", help="JSON parameters for --strategy")
    p.add_argument("--leverage", type=_decimal, default=Decimal(1), help="leverage for --strategy")
    p.add_argument("--grid", help='JSON {"param": [values...]}: run every combination, ranked')
    p.add_argument("--workers", type=int, default=None, help="grid processes (default: one per core)")
    p.add_argument("--from", dest="start", type=_when, help="first bar (UTC date or ISO time)")
    p.add_argument("--to", dest="end", type=lambda t: _when(t, end=True), help="last day (inclusive)")
    p.add_argument("--equity", type=_decimal, default=Decimal(10000), help="starting equity (USDT)")
    p.add_argument("--order-type", choices=("limit", "market", "optimal_limit_ioc"), help="override")
    p.add_argument("--slippage", type=_decimal, help="override the configured slippage (a fraction)")
    p.add_argument("--maker-fee", type=_decimal, help="fee rate (default: OKX base tier)")
    p.add_argument("--taker-fee", type=_decimal, help="fee rate (default: OKX base tier)")
    p.add_argument("--limit-fills", choices=("taker", "maker"), default="taker", help="fee of limit fills")
    p.add_argument("--funding-rate", type=_decimal, default=Decimal("0.0001"),
                   help="per 8 h, where <DATA_DIR>/funding/<INST>.csv has none")  # fmt: skip
    p.add_argument("--method", choices=("auto", "vectorised", "replay"), default="auto",
                   help="targets from the vectorised form (checked) or the per-bar function")  # fmt: skip
    p.add_argument("--no-fetch", action="store_true",
                   help="fetch nothing: a missing range stops the run, funding history is not updated")
    p.add_argument("--out", type=Path, help="output folder (default <DATA_DIR>/backtests/<label>-<time>)")
    p.add_argument("--progress", choices=("auto", "on", "off"), default="auto", help="backfill progress bar")
    p.add_argument("--log-level", default="WARNING")
    add_config_argument(p)
    args = p.parse_args(argv)
    if args.strategy and not (args.inst and args.interval):
        p.error("--strategy needs --inst and --interval")
    if args.account and (args.inst or args.interval or args.grid):
        p.error("--inst, --interval and --grid go with --strategy, not --account")
    return args


def _settings(
    args: argparse.Namespace, trader: TraderSettings, risk: RiskSettings | None = None
) -> RunSettings:
    costs = Costs(args.maker_fee, args.taker_fee, args.limit_fills, args.funding_rate)
    return settings_for(
        trader, initial_equity=args.equity, costs=costs, order_type=args.order_type, slippage=args.slippage,
        risk=risk,
    )


def build_request(args: argparse.Namespace, cfg: FleetConfig) -> Request:
    if args.account:
        try:
            account = cfg.account(args.account)
        except KeyError as exc:
            raise BacktestError(str(exc.args[0])) from None
        strategies = tuple(
            StrategyRequest(s.inst_id, s.name, s.params, s.leverage, s.weight) for s in account.strategies
        )
        settings = _settings(args, account.trader, account.risk)
        return Request(args.account, account.interval_obj, strategies, settings,
                       args.start, args.end, args.method)  # fmt: skip
    try:
        params = json.loads(args.params)
        interval = parse_interval(args.interval)
    except (json.JSONDecodeError, ValueError) as exc:
        raise BacktestError(f"bad --params or --interval: {exc}") from None
    if not isinstance(params, dict):
        raise BacktestError(f"--params must be a JSON object, got {args.params!r}")
    label = f"{args.strategy}-{args.inst}-{interval}"
    strat = StrategyRequest(args.inst, args.strategy, params, args.leverage)
    return Request(label, interval, (strat,), _settings(args, cfg.trader), args.start, args.end, args.method)


def _folder(args: argparse.Namespace, cfg: FleetConfig, label: str, now: datetime) -> Path:
    return args.out or cfg.data_dir / "backtests" / f"{label}-{now.strftime('%Y%m%dT%H%M%SZ')}"


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args.config, check_credentials=False)
    clock = clock_from_env()
    request = build_request(args, cfg)
    progress = {"auto": None, "on": True, "off": False}[args.progress]
    points: list[dict[str, Any]] = []
    if args.grid:
        points = parse_grid(args.grid, request.strategies[0].params)
    with make_public_client(cfg.exchange, clock) as public:
        lanes = prepare(cfg, request, public=public, clock=clock, fetch=not args.no_fetch, progress=progress)
    folder = _folder(args, cfg, request.label, clock.now())
    if points:
        ranked = rank(run_grid(request, points, lanes[0], max_leverage=cfg.max_leverage, config=args.config,
                               workers=args.workers))  # fmt: skip
        rows = [[json.dumps(p.params), *metrics_row(p.metrics)] for p in ranked]
        text = table(["params", *METRIC_HEADERS], rows)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "grid.txt").write_text(text + "\n", encoding="utf-8")
        print(f"grid {request.label}: {len(points)} points, best first (by Sharpe)\n{text}\n-> {folder}")
        return 0
    outcome = execute(request, lanes)
    write_outputs(outcome, folder)
    print(format_summary(outcome))
    print(f"-> {folder}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:
        return run(args)
    except (BacktestError, ConfigError) as exc:
        print(f"backtest: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
