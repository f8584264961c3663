"""What one backtest run is made of: the strategies, the account's trading settings, the costs.

Everything is validated when it is built, so a run never starts on nonsense: an unknown strategy,
bad parameters, an inverse contract (not modelled) or a negative fee is a :class:`BacktestError`
with a message naming what was wrong.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from config.schema import RiskSettings, TraderSettings
from core.errors import OkxfleetError
from exchange.records import Instrument
from strategies.registry import StrategyParams, StrategySpec, get_strategy
from trader.diff import DEFAULT_BAND, Mode
from trader.risk import clip_open
from trader.sizing import SizingSpec, effective_leverage, open_sizing_price, size_target

__all__ = [
    "BacktestError",
    "Costs",
    "OrderType",
    "RunSettings",
    "StrategyRun",
    "make_strategy_run",
    "open_size",
    "settings_for",
]

OrderType = Literal["limit", "market", "optimal_limit_ioc"]
ZERO = Decimal(0)


class BacktestError(OkxfleetError):
    """A backtest cannot run as asked; the message says what to fix."""


# OKX's base fee tier (Lv1, regular users): spot 0.08% maker / 0.10% taker, swaps and futures
# 0.02% maker / 0.05% taker. A positive rate is a cost.
SPOT_FEES = (Decimal("0.0008"), Decimal("0.001"))
CONTRACT_FEES = (Decimal("0.0002"), Decimal("0.0005"))
DEFAULT_FUNDING_RATE = Decimal("0.0001")  # per 8 h settlement, paid by longs when positive


@dataclass(frozen=True)
class Costs:
    """Fee rates (``None`` = OKX's base tier for the instrument type) and the funding fallback."""

    maker: Decimal | None = None
    taker: Decimal | None = None
    limit_fills_as: Literal["maker", "taker"] = "taker"  # the trader's limits cross the spread
    funding_rate: Decimal = DEFAULT_FUNDING_RATE  # used when no funding history is on disk
    funding_hours: int = 8

    def __post_init__(self) -> None:
        for name in ("maker", "taker"):
            rate = getattr(self, name)
            if rate is not None and not Decimal("-0.01") <= rate <= Decimal("0.01"):
                raise BacktestError(f"{name} fee {rate} is not a plausible rate (a fraction, e.g. 0.0005)")
        if not Decimal("-0.05") <= self.funding_rate <= Decimal("0.05"):
            raise BacktestError(f"funding rate {self.funding_rate} is not a plausible rate per settlement")
        if self.funding_hours not in (1, 2, 4, 8):
            raise BacktestError(f"funding every {self.funding_hours} h: OKX settles every 1, 2, 4 or 8 h")

    def fee_rate(self, is_contract: bool, order_type: OrderType) -> Decimal:
        maker, taker = CONTRACT_FEES if is_contract else SPOT_FEES
        maker = self.maker if self.maker is not None else maker
        taker = self.taker if self.taker is not None else taker
        as_maker = order_type == "limit" and self.limit_fills_as == "maker"
        return maker if as_maker else taker


@dataclass(frozen=True)
class RunSettings:
    """The account's trading settings as the trader applies them (``config.TraderSettings``)."""

    order_type: OrderType = "limit"
    slippage: Decimal = Decimal("0.002")
    volatility_ratio: Decimal = Decimal("0.98")
    initial_equity: Decimal = Decimal(10000)
    band: Decimal = DEFAULT_BAND
    costs: Costs = field(default_factory=Costs)
    risk: RiskSettings = field(default_factory=RiskSettings)  # max_notional / max_total_leverage clip

    def __post_init__(self) -> None:
        if self.initial_equity <= 0:
            raise BacktestError(f"initial equity must be > 0, got {self.initial_equity}")
        if not ZERO <= self.slippage < Decimal("0.2"):
            raise BacktestError(f"slippage must be in [0, 0.2), got {self.slippage}")


@dataclass(frozen=True)
class StrategyRun:
    """One configured strategy with its validated parameters and the instrument it trades."""

    spec: StrategySpec[Any]
    params: StrategyParams
    raw_params: Mapping[str, Any]
    instrument: Instrument
    leverage: Decimal  # what sizing uses: min(configured, instrument max, MAX_LEVERAGE)
    weight_factor: Decimal = Decimal(1)  # trader.sizing.weight_factor of its Strategy(weight=...)

    @property
    def inst_id(self) -> str:
        return self.instrument.inst_id

    @property
    def name(self) -> str:
        return self.spec.name

    @functools.cached_property
    def lookback(self) -> int:
        return max(self.spec.lookback(self.params), 1)

    @functools.cached_property
    def mode(self) -> Mode:
        return "net" if self.instrument.is_contract else "spot"

    @functools.cached_property
    def sizing(self) -> SizingSpec:
        inst = self.instrument
        return SizingSpec(inst.inst_id, inst.is_contract, inst.contract_value, inst.lot_sz, inst.min_sz)

    @property
    def label(self) -> str:
        return f"{self.name} {self.inst_id}"


def make_strategy_run(
    name: str,
    raw_params: Mapping[str, Any],
    instrument: Instrument,
    leverage: Decimal,
    max_leverage: Decimal,
    weight_factor: Decimal = Decimal(1),
) -> StrategyRun:
    """Validate a strategy, its parameters and instrument; :class:`BacktestError` if anything is off."""
    try:
        spec = get_strategy(name)
    except ValueError as exc:
        raise BacktestError(str(exc)) from None
    try:
        params = spec.parse_params(raw_params)
    except ValueError as exc:
        raise BacktestError(f"strategy {name!r}: bad params {dict(raw_params)}: {exc}") from None
    if instrument.is_contract and instrument.ct_type != "linear":
        raise BacktestError(
            f"{instrument.inst_id}: {instrument.ct_type or 'unknown'} contracts are not modelled "
            "by the backtester (linear swaps/futures and spot are)"
        )
    try:
        lever = effective_leverage(
            leverage, instrument.max_lever, max_leverage, is_contract=instrument.is_contract
        )
    except ValueError as exc:
        raise BacktestError(f"{instrument.inst_id}: {exc}") from None
    return StrategyRun(spec, params, dict(raw_params), instrument, lever, weight_factor)


def open_size(
    run: StrategyRun, settings: RunSettings, *, share: Decimal, signal_px: Decimal, equity: Decimal,
    other_notional: Decimal,
) -> Decimal:  # fmt: skip
    """The size the trader gives a fresh ``1``/``-1`` target (``trader.phases._size`` then
    ``trader.riskgate.clip_desired``): the equal ``share`` times the strategy's weight factor,
    sized at the open sizing price, then clipped to the account's risk limits (``equity`` and
    ``other_notional``, the other instruments' notional before this bar's opens, as the trader
    measures them)."""
    price = open_sizing_price(signal_px, settings.slippage)
    result = size_target(
        run.sizing, share=share * run.weight_factor, leverage=run.leverage,
        volatility_ratio=settings.volatility_ratio, price=price,
    )  # fmt: skip
    inst = run.instrument
    size, _ = clip_open(
        settings.risk, run.inst_id, result.size, price=price, contract_value=inst.contract_value,
        lot_sz=inst.lot_sz, min_sz=inst.min_sz, equity=equity, other_notional=other_notional,
    )  # fmt: skip
    return size


def settings_for(
    trader: TraderSettings, *, initial_equity: Decimal, costs: Costs, order_type: OrderType | None = None,
    slippage: Decimal | None = None, risk: RiskSettings | None = None,
) -> RunSettings:  # fmt: skip
    """The run settings of an account: its trader settings (and risk limits), with optional overrides."""
    return RunSettings(
        order_type=order_type or trader.order_type,
        slippage=trader.slippage if slippage is None else slippage,
        volatility_ratio=trader.volatility_ratio,
        initial_equity=initial_equity,
        costs=costs,
        risk=risk or RiskSettings(),
    )
