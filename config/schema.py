"""Validated, frozen configuration objects (pydantic v2, unknown fields rejected)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from config.safety import credential_prefix, looks_like_a_key
from core.intervals import CANDLE_TIMEZONES, Interval, parse_interval

__all__ = [
    "ACCOUNT_NAME_RE",
    "INST_ID_RE",
    "AccountSettings",
    "CollectorSettings",
    "DataBusSettings",
    "DingTalkSettings",
    "ExchangeSettings",
    "FleetConfig",
    "NotifySettings",
    "RiskSettings",
    "StrategySettings",
    "TraderSettings",
    "TreasurySettings",
]

# BTC-USDT (spot), BTC-USDT-SWAP (perpetual), BTC-USD-250627 (delivery future)
INST_ID_RE = re.compile(r"^[A-Z0-9]{1,20}-[A-Z0-9]{2,10}(?:-SWAP|-\d{6})?$")
ACCOUNT_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
ENV_NAME_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")
DEFAULT_BASE_URLS = {"live": "https://www.okx.com", "demo": "https://www.okx.com"}
BUSINESS_WS_URLS = {
    "live": "wss://ws.okx.com:8443/ws/v5/business",
    "demo": "wss://wspap.okx.com:8443/ws/v5/business",
}
SIMULATOR_URL = "http://127.0.0.1:8081"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


def positive_weight(v: Decimal) -> Decimal:
    if not v.is_finite() or v <= 0:
        raise ValueError(f"weight must be > 0, got {v}")
    return v


def _fraction(v: Decimal | None) -> Decimal | None:
    if v is not None and not (0 < v < 1):
        raise ValueError(f"must be between 0 and 1 (exclusive), got {v}")
    return v


class ExchangeSettings(Frozen):
    mode: Literal["live", "demo", "simulator"] = "simulator"
    base_url: str | None = None
    ws_url: str | None = None  # the business WebSocket (candles), e.g. a regional OKX domain's
    timeout_s: float = Field(10.0, gt=0, le=120)

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^\s/]+(:\d+)?/?$", v):
            raise ValueError(f"base_url must look like http(s)://host[:port], got {v!r}")
        return v.rstrip("/") if v else v

    @field_validator("ws_url")
    @classmethod
    def _ws_url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^wss?://[^\s/]+(:\d+)?/\S*$", v):
            raise ValueError(f"ws_url must look like wss://host[:port]/ws/v5/business, got {v!r}")
        return v

    @property
    def url(self) -> str:
        """The REST base URL this mode talks to."""
        if self.base_url:
            return self.base_url
        return SIMULATOR_URL if self.mode == "simulator" else DEFAULT_BASE_URLS[self.mode]

    @property
    def business_ws_url(self) -> str:
        """OKX's business WebSocket (candle channels): ``ws_url`` if set, else this mode's (the
        simulator serves its own)."""
        if self.ws_url:
            return self.ws_url
        if self.mode == "simulator":
            return re.sub(r"^http", "ws", self.url) + "/ws/v5/business"
        return BUSINESS_WS_URLS[self.mode]


class StrategySettings(Frozen):
    inst_id: str
    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    leverage: Decimal = Decimal(1)
    weight: Decimal = Decimal(1)  # share of the account's equity, relative to its other strategies

    @field_validator("weight")
    @classmethod
    def _weight(cls, v: Decimal) -> Decimal:
        return positive_weight(v)

    @field_validator("inst_id")
    @classmethod
    def _inst(cls, v: str) -> str:
        if not INST_ID_RE.match(v):
            raise ValueError(
                f"malformed instrument id {v!r}; expected e.g. BTC-USDT-SWAP, BTC-USDT or BTC-USD-250627"
            )
        return v

    @property
    def is_contract(self) -> bool:
        return self.inst_id.count("-") != 1


class TraderSettings(Frozen):
    marker_deadline_s: float = Field(90.0, gt=0, description="wait this long for a marker, then skip the bar")
    order_type: Literal["limit", "market", "optimal_limit_ioc"] = "limit"
    slippage: Decimal = Field(Decimal("0.002"), ge=0, lt=Decimal("0.2"))
    reprice_attempts: int = Field(3, ge=0, le=20)
    order_wait_s: float = Field(
        10.0, gt=0, le=600, description="poll a limit order this long before re-pricing"
    )
    volatility_ratio: Decimal = Field(Decimal("0.98"), gt=0, le=1)
    margin_mode: Literal["cross", "isolated"] = "cross"
    order_exp_s: float = Field(
        5.0, gt=0, le=60, description="expTime of order requests: OKX refuses them if they arrive later"
    )
    target_alert_bars: int = Field(
        3, ge=1, le=10_000, description="alert when a target is missed this many bars in a row"
    )


class DingTalkSettings(Frozen):
    webhook_env: str = "DINGTALK_WEBHOOK"
    secret_env: str | None = "DINGTALK_SECRET"  # noqa: S105 - a variable name
    keyword: str | None = None

    @field_validator("webhook_env", "secret_env")
    @classmethod
    def _env(cls, v: str | None) -> str | None:
        if v is not None and (looks_like_a_key(v) or not ENV_NAME_RE.match(v)):
            # Not echoed: what lands here by mistake is the webhook URL or the robot secret itself.
            raise ValueError(
                "must be the name of an environment variable like DINGTALK_WEBHOOK; the value given "
                "is not one (not shown: it may be the webhook or secret itself)"
            )
        return v


class NotifySettings(Frozen):
    dingtalk: DingTalkSettings | None = Field(default_factory=DingTalkSettings)
    report_every_minutes: int = Field(30, ge=0, le=1440, description="0 = only when something was ordered")
    max_per_minute: int = Field(20, ge=1, le=20)


class CollectorSettings(Frozen):
    history_bars: int = Field(1000, ge=1, le=100_000, description="bars of every interval to keep")
    close_delay_s: float = Field(1.0, ge=0, le=60)
    confirm_retry_s: float = Field(
        20.0, ge=0, le=300, description="keep asking for an unconfirmed bar this long"
    )
    verify_every_minutes: int = Field(60, ge=0, description="0 = never re-verify recent rows")
    verify_bars: int = Field(30, ge=1, le=300)
    marker_keep_hours: float = Field(48.0, gt=0)
    max_csv_rows: int | None = Field(None, ge=100)
    feed: Literal["websocket", "rest"] = Field(
        "websocket", description="closed bars from WebSocket pushes (REST repairs) or REST polling"
    )
    ws_deadline_s: float = Field(
        2.0, gt=0, le=60, description="after a close, take instruments without a confirm push from REST"
    )
    ws_per_connection: int = Field(250, ge=1, le=2000, description="candle subscriptions per connection")


class RiskSettings(Frozen):
    """Account risk limits (issue #16); each is optional (None = off)."""

    max_drawdown: Decimal | None = None  # fraction of the equity peak: flatten and halt
    daily_loss: Decimal | None = None  # fraction of the UTC day's opening equity: no new exposure
    max_notional: Decimal | None = Field(None, gt=0)  # per instrument, in the margin currency
    max_total_leverage: Decimal | None = Field(None, gt=0)  # total notional / equity

    @field_validator("max_drawdown", "daily_loss")
    @classmethod
    def _frac(cls, v: Decimal | None) -> Decimal | None:
        return _fraction(v)

    @property
    def active(self) -> bool:
        return any(v is not None for v in self.__dict__.values())


class TreasurySettings(Frozen):
    """The master-key process that moves capital between sub-accounts (issue #16)."""

    credentials: str  # env prefix of the MASTER account's key (the only key with transfer rights)
    ccy: str = "USDT"
    band: Decimal = Decimal("0.1")  # rebalance only accounts more than this far off their target
    schedule: str = "00:05"  # HH:MM UTC, daily
    max_transfer: Decimal | None = Field(None, gt=0)  # per transfer
    max_per_day: Decimal | None = Field(None, gt=0)  # all transfers of one UTC day
    min_transfer: Decimal = Field(Decimal(1), gt=0)  # smaller moves are not worth a transfer
    position_reserve: Decimal = Field(Decimal("1.5"), ge=1)  # keep this x the positions' margin
    lock_wait_s: float = Field(120.0, gt=0, le=3600)  # wait this long for a trader between bars
    settlement_retry_s: float = Field(60.0, gt=0, le=3600)  # 58111 (funding settlement): retry after
    settlement_max_wait_s: float = Field(1800.0, gt=0, le=86400)  # ... for at most this long

    @field_validator("band")
    @classmethod
    def _band(cls, v: Decimal) -> Decimal:
        out = _fraction(v)
        assert out is not None
        return out

    @field_validator("credentials")
    @classmethod
    def _cred(cls, v: str) -> str:
        return credential_prefix(v, "OKX_MASTER", ENV_NAME_RE)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, v: str) -> str:
        m = re.match(r"^([01]\d|2[0-3]):([0-5]\d)$", v)
        if not m:
            raise ValueError(f"schedule must be HH:MM (UTC, daily), got {v!r}")
        return v
