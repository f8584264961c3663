"""Start-up checks: refuse clearly when something cannot work, fix what may be fixed.

1. Credentials and account configuration (``account/config``): position mode and account level.
   A Spot-mode account (acctLv 1) asked to trade swaps, or isolated margin on a multi-currency /
   portfolio-margin account, is refused.
2. Every instrument exists and is ``live``; linear contracts and spot only, one margin currency.
3. Orders the journal left open are resolved at OKX (looked up, cancelled if working); our own
   orders missing from the journal are cancelled; foreign pending orders are reported.
4. Leverage: ``min(configured, instrument max, MAX_LEVERAGE)`` is set where it differs, unless
   orders are pending on that instrument (OKX refuses, 59000) — then the lower of the two is
   used for sizing.
5. Positions are compared with the journal's last target per instrument; drift is reported.

Problems in 1-2 raise :class:`core.errors.ConfigError` listing all of them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal

from config.schema import StrategySettings
from core.errors import ConfigError
from exchange.errors import ExchangeAuthError, ExchangeError, UnknownInstrument
from exchange.public import inst_type_of
from exchange.records import AccountConfig, Instrument, Order
from trader.clordid import is_ours
from trader.context import TraderContext
from trader.sizing import effective_leverage
from trader.state import fetch_state

__all__ = ["PreflightResult", "account_problems", "load_setup", "preflight"]

log = logging.getLogger(__name__)
_MODES = {"net_mode": "net", "long_short_mode": "long_short"}


@dataclass
class PreflightResult:
    config: AccountConfig
    warnings: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return (
            f"posMode {self.config.pos_mode}, acctLv {self.config.acct_lv}, {len(self.warnings)} warning(s)"
        )


def _account_config(ctx: TraderContext) -> AccountConfig:
    try:
        return ctx.client.account_config()
    except ExchangeAuthError as exc:
        raise ConfigError(
            f"account {ctx.name!r}: OKX refused the credentials ({exc}); check the "
            f"{ctx.account.credentials}_* variables, the exchange mode ({ctx.cfg.exchange.mode}) "
            "and the key's IP whitelist"
        ) from exc


def account_problems(
    account: str, strategies: tuple[StrategySettings, ...], margin_mode: str, conf: AccountConfig
) -> list[str]:
    """What makes this OKX account unable to run these strategies (pure)."""
    problems: list[str] = []
    contracts = [s.inst_id for s in strategies if s.is_contract]
    if contracts and not conf.can_trade_contracts:
        problems.append(
            f"account {account!r} is in Spot mode (acctLv {conf.acct_lv}) and cannot trade "
            f"{', '.join(contracts)}; switch its account mode to Futures (acctLv 2) or "
            "multi-currency margin in the OKX web or app UI"
        )
    if margin_mode == "isolated" and conf.acct_lv in ("3", "4"):
        problems.append(
            f"account {account!r}: isolated margin is not available in account mode acctLv "
            f"{conf.acct_lv}; use margin_mode='cross'"
        )
    if conf.pos_mode not in _MODES:
        problems.append(f"account {account!r}: unknown position mode {conf.pos_mode!r}")
    return problems


def _load_instruments(ctx: TraderContext, problems: list[str]) -> dict[str, Instrument]:
    out: dict[str, Instrument] = {}
    ccys: dict[str, str] = {}
    refreshed: set[str] = set()  # one fresh instruments list per type, not one per strategy
    for strat in ctx.account.strategies:
        where = f"account {ctx.name!r}, {strat.inst_id}"
        kind = inst_type_of(strat.inst_id)
        try:
            inst = ctx.public.instrument(strat.inst_id, refresh=kind not in refreshed)
            refreshed.add(kind)
        except UnknownInstrument:
            problems.append(f"{where}: OKX does not list this instrument")
            continue
        if not inst.is_live:
            problems.append(f"{where}: instrument state is {inst.state!r}, not live")
        if inst.inst_type not in ("SWAP", "FUTURES", "SPOT"):
            problems.append(f"{where}: {inst.inst_type} is not supported (SWAP, FUTURES or SPOT)")
        if inst.is_contract and inst.ct_type != "linear":
            problems.append(
                f"{where}: only linear (USDT-margined) contracts are supported, not {inst.ct_type!r}"
            )
        ccys[strat.inst_id] = inst.settle_ccy if inst.is_contract else inst.quote_ccy
        out[strat.inst_id] = inst
    if len(set(ccys.values())) > 1:
        listing = ", ".join(f"{k} ({v})" for k, v in sorted(ccys.items()))
        problems.append(f"account {ctx.name!r}: strategies must share one margin currency, got {listing}")
    if ccys:
        ctx.equity_ccy = next(iter(ccys.values()))
    return out


def _reconcile_orders(ctx: TraderContext, warnings: list[str]) -> dict[str, list[Order]]:
    ctx.tracker.recover()
    pending: dict[str, list[Order]] = {}
    for order in ctx.client.pending_orders():
        if order.inst_id not in ctx.instruments:
            continue
        if is_ours(order.cl_ord_id):  # ours, yet not resolved from the journal: never leave it working
            log.warning(
                "cancelling %s %s: ours, still working after recovery", order.inst_id, order.cl_ord_id
            )
            ctx.tracker.settle({order.cl_ord_id: order.inst_id}, {})
            continue
        pending.setdefault(order.inst_id, []).append(order)
        warnings.append(
            f"{order.inst_id}: foreign pending order {order.ord_id} ({order.side} {order.sz}) — "
            "it is not ours and is left alone; positions it fills are traded against"
        )
    return pending


def _set_leverage(ctx: TraderContext, pending: dict[str, list[Order]], warnings: list[str]) -> None:
    mode = ctx.settings.margin_mode
    for strat in ctx.account.strategies:
        inst = ctx.instruments[strat.inst_id]
        if not inst.is_contract:
            ctx.leverage[strat.inst_id] = Decimal(1)
            continue
        want = effective_leverage(strat.leverage, inst.max_lever, ctx.cfg.max_leverage)
        current = [info.lever for info in ctx.client.leverage_info(strat.inst_id, mode)]
        if current and all(lever == want for lever in current):
            ctx.leverage[strat.inst_id] = want
            continue
        if pending.get(strat.inst_id):
            have = min(current) if current else want
            warnings.append(
                f"{strat.inst_id}: leverage left at {have} (wanted {want}): orders are pending on it"
            )
            ctx.leverage[strat.inst_id] = min(want, have)
            continue
        per_side = mode == "isolated" and ctx.pos_mode == "long_short"
        sides: list[str | None] = ["long", "short"] if per_side else [None]
        try:
            for side in sides:
                ctx.client.set_leverage(strat.inst_id, want, mode, side)
            log.info("%s: leverage set to %s (%s)", strat.inst_id, want, mode)
            ctx.leverage[strat.inst_id] = want
        except ExchangeError as exc:
            have = min(current) if current else want
            warnings.append(
                f"{strat.inst_id}: could not set leverage {want} ({exc}); sizing with {min(want, have)}"
            )
            ctx.leverage[strat.inst_id] = min(want, have)


def _check_positions(ctx: TraderContext, warnings: list[str]) -> None:
    state = fetch_state(ctx.client, ctx.instruments, ctx.settings.margin_mode, ctx.equity_ccy)
    for pos in state.foreign:
        if pos.inst_id in ctx.instruments:
            warnings.append(
                f"{pos.inst_id}: a {pos.mgn_mode} position of {pos.pos} is not in margin mode "
                f"{ctx.settings.margin_mode} and is not traded"
            )
    standing = ctx.targets.all()
    for inst_id in ctx.instruments:
        holding = state.holding(inst_id)
        held = standing.get(inst_id)
        log.info("%s: holding %s (standing target %s)", inst_id, holding.signed,
                 None if held is None else f"{held.target} ({held.source})")  # fmt: skip
        if held is None:
            continue
        expected = held.target if ctx.instruments[inst_id].is_contract else max(held.target, 0)
        if expected != holding.direction:
            warnings.append(
                f"{inst_id}: position {holding.signed} differs from the standing target {expected} "
                f"({held.source}, bar {held.bar_close or '-'}); the trader brings it to the target from "
                "the next bar"
            )


def load_setup(ctx: TraderContext) -> tuple[AccountConfig, list[str]]:
    """Steps 1-2 only: fills ``ctx.instruments``, ``pos_mode`` and ``equity_ccy``; returns the
    account configuration and the problems found (also what ``--flatten`` needs, nothing more)."""
    conf = _account_config(ctx)
    problems = account_problems(ctx.name, ctx.account.strategies, ctx.settings.margin_mode, conf)
    ctx.instruments = _load_instruments(ctx, problems)
    ctx.pos_mode = "long_short" if conf.pos_mode == "long_short_mode" else "net"
    return conf, problems


def preflight(ctx: TraderContext) -> PreflightResult:
    """Check and prepare the account; fills ``ctx.instruments``, ``pos_mode``, ``leverage``."""
    conf, problems = load_setup(ctx)
    if problems:
        raise ConfigError(problems)
    result = PreflightResult(conf)
    pending = _reconcile_orders(ctx, result.warnings)
    _set_leverage(ctx, pending, result.warnings)
    _check_positions(ctx, result.warnings)
    for warning in result.warnings:
        log.warning("preflight: %s", warning)
    log.info("preflight of %s passed: %s", ctx.name, result.summary)
    return result
