"""Funding for perpetual swaps: OKX's funding-rate history when it is on disk, else a flat rate.

History file (optional): ``<data>/funding/<INST-ID>.csv`` with the columns of OKX's
``public/funding-rate-history`` that matter here::

    funding_time,funding_rate
    2026-01-01T00:00:00+00:00,0.0001

``funding_time`` is ISO 8601 with its offset (or epoch milliseconds, as OKX sends
``fundingTime``), ``funding_rate`` OKX's ``realizedRate`` (or ``fundingRate``). A settlement time
the file does not list uses the configured flat rate. A long pays ``position value x rate`` at each
settlement (a short receives it); settlements fall every ``funding_hours`` on the UTC clock.

:func:`fetch_funding` fills that file from the exchange's ``public/funding-rate-history`` (the
backtest runner does it for every swap it runs unless fetching is off): the settlements the file
lacks, paged backwards from now to the start of the run or as far as OKX keeps them (about three
months); rows already in the file are kept, so the file grows into a longer history over time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO

from backtest.model import BacktestError
from core.atomic import atomic_write
from core.clock import from_ms
from exchange.public import FUNDING_HISTORY_MAX, PublicClient

__all__ = ["FundingRates", "fetch_funding", "funding_path", "load_funding", "settlements"]

HEADER = "funding_time,funding_rate"


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


def funding_path(data_dir: Path, inst_id: str) -> Path:
    return data_dir / "funding" / f"{inst_id}.csv"


def load_funding(data_dir: Path, inst_id: str, fallback: Decimal) -> FundingRates:
    """The history file of ``inst_id`` if present (see the module docstring), else the flat rate."""
    path = funding_path(data_dir, inst_id)
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


def fetch_funding(public: PublicClient, data_dir: Path, inst_id: str, since: datetime) -> int:
    """Add to ``inst_id``'s history file the settlements after ``since`` that it lacks, from
    ``public/funding-rate-history`` (newest first, back to ``since`` or to the oldest OKX serves).
    Returns how many were added. Exchange errors propagate (the caller decides what a run without
    them means); a malformed existing file is a :class:`BacktestError`, and is left as it was."""
    path = funding_path(data_dir, inst_id)
    known = dict(load_funding(data_dir, inst_id, Decimal(0)).rates)
    newest_known = max(known, default=None)
    floor = int(since.timestamp())
    if newest_known is not None:
        floor = max(floor, newest_known)  # older settlements are in the file already
    fetched: dict[int, Decimal] = {}
    after: datetime | None = None
    while True:
        page = public.funding_history(inst_id, after=after, limit=FUNDING_HISTORY_MAX)
        for row in page:
            fetched[int(row.funding_time.timestamp())] = row.rate
        if len(page) < FUNDING_HISTORY_MAX or int(page[0].funding_time.timestamp()) <= floor:
            break  # OKX has no older ones, or the page reached what the file has (or the run's start)
        if after is not None and page[0].funding_time >= after:
            raise BacktestError(f"{inst_id}: public/funding-rate-history does not page backwards")
        after = page[0].funding_time
    added = {t: r for t, r in fetched.items() if t not in known}
    if not added:
        return 0
    merged = sorted({**known, **added}.items())
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(fh: IO[str]) -> None:
        fh.write(HEADER + "\n")
        for t, rate in merged:
            fh.write(f"{datetime.fromtimestamp(t, tz=UTC).isoformat()},{rate}\n")

    atomic_write(path, write)
    return len(added)
