"""Larger-interval history fetched natively from OKX, then verified against the base bars.

Deriving a 1d history of 1,000 bars from 1m bars needs 1.44 M base bars per instrument (~1.3 GB
in memory when rebuilt, and hours of ``history-candles`` paging). Instead, the part of a larger
interval's history that the base CSV does not cover is fetched as OKX's own bars (``1D`` is 4 pages
of ``market/candles``), and only the bins the base CSV covers are derived. Where both exist, the
bins are compared: OKX's own bar must equal the aggregation of its base bars (a mismatch is
logged and alerted; the derived bar is kept, as every later bar is derived too).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from collector.fetch import candle_to_bar, contiguous_from
from collector.plan import CollectPlan
from core.bars import Bar
from core.errors import DataError
from core.intervals import Interval, floor_to_bar, okx_bar
from core.store import CandleStore
from exchange.errors import ExchangeError
from exchange.public import PublicClient

__all__ = ["NativeFill", "NativeHistory", "first_derivable"]

log = logging.getLogger(__name__)


def first_derivable(store: CandleStore, plan: CollectPlan, inst: str, iv: Interval) -> datetime | None:
    """Open of the first ``iv`` bin the base CSV covers from its start (None: no base rows)."""
    first = store.first_time(inst, plan.base)
    if first is None:
        return None
    opened = floor_to_bar(first, iv, plan.tz)
    return opened if opened == first else opened + iv.delta


@dataclass
class NativeFill:
    """Native bars appended and verified for one instrument and interval."""

    added: int = 0
    checked: int = 0
    mismatched: list[datetime] | None = None
    error: str | None = None


class NativeHistory:
    """Fetches the part of a larger interval's history the base CSV cannot derive."""

    def __init__(self, plan: CollectPlan, store: CandleStore, client: PublicClient) -> None:
        self.plan = plan
        self.store = store
        self.client = client
        self._native: dict[tuple[str, Interval], dict[datetime, Bar]] = {}

    def fill(self, inst: str, iv: Interval, start: datetime, upto: datetime, now: datetime) -> NativeFill:
        """Append OKX's own ``iv`` bars from ``start`` (or the file's next bar) up to the first bin
        the base CSV covers (exclusive) or ``upto`` (inclusive). Bars beyond are kept for
        :meth:`verify` after they are derived."""
        last = self.store.last_time(inst, iv)
        begin = max(start, last + iv.delta) if last is not None else start
        derivable = first_derivable(self.store, self.plan, inst, iv)
        stop = min(upto + iv.delta, derivable) if derivable is not None else upto + iv.delta
        if begin >= stop:
            return NativeFill()
        try:
            candles = self.client.candles_range(inst, okx_bar(iv, self.plan.tz), begin, upto + iv.delta)
        except ExchangeError as exc:
            return NativeFill(error=f"cannot fetch {iv} history: {exc}")
        got = {c.ts: candle_to_bar(c) for c in candles if c.confirmed and c.ts + iv.delta <= now}
        self._native[(inst, iv)] = {ts: b for ts, b in got.items() if ts >= stop}
        if not got:
            return NativeFill()
        first = begin if last is not None else min(got)
        bars = contiguous_from(got, first, stop - iv.delta, iv)
        try:
            added = self.store.append(inst, iv, bars)
        except DataError as exc:
            return NativeFill(error=f"cannot append {iv} history: {exc}")
        if bars and bars[-1].ts != stop - iv.delta:
            return NativeFill(added, error=f"OKX's {iv} history has a hole after {bars[-1].ts.isoformat()}")
        return NativeFill(added)

    def verify(self, inst: str, iv: Interval, alert: Callable[[str], None]) -> NativeFill:
        """Compare the derived rows with the native bars fetched beyond the base's start."""
        native = self._native.pop((inst, iv), {})
        if not native:
            return NativeFill()
        rows = self.store.tail(inst, iv, len(native) + 1)
        mine = {b.ts: b for b in rows if b.ts in native}
        wrong = sorted(ts for ts, b in mine.items() if b != native[ts])
        if wrong:
            detail = (f"{len(wrong)} of {len(mine)} {iv} bar(s) derived from {self.plan.base} differ from "
                      f"OKX's own (first {wrong[0].isoformat()})")  # fmt: skip
            log.warning("%s %s: %s", inst, iv, detail)
            alert(detail)
        return NativeFill(checked=len(mine), mismatched=wrong)
