"""Holes OKX never fills: base bars missing from ``market/candles`` *and* ``history-candles``
while later bars are served.

``append`` refuses gaps, so one such bar used to block its instrument for good. Once
``history-candles`` confirms the bar is absent, it is filled the way OKX itself represents a
minute without trades: flat at the previous close, volume 0 (see ``core.resample.is_tradeless``:
such a bar gives no open/high/low to the larger bars either). Each fill is recorded in the
:class:`~collector.gapledger.GapLedger`; housekeeping puts the real bar in place if OKX serves it
later. Only holes *between* served bars are filled — never the newest bar, which may just be late.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from collector.fetch import Fetched, candle_to_bar
from collector.gapledger import GapEntry, GapLedger
from core.bars import Bar
from core.intervals import Interval
from core.store import CandleStore
from exchange.errors import ExchangeError
from exchange.public import PublicClient

__all__ = ["Completed", "HoleFiller", "flat_bar"]

log = logging.getLogger(__name__)
_HISTORY_PAGE = 100
_MAX_HOLES = 1440  # a longer run of missing bars is not a hole but an outage: left failed


def flat_bar(ts: datetime, price: Decimal) -> Bar:
    """OKX's minute without trades: flat at ``price`` (the previous close), zero volume."""
    zero = Decimal(0)
    return Bar(ts, price, price, price, price, zero, zero, zero)


@dataclass(frozen=True)
class Completed:
    fetched: Fetched
    filled: list[GapEntry]


class HoleFiller:
    """Completes a :class:`Fetched` whose bars stop at a hole that history confirms."""

    def __init__(self, client: PublicClient, bar: str, base: Interval, ledger: GapLedger) -> None:
        self.client = client
        self.bar = bar
        self.base = base
        self.ledger = ledger

    def fill(
        self,
        fetched: MutableMapping[str, Fetched],
        store: CandleStore,
        target: datetime,
        now: datetime,
        alert: Callable[[str, str, str], None],
    ) -> None:
        """Complete every instrument of ``fetched`` stuck at a confirmed hole (in place), record
        the fills in the ledger and ``alert(kind, detail, inst)`` each one."""
        for inst, got in list(fetched.items()):
            if got.ok or not got.later:
                continue
            done = self.complete(got, store.last_bar(inst, self.base), target, now)
            fetched[inst] = done.fetched
            if done.filled:
                self.ledger.record(done.filled, now)
                times = ", ".join(e.ts.isoformat() for e in done.filled[:5])
                more = f" and {len(done.filled) - 5} more" if len(done.filled) > 5 else ""
                alert("gap_filled", f"{len(done.filled)} {self.base} bar(s) OKX never served "
                      f"filled flat at the previous close: {times}{more}", inst)  # fmt: skip

    def complete(
        self, got: Fetched, before: Bar | None, target: datetime, now: datetime
    ) -> Completed:
        """``got`` with its holes up to the newest served bar filled (``before`` = the CSV's last
        bar). Unchanged when there is nothing to fill or history cannot be asked."""
        step = self.base.delta
        prev = got.bars[-1] if got.bars else before
        if got.ok or not got.later or prev is None:
            return Completed(got, [])
        newest = max(ts for ts in got.later if ts <= target)
        holes = []
        t = prev.ts + step
        while t <= newest:
            if t not in got.later:
                holes.append(t)
            t += step
        if not holes or len(holes) > _MAX_HOLES:
            return Completed(got, [])
        try:
            served = self._history(got.inst_id, holes, now)
        except ExchangeError as exc:
            log.warning("%s: cannot check history for %d hole(s): %s", got.inst_id, len(holes), exc)
            return Completed(got, [])
        bars, filled = list(got.bars), []
        t = prev.ts + step
        while t <= newest:
            bar = got.later.get(t) or served.get(t)
            if bar is None:
                bar = flat_bar(t, prev.close)
                filled.append(GapEntry(got.inst_id, self.base.name, t, prev.close, now))
            bars.append(bar)
            prev = bar
            t += step
        error = None if bars[-1].ts == target else got.error
        log.warning("%s: %d %s bar(s) missing from OKX's history filled flat (first %s)",
                    got.inst_id, len(filled), self.base, holes[0].isoformat())  # fmt: skip
        repaired = got.repaired + len(served)
        return Completed(Fetched(got.inst_id, bars=bars, repaired=repaired, error=error), filled)

    def _history(self, inst: str, holes: list[datetime], now: datetime) -> dict[datetime, Bar]:
        """What ``history-candles`` serves for ``holes`` (confirmed and closed only)."""
        wanted, first = set(holes), min(holes)
        cursor = max(holes) + self.base.delta
        out: dict[datetime, Bar] = {}
        while True:
            page = self.client.history_candles(inst, self.bar, limit=_HISTORY_PAGE, after=cursor)
            for c in page:
                if c.ts in wanted and c.confirmed and c.ts + self.base.delta <= now:
                    out[c.ts] = candle_to_bar(c)
            if not page or page[0].ts <= first or page[0].ts >= cursor:
                return out
            cursor = page[0].ts
