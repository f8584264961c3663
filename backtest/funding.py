"""Funding for perpetual swaps: OKX's funding-rate history when it is on disk, else a flat rate.

History file (optional): ``<data>/funding/<INST-ID>.csv`` with the columns of OKX's
``public/funding-rate-history`` that matter here::

    funding_time,funding_rate
    2026-01-01T00:00:00+00:00,0.0001

``funding_time`` is ISO 8601 with its offset (or epoch milliseconds, as OKX sends
``fundingTime``), ``funding_rate`` OKX's ``realizedRate`` (or ``fundingRate``). A settlement time
the file does not list uses the configured flat rate. A long pays ``position value x rate`` at each
settlement (a short receives it); settlements fall every ``funding_hours`` on the UTC clock.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from backtest.model import BacktestError
from core.clock import from_ms

__all__ = ["FundingRates", "load_funding", "settlements"]


@dataclass(frozen=True)
class FundingRates:
    """Rate per settlement time (epoch seconds), with a flat fallback."""

    fallback: Decimal
    rates: Mapping[int, Decimal] = field(default_factory=dict)
    source: str = "flat rate"

    def rate_at(self, epoch_s: int) -> Decimal:
        return self.rates.get(epoch_s, self.fallback)


def settlements(after_s: int, upto_s: int, hours: int) -> Iterator[int]:
    """Settlement times ``t`` with ``after_s < t <= upto_s`` (epoch seconds, every ``hours`` h)."""
    step = hours * 3600
    t = (after_s // step + 1) * step
    while t <= upto_s:
        yield t
        t += step


def _parse_time(text: str) -> int:
    text = text.strip()
    if text.isdigit():
        return int(from_ms(text).timestamp())
    ts = datetime.fromisoformat(text)
    if ts.tzinfo is None:
        raise ValueError(f"time without UTC offset: {text!r}")
    return int(ts.astimezone(UTC).timestamp())


def load_funding(data_dir: Path, inst_id: str, fallback: Decimal) -> FundingRates:
    """The history file of ``inst_id`` if present (see the module docstring), else the flat rate."""
    path = data_dir / "funding" / f"{inst_id}.csv"
    if not path.is_file():
        return FundingRates(fallback)
    rates: dict[int, Decimal] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or [c.strip() for c in lines[0].split(",")] != ["funding_time", "funding_rate"]:
        raise BacktestError(f"{path}: expected the header 'funding_time,funding_rate'")
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            when, rate = line.split(",")
            value = Decimal(rate.strip())
            if not value.is_finite():
                raise InvalidOperation
            rates[_parse_time(when)] = value
        except (ValueError, InvalidOperation):
            raise BacktestError(f"{path}, line {number}: malformed funding row {line!r}") from None
    return FundingRates(fallback, rates, f"{path.name} ({len(rates)} settlements)")
