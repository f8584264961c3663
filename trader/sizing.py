"""Order sizing — pure ``Decimal`` arithmetic, the original framework's formula done right.

For one strategy of an account (original ``cal_order_size``, see original-framework.md §5)::

    share     = equity * weight / sum of the account's weights     (default weight 1: equal split)
    leverage  = min(configured, instrument max, tier max, leverage set on OKX)   (contracts)
              = 1                                                  (spot, cash mode)
    contracts = floor_to_lot(share * leverage * volatility_ratio / (price * contract_value))

``contract_value`` is ``ctVal * ctMult`` for linear contracts (base currency per contract) and 1
for spot (sizes are base units). A result below ``minSz`` is not an order: the caller skips the
instrument with the :attr:`SizeResult.reason`. What the original got wrong and this does not: a
missing leverage cap is never silently ignored (bug 16: ``min(x, nan)``), the held size is never
reused as the size of a new position (bug 16), face values come from the instrument, not a
hand-kept table, and nothing is a float.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

__all__ = [
    "SizeResult",
    "SizingSpec",
    "ceil_to_step",
    "effective_leverage",
    "equity_share",
    "floor_to_step",
    "limit_price",
    "open_sizing_price",
    "size_target",
    "weight_factor",
]

ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True)
class SizingSpec:
    """What sizing needs to know about an instrument (parsed from ``public/instruments``)."""

    inst_id: str
    is_contract: bool
    contract_value: Decimal  # ctVal * ctMult for contracts, 1 for spot
    lot_sz: Decimal
    min_sz: Decimal

    def __post_init__(self) -> None:
        if self.contract_value <= 0:
            raise ValueError(f"{self.inst_id}: contract value must be > 0, got {self.contract_value}")
        if self.lot_sz <= 0:
            raise ValueError(f"{self.inst_id}: lotSz must be > 0, got {self.lot_sz}")
        if self.min_sz < 0:
            raise ValueError(f"{self.inst_id}: minSz must be >= 0, got {self.min_sz}")


@dataclass(frozen=True)
class SizeResult:
    """Size of the wanted position; ``size == 0`` comes with the ``reason`` it is not tradeable."""

    size: Decimal  # contracts (derivatives) or base units (spot), a multiple of lotSz, or 0
    raw: Decimal  # before rounding to the lot
    leverage: Decimal
    share: Decimal
    reason: str = ""

    @property
    def tradeable(self) -> bool:
        return self.size > 0


def floor_to_step(value: Decimal, step: Decimal) -> Decimal:
    """Largest multiple of ``step`` that is <= ``value`` (``step`` > 0)."""
    if step <= 0:
        raise ValueError(f"step must be > 0, got {step}")
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


def ceil_to_step(value: Decimal, step: Decimal) -> Decimal:
    """Smallest multiple of ``step`` that is >= ``value`` (``step`` > 0)."""
    if step <= 0:
        raise ValueError(f"step must be > 0, got {step}")
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


def equity_share(equity: Decimal, n_strategies: int) -> Decimal:
    """Equal split of the account's equity; a negative equity gives 0."""
    if n_strategies < 1:
        raise ValueError(f"an account needs at least one strategy, got {n_strategies}")
    if equity <= 0:
        return ZERO
    return equity / n_strategies


def weight_factor(weight: Decimal, weights: Sequence[Decimal]) -> Decimal:
    """How much of an equal share a strategy of ``weight`` gets among ``weights`` (the account's
    strategies, itself included): ``equity_share(...) * weight_factor(...)`` is its weighted share.
    Equal weights give exactly 1."""
    if not weights or weight not in weights:
        raise ValueError("weight must be one of the account's weights")
    if any(w <= 0 for w in weights):
        raise ValueError(f"weights must be > 0, got {list(weights)}")
    total = sum(weights, ZERO)
    return weight * len(weights) / total


def effective_leverage(
    configured: Decimal,
    instrument_max: Decimal | None,
    tier_max: Decimal | None = None,
    account_setting: Decimal | None = None,
    *,
    is_contract: bool = True,
) -> Decimal:
    """``min`` of every known cap; spot (cash mode) is always 1.

    Unknown caps (``None``) are left out explicitly — never compared as NaN (original bug 16).
    """
    if not is_contract:
        return ONE
    if configured <= 0:
        raise ValueError(f"configured leverage must be > 0, got {configured}")
    caps = [c for c in (instrument_max, tier_max, account_setting) if c is not None]
    for cap in caps:
        if cap <= 0:
            raise ValueError(f"leverage cap must be > 0, got {cap}")
    return min([configured, *caps])


def size_target(
    spec: SizingSpec,
    *,
    share: Decimal,
    leverage: Decimal,
    volatility_ratio: Decimal,
    price: Decimal,
) -> SizeResult:
    """Contracts (or spot base units) for one strategy's equity share.

    Raises ``ValueError`` for a price <= 0 (never trade on a nonsense price) or a volatility ratio
    outside (0, 1]. A share too small for one ``minSz`` gives ``size == 0`` and a reason.
    """
    if price <= 0:
        raise ValueError(f"{spec.inst_id}: price must be > 0, got {price}")
    if not ZERO < volatility_ratio <= ONE:
        raise ValueError(f"volatility ratio must be in (0, 1], got {volatility_ratio}")
    if leverage <= 0:
        raise ValueError(f"leverage must be > 0, got {leverage}")
    if share <= 0:
        return SizeResult(ZERO, ZERO, leverage, share, reason="no equity for this strategy")
    raw = share * leverage * volatility_ratio / (price * spec.contract_value)
    size = floor_to_step(raw, spec.lot_sz)
    unit = "contracts" if spec.is_contract else "base units"
    if size <= 0 or size < spec.min_sz:
        return SizeResult(
            ZERO,
            raw,
            leverage,
            share,
            reason=(
                f"{spec.inst_id}: equity share {share:.4f} buys {raw:.8f} {unit}, "
                f"below minSz {spec.min_sz} (lotSz {spec.lot_sz})"
            ),
        )
    return SizeResult(size, raw, leverage, share)


def open_sizing_price(signal_px: Decimal, slippage: Decimal) -> Decimal:
    """Opens are sized at the worst price the first order accepts, not at the last close."""
    return signal_px * (1 + slippage)


def limit_price(ref: Decimal, side: str, slippage: Decimal, tick_sz: Decimal, step: int = 0) -> Decimal:
    """Limit price ``step`` (0 = first try): ``ref`` moved ``slippage * (step + 1)`` against us,
    rounded to ``tick_sz`` inside that bound (buys down, sells up; never below one tick)."""
    if ref <= 0:
        raise ValueError(f"reference price must be > 0, got {ref}")
    if slippage < 0 or step < 0:
        raise ValueError("slippage and step must be >= 0")
    move = slippage * (step + 1)
    if side == "buy":
        return max(floor_to_step(ref * (ONE + move), tick_sz), tick_sz)
    if side == "sell":
        return max(ceil_to_step(ref * (ONE - move), tick_sz), tick_sz)
    raise ValueError(f"side must be buy or sell, got {side!r}")
