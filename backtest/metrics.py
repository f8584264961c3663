"""Performance figures of an equity curve — pure functions, table-tested.

The curve is the value at the start followed by the value after each bar. Returns are simple
per-bar returns; Sharpe and Sortino use a zero risk-free rate and are annualised with the number
of bars in a 365-day year (crypto trades every day). Max drawdown is the largest fall from a
running peak, as a positive fraction of that peak.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

import numpy as np

__all__ = [
    "Metrics",
    "annualised_return",
    "compute_metrics",
    "max_drawdown",
    "sharpe",
    "sortino",
]

YEAR_S = 365 * 86400
_EPS = 1e-12  # returns closer than this to each other (or to 0) are rounding noise


def _curve(values: Sequence[float] | np.ndarray) -> np.ndarray:
    curve = np.asarray(values, dtype=np.float64)
    if curve.ndim != 1 or len(curve) < 1:
        raise ValueError("an equity curve needs at least one value")
    if not np.isfinite(curve).all():
        raise ValueError("an equity curve must be finite")
    if curve[0] <= 0:
        raise ValueError(f"an equity curve must start above 0, got {curve[0]}")
    return curve


def _returns(curve: np.ndarray) -> np.ndarray:
    prev = curve[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(prev > 0, np.diff(curve) / np.where(prev > 0, prev, 1.0), -1.0)
    return r


def max_drawdown(values: Sequence[float] | np.ndarray) -> float:
    """Largest fall from a running peak, as a fraction of the peak (0 = never fell)."""
    curve = _curve(values)
    peaks = np.maximum.accumulate(curve)
    return float(np.max(1 - curve / peaks))


def annualised_return(total_return: float, years: float) -> float:
    """Compound annual growth rate; -1 when everything was lost."""
    if years <= 0:
        raise ValueError(f"a period must be longer than 0 years, got {years}")
    if total_return <= -1:
        return -1.0
    return float((1 + total_return) ** (1 / years) - 1)


def _signed_inf(mean: float) -> float:
    return math.inf if mean > _EPS else -math.inf if mean < -_EPS else 0.0


def sharpe(values: Sequence[float] | np.ndarray, bars_per_year: float) -> float:
    """Mean over standard deviation of the per-bar returns, annualised.

    Without spread (every return the same, up to rounding): 0 when flat, else +-inf."""
    r = _returns(_curve(values))
    if len(r) < 2:
        return 0.0
    mean, sd = float(np.mean(r)), float(np.std(r, ddof=1))
    if sd <= _EPS * max(1.0, abs(mean)):
        return _signed_inf(mean)
    return mean / sd * math.sqrt(bars_per_year)


def sortino(values: Sequence[float] | np.ndarray, bars_per_year: float) -> float:
    """Mean over downside deviation (root mean square of the negative returns), annualised.

    ``inf`` when the curve rose without a single losing bar, 0 when it never moved."""
    r = _returns(_curve(values))
    if len(r) < 1:
        return 0.0
    mean = float(np.mean(r))
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
    if downside <= _EPS:
        return _signed_inf(mean) if mean > 0 else 0.0
    return mean / downside * math.sqrt(bars_per_year)


@dataclass(frozen=True)
class Metrics:
    total_return: float
    annual_return: float
    max_drawdown: float
    sharpe: float
    sortino: float
    trades: int  # round trips completed (flat -> position -> flat)
    win_rate: float | None  # share of round trips with a positive net result; None without trades
    exposure: float  # share of bars that ended with a position
    fees: Decimal
    funding: Decimal  # paid (negative = received)
    final: Decimal

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("fees", "funding", "final"):
            out[key] = str(out[key])
        return out


def compute_metrics(
    values: Sequence[float] | np.ndarray,
    *,
    bar_seconds: int,
    trips: Sequence[Decimal],
    exposed: Sequence[bool] | np.ndarray,
    fees: Decimal,
    funding: Decimal,
    final: Decimal,
) -> Metrics:
    """Every figure of one curve (start value first, then one value per bar)."""
    curve = _curve(values)
    bars = len(curve) - 1
    if bars < 1:
        raise ValueError("metrics need at least one bar after the start value")
    if bar_seconds <= 0:
        raise ValueError(f"bar length must be > 0 s, got {bar_seconds}")
    bars_per_year = YEAR_S / bar_seconds
    total = float(curve[-1] / curve[0] - 1)
    exposure = np.asarray(exposed, dtype=bool)
    wins = sum(1 for t in trips if t > 0)
    return Metrics(
        total_return=total,
        annual_return=annualised_return(total, bars / bars_per_year),
        max_drawdown=max_drawdown(curve),
        sharpe=sharpe(curve, bars_per_year),
        sortino=sortino(curve, bars_per_year),
        trades=len(trips),
        win_rate=(wins / len(trips)) if trips else None,
        exposure=float(exposure.mean()) if len(exposure) else 0.0,
        fees=fees,
        funding=funding,
        final=final,
    )
