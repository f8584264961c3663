"""The candle as the on-disk contract knows it (no exchange types here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

__all__ = ["Bar"]


@dataclass(frozen=True)
class Bar:
    """A closed candle. ``ts`` is the open time (aware, UTC); volumes as OKX defines them:
    ``volume`` = ``vol`` (contracts for swaps, base for spot), ``volume_ccy`` = ``volCcy``,
    ``volume_quote`` = ``volCcyQuote``."""

    ts: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    volume_ccy: Decimal
    volume_quote: Decimal
