"""Load ``config.py`` once, validate everything, report every problem together.

Errors name the account, instrument and field: ``account 'sub1', strategy ETH-USDT-SWAP:
leverage: must be > 0``. Unknown keys anywhere (typos) are errors, with a suggestion.
"""

from __future__ import annotations

import argparse
import difflib
import os
import runpy
import traceback
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from config.builders import (
    Account,
    Collector,
    DingTalk,
    Draft,
    Exchange,
    Files,
    Notify,
    Redis,
    Risk,
    Strategy,
    Trader,
    Treasury,
)  # fmt: skip
from config.credentials import missing_credential_vars, parse_env_file
from config.safety import real_exchange_problems
from config.schema import (
    ACCOUNT_NAME_RE,
    AccountSettings,
    CollectorSettings,
    DataBusSettings,
    DingTalkSettings,
    ExchangeSettings,
    FleetConfig,
    NotifySettings,
    RiskSettings,
    StrategySettings,
    TraderSettings,
    TreasurySettings,
)
from config.treasury_check import check_treasury
from core.errors import ConfigError
from core.intervals import parse_interval

__all__ = ["DEFAULT_CONFIG_PATH", "KNOWN_SETTINGS", "add_config_argument", "load_config"]

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent / "config.py"
KNOWN_SETTINGS = (
    "ACCOUNTS",
    "CANDLE_TIMEZONE",
    "COLLECTOR",
    "DATA_BUS",
    "DATA_DIR",
    "EXCHANGE",
    "MAX_LEVERAGE",
    "NOTIFY",
    "TRADER",
    "TREASURY",
)


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """The ``--config PATH`` option every process accepts."""
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="PATH",
        help=f"config file (default: $OKXFLEET_CONFIG or {DEFAULT_CONFIG_PATH})",
    )


