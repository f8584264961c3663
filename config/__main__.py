"""``python -m config --check [--config PATH]``: validate and print the plan (secrets redacted)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from config.credentials import CREDENTIAL_SUFFIXES, missing_credential_vars
from config.loader import add_config_argument, load_config
from config.plan import history_plan, strategy_lookback
from config.schema import AccountSettings, FleetConfig
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


def _feed_lines(cfg: FleetConfig) -> list[str]:
    """The collector's feed: which, where, how many connections, and what the last bar did."""
    from collector.feed_journal import read_feed_status
    from collector.ws_plan import connections_needed

    settings = cfg.collector
    if settings.feed == "websocket":
        n = len(cfg.instruments)
        conns = connections_needed(n, settings.ws_per_connection)
        lines = [
            f"feed         : websocket at {cfg.exchange.business_ws_url}, {conns} connection(s) for "
            f"{n} instrument(s); REST for those without a confirm push {settings.ws_deadline_s:g}s "
            "after the close"
        ]
    else:
        lines = [f"feed         : rest (market/candles polling {settings.close_delay_s:g}s after each close)"]
    live = read_feed_status(cfg.data_dir / "collector")
    if live is not None:
        last = live.get("last") or {}
        text = f"  live: {live.get('feed')} as of {live.get('at')}, {live.get('open_connections')} open"
        if last:
            text += (
                f"; last bar close {last.get('bar_close')}: {last.get('via_push')} via push, "
                f"{len(last.get('fallback') or [])} fell back to REST, ready {last.get('ready_s', 0):.2f}s"
            )
        lines.append(text)
    return lines


def render_plan(cfg: FleetConfig) -> str:
    plan = history_plan(cfg)
    tz = cfg.candle_timezone
    lines = [
        f"okxfleet plan — config {cfg.source}",
        f"exchange     : {cfg.exchange.mode} at {cfg.exchange.url}"
        + (f", business websocket {cfg.exchange.ws_url} (ws_url)" if cfg.exchange.ws_url else ""),
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
    lines += _feed_lines(cfg)
    lines += _bus_lines(cfg)
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
        lines.extend(_risk_lines(acct))
        for s in acct.strategies:
            params = ", ".join(f"{k}={v}" for k, v in s.params.items()) or "defaults"
            lines.append(
                f"    {s.inst_id:<16} {s.name:<15} leverage {s.leverage}  weight {s.weight}  "
                f"params {params}  lookback {strategy_lookback(s.name, s.params)}"
            )
    lines.extend(_treasury_lines(cfg))
    return redact("\n".join(lines))


def _bus_lines(cfg: FleetConfig) -> list[str]:
    """Where bars and markers travel between the collector and the traders (``DATA_BUS``)."""
    bus = cfg.data_bus
    if bus.kind == "files":
        return [f"data bus     : files (CSVs and data_ready markers under {cfg.data_dir}, this host only)"]
    from bus.connect import redacted_url

    password = f", password from ${bus.password_env}" if bus.password_env else ""
    return [
        f"data bus     : redis at {redacted_url(bus.url or '')} (prefix {bus.prefix!r}{password}); "
        f"account and collector leases of {bus.lease_s:g}s, this host named "
        f"{bus.host or 'by its hostname'}"
    ]


def _risk_lines(acct: AccountSettings) -> list[str]:
    r = acct.risk
    if not r.active:
        return []
    parts = [f"{k.replace('_', ' ')} {v}" for k, v in r.__dict__.items() if v is not None]
    return [f"    risk limits: {', '.join(parts)}"]


def _treasury_lines(cfg: FleetConfig) -> list[str]:
    t = cfg.treasury
    if t is None:
        return ["treasury     : not configured (no capital moves between sub-accounts)"]
    total = sum(a.weight for a in cfg.accounts.values())
    weights = ", ".join(
        f"{a.okx_sub_account} {a.weight / total:.1%}" for a in cfg.accounts.values()
    )
    caps = f"max {t.max_transfer or 'unlimited'} per transfer, {t.max_per_day or 'unlimited'} per day"
    return [
        f"treasury     : master credentials {_credential_status(cfg, t.credentials)}",
        f"  daily at {t.schedule} UTC, band {t.band:%}, {t.ccy}, {caps}",
        f"  target weights: {weights}",
    ]


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
