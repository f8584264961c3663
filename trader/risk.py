"""Account risk limits — pure ``Decimal`` evaluation (issue #16). I/O lives in :mod:`trader.halt`.

- **Max drawdown**: equity at or below ``peak * (1 - max_drawdown)`` -> flatten and halt.
- **Daily loss**: equity at or below ``day_open * (1 - daily_loss)`` (the first equity seen in
  the UTC day) -> no new exposure until the next UTC day (closes still run).
- **Max notional per instrument** and **max total leverage** (total notional / equity) -> the
  wanted size is clipped (to the lot) and the clip is reported.

Every limit is optional; :class:`RiskState` is what the journal keeps between bars and restarts.

Transfers are not trading: money moved into or out of the account since the last evaluation (OKX
transfer bills, see :mod:`exchange.bills`) shifts the peak and the day's open by the same amount,
so a rebalance out of the account never reads as a drawdown and one into it never hides a loss.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from config.schema import RiskSettings
from trader.sizing import floor_to_step

__all__ = ["Action", "Clip", "RiskState", "Verdict", "clip_open", "clip_size", "evaluate", "net_transfers"]

ZERO = Decimal(0)
Action = Literal["trade", "no_new_exposure", "halt"]


@dataclass(frozen=True)
class RiskState:
    peak: Decimal | None = None
    day: date | None = None
    day_open: Decimal | None = None
    halted: bool = False
    reason: str = ""
    # The newest transfer bill already netted: None = not read yet, "0" = the account had none.
    bills_seen: str | None = None


@dataclass(frozen=True)
class Verdict:
    action: Action
    state: RiskState  # peak and day rolled forward
    detail: str = ""


@dataclass(frozen=True)
class Clip:
    size: Decimal
    reason: str = ""  # empty: not clipped

    @property
    def clipped(self) -> bool:
        return bool(self.reason)


def net_transfers(state: RiskState, transfers: Decimal) -> RiskState:
    """``state`` with the peak and the day's open moved by ``transfers`` (in > 0, out < 0), the
    net of the transfers since they were measured: what they would have been without them."""
    if not transfers:
        return state
    peak = None if state.peak is None else state.peak + transfers
    day_open = None if state.day_open is None else state.day_open + transfers
    return replace(state, peak=peak, day_open=day_open)


def evaluate(
    limits: RiskSettings, state: RiskState, equity: Decimal, now: datetime, transfers: Decimal = ZERO
) -> Verdict:
    """Net ``transfers`` (since ``state`` was saved) out, roll the peak and the UTC day forward
    with ``equity`` and apply the account limits."""
    if now.tzinfo is None:
        raise ValueError("risk evaluation needs an aware time")
    state = net_transfers(state, transfers)
    today = now.date()
    peak = equity if state.peak is None else max(state.peak, equity)
    day_open = equity if state.day != today or state.day_open is None else state.day_open
    rolled = replace(state, peak=peak, day=today, day_open=day_open)
    dd = limits.max_drawdown
    if dd is not None and peak > 0 and equity <= peak * (1 - dd):
        loss = (1 - equity / peak) * 100
        detail = f"equity {equity:.2f} is {loss:.2f}% below its peak {peak:.2f} (max drawdown {dd:%})"
        return Verdict("halt", rolled, detail)
    daily = limits.daily_loss
    if daily is not None and day_open > 0 and equity <= day_open * (1 - daily):
        loss = (1 - equity / day_open) * 100
        detail = (
            f"equity {equity:.2f} is {loss:.2f}% below the day's open {day_open:.2f} "
            f"(daily loss limit {daily:%}): no new exposure until 00:00 UTC"
        )
        return Verdict("no_new_exposure", rolled, detail)
    return Verdict("trade", rolled)


def clip_size(
    limits: RiskSettings,
    inst_id: str,
    size: Decimal,
    *,
    price: Decimal,
    contract_value: Decimal,
    lot_sz: Decimal,
    equity: Decimal,
    other_notional: Decimal,
) -> Clip:
    """``size`` (contracts or base units, >= 0) clipped to the notional limits of the account.

    ``other_notional`` is what the account's other instruments hold or are sized to hold."""
    if price <= 0 or contract_value <= 0:
        raise ValueError(f"{inst_id}: price and contract value must be > 0")
    unit = price * contract_value
    caps: list[tuple[Decimal, str]] = []
    if limits.max_notional is not None:
        caps.append((limits.max_notional, f"max notional {limits.max_notional} per instrument"))
    if limits.max_total_leverage is not None:
        room = max(limits.max_total_leverage * max(equity, ZERO) - other_notional, ZERO)
        caps.append((room, f"max total leverage {limits.max_total_leverage}x of equity {equity:.2f}"))
    best = Clip(size)
    for notional_cap, why in caps:
        most = floor_to_step(notional_cap / unit, lot_sz)
        if most < best.size:
            best = Clip(most, f"{inst_id}: size {size} clipped to {most} ({why})")
    return best


def clip_open(
    limits: RiskSettings, inst_id: str, size: Decimal, *, price: Decimal, contract_value: Decimal,
    lot_sz: Decimal, min_sz: Decimal, equity: Decimal, other_notional: Decimal,
) -> tuple[Decimal, str]:  # fmt: skip
    """The size an open is sent at under the account's limits, and why it was clipped ("" when it
    was not): :func:`clip_size`, with a clipped size below ``min_sz`` meaning no open at all.
    The trader (:func:`trader.riskgate.clip_desired`) and the backtester both size through it."""
    if limits.max_notional is None and limits.max_total_leverage is None:
        return size, ""
    clip = clip_size(
        limits, inst_id, size, price=price, contract_value=contract_value, lot_sz=lot_sz,
        equity=equity, other_notional=other_notional,
    )  # fmt: skip
    if not clip.clipped:
        return size, ""
    return (clip.size if clip.size >= min_sz else ZERO), clip.reason