def _pydantic_problems(where: str, exc: ValidationError, model: type[BaseModel]) -> list[str]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"])
        if err["type"] == "extra_forbidden":
            hint = difflib.get_close_matches(str(err["loc"][-1]), list(model.model_fields), n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            out.append(f"{where}: unknown key {loc!r}{suggestion}")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            out.append(f"{where}: {loc or 'value'}: {msg}")
    return out


def _build(
    where: str,
    draft: Any,
    draft_type: type[Draft],
    model: type[BaseModel],
    problems: list[str],
    extra: Mapping[str, Any] | None = None,
) -> Any:
    if isinstance(draft, Mapping):
        fields: dict[str, Any] = dict(draft)
    elif isinstance(draft, draft_type):
        fields, issues = draft.fields()
        problems.extend(f"{where}: {p}" for p in issues)
    else:
        problems.append(f"{where}: expected {draft_type.__name__}(...), got {type(draft).__name__}")
        return None
    fields.update(extra or {})
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        problems.extend(_pydantic_problems(where, exc, model))
        return None


def _build_bus(draft: Any, problems: list[str]) -> DataBusSettings | None:
    """``DATA_BUS``: ``Files()`` or ``Redis(url=...)``."""
    if isinstance(draft, Files):
        return _build("DATA_BUS", draft, Files, DataBusSettings, problems, {"kind": "files"})
    if isinstance(draft, Redis):
        return _build("DATA_BUS", draft, Redis, DataBusSettings, problems, {"kind": "redis"})
    problems.append(f"DATA_BUS: expected Files() or Redis(url=...), got {type(draft).__name__}")
    return None


def _merge_trader(base: TraderSettings, draft: Any, where: str, problems: list[str]) -> TraderSettings:
    if draft is None:
        return base
    override = _build(where, draft, Trader, TraderSettings, problems)
    if override is None:
        return base
    return base.model_copy(update={k: getattr(override, k) for k in override.model_fields_set})


def _check_strategy(where: str, strat: StrategySettings, max_leverage: Decimal, problems: list[str]) -> None:
    from strategies.registry import get_strategy

    try:
        spec = get_strategy(strat.name)
        spec.parse_params(strat.params)
    except ValueError as exc:
        problems.append(f"{where}: {exc}")
    if strat.leverage <= 0:
        problems.append(f"{where}: leverage must be > 0, got {strat.leverage}")
    elif strat.leverage > max_leverage:
        problems.append(f"{where}: leverage {strat.leverage} is above MAX_LEVERAGE {max_leverage}")
    if not strat.is_contract and strat.leverage != 1:
        problems.append(f"{where}: spot is traded in cash mode, leverage must be 1 (got {strat.leverage})")


def _build_account(
    name: Any, draft: Any, trader: TraderSettings, max_leverage: Decimal, problems: list[str]
) -> AccountSettings | None:
    where = f"account {name!r}"
    if not isinstance(name, str) or not ACCOUNT_NAME_RE.match(name):
        problems.append(f"{where}: account names are 1-32 letters, digits, '_' or '-'")
        return None
    if isinstance(draft, Account):
        fields, issues = draft.fields()
        problems.extend(f"{where}: {p}" for p in issues)
    elif isinstance(draft, Mapping):
        fields = dict(draft)
    else:
        problems.append(f"{where}: expected Account(...), got {type(draft).__name__}")
        return None
    raw_strategies = fields.pop("strategies", None)
    trader_draft = fields.pop("trader", None)
    dingtalk_draft = fields.pop("dingtalk", None)
    risk_draft = fields.pop("risk", None)
    if not isinstance(raw_strategies, list | tuple) or not raw_strategies:
        problems.append(f"{where}: strategies: give a non-empty list of Strategy(...)")
        raw_strategies = []
    strategies: list[StrategySettings] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_strategies, start=1):
        label = raw.args[0] if isinstance(raw, Strategy) and raw.args else f"#{index}"
        swhere = f"{where}, strategy {label}"
        strat = _build(swhere, raw, Strategy, StrategySettings, problems)
        if strat is None:
            continue
        if strat.inst_id in seen:
            problems.append(
                f"{swhere}: duplicate instrument {strat.inst_id} in one account "
                f"(one strategy per instrument; positions are per instrument)"
            )
        seen.add(strat.inst_id)
        _check_strategy(swhere, strat, max_leverage, problems)
        strategies.append(strat)
    merged_trader = _merge_trader(trader, trader_draft, f"{where}, trader", problems)
    dingtalk = (
        _build(f"{where}, dingtalk", dingtalk_draft, DingTalk, DingTalkSettings, problems)
        if dingtalk_draft is not None
        else None
    )
    fields.update(name=name, strategies=tuple(strategies), trader=merged_trader, dingtalk=dingtalk)
    if risk_draft is not None:  # issue #16: account risk limits
        fields["risk"] = _build(f"{where}, risk", risk_draft, Risk, RiskSettings, problems) or RiskSettings()
    try:
        return AccountSettings.model_validate(fields)
    except ValidationError as exc:
        problems.extend(_pydantic_problems(where, exc, AccountSettings))
        return None


def _resolve_path(path: Path | None, environ: Mapping[str, str]) -> Path:
    if path is None:
        env_path = environ.get("OKXFLEET_CONFIG")
        path = Path(env_path) if env_path else DEFAULT_CONFIG_PATH
    return path


def _run_config_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        return runpy.run_path(str(path), run_name="okxfleet_config")
    except SyntaxError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:  # the user's file raised: show where
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
        line = f":{frames[-1].lineno}" if frames else ""
        raise ConfigError(f"{path}{line}: {type(exc).__name__}: {exc}") from None


