"""``python -m config --check [--config PATH]``: validate and print the plan (secrets redacted)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from config.credentials import CREDENTIAL_SUFFIXES, missing_credential_vars
from config.loader import add_config_argument, load_config
from config.plan import history_plan, strategy_lookback
from config.schema import FleetConfig
from core.errors import ConfigError
from core.intervals import okx_bar
from core.redaction import redact

__all__ = ["main", "render_plan"]


def _credential_status(cfg: FleetConfig, prefix: str) -> str:
    missing = missing_credential_vars(prefix, cfg.env)
    if not missing:
        return f"{prefix}_{{{','.join(CREDENTIAL_SUFFIXES)}}} set (values hidden)"
    if cfg.exchange.mode == "simulator" and len(missing) == len(CREDENTIAL_SUFFIXES):
        return f"{prefix}_* not set: simulator development credentials"
    return f"MISSING {', '.join(missing)}"


def render_plan(cfg: FleetConfig) -> str:
    plan = history_plan(cfg)
    tz = cfg.candle_timezone
    lines = [
        f"okxfleet plan — config {cfg.source}",
        f"exchange     : {cfg.exchange.mode} at {cfg.exchange.url}",
        f"candle tz    : {tz} (6h/12h/1d bars align to {tz}; 1d = OKX bar {okx_bar('1d', tz)})",
        f"data dir     : {cfg.data_dir}",
        f"base interval: {plan.base} (OKX bar {okx_bar(plan.base, tz)}), "
        f"collected for {len(cfg.instruments)} instrument(s): {', '.join(cfg.instruments)}",
        f"intervals    : {', '.join(str(iv) for iv in cfg.intervals)}",
        "history      :",
    ]
    for iv, bars in plan.bars_needed.items():
        lines.append(f"  {iv!s:>4}: strategies need {bars} closed bars")
    for iv, span in plan.spans.items():
        how = "fetched" if iv == plan.base else "fetched from OKX once, then derived"
        lines.append(f"  backfill {span} of {iv} candles = {plan.bars(iv)} bars per instrument ({how})")
    dingtalk = cfg.notify.dingtalk
    lines.append(
        "notify       : "
        + (f"DingTalk robot from ${dingtalk.webhook_env}" if dingtalk else "log only")
        + f", report every {cfg.notify.report_every_minutes} min"
    )
    lines.append(f"accounts     : {len(cfg.accounts)}")
    for acct in cfg.accounts.values():
        t = acct.trader
        status = _credential_status(cfg, acct.credentials)
        lines.append(f"  {acct.name}: interval {acct.interval}, credentials {status}")
        lines.append(
            f"    orders {t.order_type} (slippage {t.slippage}), {t.margin_mode} margin, "
            f"marker deadline {t.marker_deadline_s:g}s, reprice x{t.reprice_attempts}"
        )
        if acct.dingtalk:
            lines.append(f"    DingTalk robot from ${acct.dingtalk.webhook_env}")
        for s in acct.strategies:
            params = ", ".join(f"{k}={v}" for k, v in s.params.items()) or "defaults"
            lines.append(
                f"    {s.inst_id:<16} {s.name:<15} leverage {s.leverage}  params {params}  "
                f"lookback {strategy_lookback(s.name, s.params)}"
            )
    return redact("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m config", description=__doc__)
    add_config_argument(parser)
    parser.add_argument("--check", action="store_true", help="validate the config and print the plan")
    parser.add_argument("--env-file", type=Path, default=None, help="dotenv file (default ./.env)")
    args = parser.parse_args(argv)
    if not args.check:
        parser.print_help()
        return 2
    try:
        cfg = load_config(args.config, env_file=args.env_file)
    except ConfigError as exc:
        print(f"config is invalid ({len(exc.problems)} problem(s)):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {redact(problem)}", file=sys.stderr)
        return 1
    print(render_plan(cfg))
    print("config OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