class DataBusSettings(Frozen):
    """``DATA_BUS = Files()`` (default: CSVs and markers on this host) or ``Redis(url=...)``."""

    kind: Literal["files", "redis"] = "files"
    url: str | None = Field(None, description="redis://host:port/db (Redis mode only)")
    prefix: str = Field("okxfleet", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    lease_s: float = Field(10.0, ge=1, le=600, description="account and collector lease period")
    host: str | None = Field(None, max_length=64, description="name in leases (default: hostname)")
    password_env: str | None = Field(
        None, pattern=r"^[A-Z_][A-Z0-9_]*$", description="env var with the Redis password (not in config.py)"
    )

    @model_validator(mode="after")
    def _url_for_redis(self) -> DataBusSettings:
        if self.kind == "redis" and not self.url:
            raise ValueError("Redis(url=...) needs a url such as redis://127.0.0.1:6379/0")
        if self.kind == "files" and self.url:
            raise ValueError("Files() takes no url")
        return self


class AccountSettings(Frozen):
    name: str
    credentials: str
    interval: str
    strategies: tuple[StrategySettings, ...]
    trader: TraderSettings = Field(default_factory=TraderSettings)
    dingtalk: DingTalkSettings | None = None
    weight: Decimal = Decimal(1)  # treasury target share of the fleet's capital
    sub_account: str | None = None  # OKX sub-account name (default: the account name)
    risk: RiskSettings = Field(default_factory=RiskSettings)

    @field_validator("weight")
    @classmethod
    def _weight(cls, v: Decimal) -> Decimal:
        return positive_weight(v)

    @property
    def okx_sub_account(self) -> str:
        return self.sub_account or self.name

    @field_validator("interval")
    @classmethod
    def _interval(cls, v: str) -> str:
        parse_interval(v)
        return v

    @field_validator("credentials")
    @classmethod
    def _cred(cls, v: str) -> str:
        return credential_prefix(v, "OKX_SUB1", ENV_NAME_RE)

    @property
    def interval_obj(self) -> Interval:
        return parse_interval(self.interval)

    def strategy(self, inst_id: str) -> StrategySettings:
        for s in self.strategies:
            if s.inst_id == inst_id:
                return s
        raise KeyError(f"account {self.name!r} has no strategy on {inst_id}")


class FleetConfig(Frozen):
    source: Path
    exchange: ExchangeSettings
    candle_timezone: Literal["Asia/Shanghai", "UTC"] = "Asia/Shanghai"
    data_dir: Path
    max_leverage: Decimal = Decimal(20)
    accounts: dict[str, AccountSettings]
    collector: CollectorSettings = Field(default_factory=CollectorSettings)
    trader: TraderSettings = Field(default_factory=TraderSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    treasury: TreasurySettings | None = None
    data_bus: DataBusSettings = Field(default_factory=DataBusSettings)
    env: dict[str, str] = Field(default_factory=dict, repr=False, exclude=True)

    # ---- derived plan -------------------------------------------------
    @property
    def intervals(self) -> list[Interval]:
        """Every configured interval, ascending."""
        return sorted({a.interval_obj for a in self.accounts.values()})

    @property
    def base_interval(self) -> Interval:
        return self.intervals[0]

    @property
    def instruments(self) -> list[str]:
        """Union of every account's instruments, sorted."""
        return sorted({s.inst_id for a in self.accounts.values() for s in a.strategies})

    def account(self, name: str) -> AccountSettings:
        try:
            return self.accounts[name]
        except KeyError:
            known = ", ".join(sorted(self.accounts)) or "(none)"
            raise KeyError(f"unknown account {name!r}; configured: {known}") from None

    @property
    def candles_dir(self) -> Path:
        return self.data_dir / "candles"

    @property
    def markers_dir(self) -> Path:
        return self.data_dir / "markers"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def journal_dir(self) -> Path:
        return self.data_dir / "journal"


assert set(CANDLE_TIMEZONES) == {"Asia/Shanghai", "UTC"}