def load_config(
    path: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    env_file: Path | None = None,
    check_credentials: bool = True,
) -> FleetConfig:
    """Load and validate a config file; raise :class:`ConfigError` listing every problem."""
    environ = os.environ if environ is None else environ
    path = _resolve_path(path, environ)
    namespace = _run_config_file(path)
    env = parse_env_file(env_file if env_file is not None else Path(".env"))
    env.update(environ)  # the real environment wins over .env

    problems: list[str] = []
    settings = {k: v for k, v in namespace.items() if k.isupper() and not k.startswith("_")}
    for key in settings:
        if key not in KNOWN_SETTINGS:
            hint = difflib.get_close_matches(key, KNOWN_SETTINGS, n=1)
            problems.append(f"unknown setting {key}" + (f" (did you mean {hint[0]}?)" if hint else ""))

    exchange = _build("EXCHANGE", settings.get("EXCHANGE", {}), Exchange, ExchangeSettings, problems)
    collector = _build("COLLECTOR", settings.get("COLLECTOR", {}), Collector, CollectorSettings, problems)
    trader = _build("TRADER", settings.get("TRADER", {}), Trader, TraderSettings, problems)
    notify_raw = settings.get("NOTIFY", {})
    notify = None
    if isinstance(notify_raw, Notify):
        fields, issues = notify_raw.fields()
        problems.extend(f"NOTIFY: {p}" for p in issues)
        if isinstance(fields.get("dingtalk"), DingTalk):
            fields["dingtalk"] = _build(
                "NOTIFY, dingtalk", fields["dingtalk"], DingTalk, DingTalkSettings, problems
            )
        notify = _build("NOTIFY", fields, Notify, NotifySettings, problems)
    else:
        notify = _build("NOTIFY", notify_raw, Notify, NotifySettings, problems)

    data_bus = _build_bus(settings.get("DATA_BUS", Files()), problems)
    try:
        max_leverage = Decimal(str(settings.get("MAX_LEVERAGE", 20)))
        if not max_leverage > 0:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        problems.append(f"MAX_LEVERAGE: must be a number > 0, got {settings.get('MAX_LEVERAGE')!r}")
        max_leverage = Decimal(20)

    accounts_raw = settings.get("ACCOUNTS")
    accounts: dict[str, AccountSettings] = {}
    if not isinstance(accounts_raw, Mapping) or not accounts_raw:
        problems.append("ACCOUNTS: define at least one account: ACCOUNTS = {'sub1': Account(...)}")
    else:
        for name, draft in accounts_raw.items():
            acct = _build_account(name, draft, trader or TraderSettings(), max_leverage, problems)
            if acct is not None:
                accounts[name] = acct

    treasury = None
    if settings.get("TREASURY") is not None:
        treasury = _build("TREASURY", settings["TREASURY"], Treasury, TreasurySettings, problems)
        check_treasury(treasury, accounts, exchange, env, check_credentials, problems)

    _cross_checks(accounts, exchange, env, check_credentials, problems)
    if problems:
        raise ConfigError([f"{path}: {p}" for p in problems])

    data_dir = Path(str(settings.get("DATA_DIR", "data")))
    try:
        return FleetConfig(
            source=path,
            exchange=exchange,
            candle_timezone=settings.get("CANDLE_TIMEZONE", "Asia/Shanghai"),
            data_dir=data_dir,
            max_leverage=max_leverage,
            accounts=accounts,
            collector=collector,
            trader=trader,
            notify=notify,
            treasury=treasury,
            data_bus=data_bus or DataBusSettings(),
            env=env,
        )
    except ValidationError as exc:
        raise ConfigError(
            [f"{path}: {p}" for p in _pydantic_problems("settings", exc, FleetConfig)]
        ) from None


def _cross_checks(
    accounts: dict[str, AccountSettings],
    exchange: ExchangeSettings | None,
    env: Mapping[str, str],
    check_credentials: bool,
    problems: list[str],
) -> None:
    if accounts:
        intervals = sorted({parse_interval(a.interval) for a in accounts.values()})
        base = intervals[0]
        for acct in accounts.values():
            iv = parse_interval(acct.interval)
            if iv.seconds % base.seconds:
                problems.append(
                    f"account {acct.name!r}: interval {iv} is not a multiple of the base interval "
                    f"{base} (the smallest configured); the collector cannot build it from {base} bars"
                )
        owners: dict[str, str] = {}
        for acct in accounts.values():
            if acct.credentials in owners:
                problems.append(
                    f"account {acct.name!r}: credentials {acct.credentials} are already used by account "
                    f"{owners[acct.credentials]!r}; two traders on one OKX account would fight over positions"
                )
            owners.setdefault(acct.credentials, acct.name)
    if exchange is not None:
        found = real_exchange_problems(exchange.mode, exchange.url, env, exchange.ws_url)
        problems.extend(f"EXCHANGE: {p}" for p in found)
    if exchange is not None and exchange.mode in ("live", "demo") and check_credentials:
        for acct in accounts.values():
            missing = missing_credential_vars(acct.credentials, env)
            if missing:
                problems.append(
                    f"account {acct.name!r}: {exchange.mode} mode needs credentials; "
                    f"missing environment variable(s) {', '.join(missing)}"
                )

