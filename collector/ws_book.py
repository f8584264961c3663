"""What the WebSocket has told us: confirmed bars per instrument, which instruments are live.

Thread-safe: connection tasks write (:meth:`CandleBook.add`, :meth:`set_live`, :meth:`refuse`),
the cycle thread reads. Only ``confirm "1"`` candles are kept as bars — a forming bar is never
handed out; the newest ``ts`` seen at all is kept too, because a push of the next bar proves the
previous one closed (its final values still come from its confirm push or REST). Duplicates and
out-of-order pushes are harmless: a later confirm of the same bar replaces the earlier one (OKX
may revise a bar), an unconfirmed push never touches a confirmed bar.

:attr:`changed` is set whenever something the cycle waits for happens (a confirm, an instrument
going live, down or refused), so the cycle sleeps on it instead of polling; :meth:`take_dirty`
names the instruments concerned, so each wake-up looks at those alone.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from core.intervals import Interval
from exchange.records import Candle

__all__ = ["BookCounts", "CandleBook"]


@dataclass(frozen=True)
class BookCounts:
    live: int
    refused: dict[str, str]
    reconnects: int
    pushes: int


class CandleBook:
    """Confirmed candles of one bar size, per instrument."""

    def __init__(self, base: Interval) -> None:
        self.base = base
        self.changed = threading.Event()
        self._lock = threading.Lock()
        self._confirmed: dict[str, dict[datetime, Candle]] = {}
        self._newest: dict[str, datetime] = {}
        self._live: set[str] = set()
        self._refused: dict[str, str] = {}
        self._reconnects = 0
        self._pushes = 0
        self._dirty: set[str] = set()  # instruments whose state changed since take_dirty()

    # ---- writers (connection tasks) -------------------------------------------------------------
    def add(self, candles: Iterable[Candle]) -> None:
        confirmed = False
        with self._lock:
            for c in candles:
                self._pushes += 1
                newest = self._newest.get(c.inst_id)
                if newest is None or c.ts > newest:
                    self._newest[c.inst_id] = c.ts
                if c.confirmed:
                    self._confirmed.setdefault(c.inst_id, {})[c.ts] = c
                    self._dirty.add(c.inst_id)
                    confirmed = True
        if confirmed:
            self.changed.set()

    def set_live(self, inst_ids: Iterable[str], live: bool) -> None:
        ids = set(inst_ids)
        with self._lock:
            self._dirty |= ids
            if live:
                self._live |= ids
                for inst in ids:
                    self._refused.pop(inst, None)
            else:
                self._live -= ids
        self.changed.set()

    def refuse(self, inst_id: str, reason: str) -> None:
        with self._lock:
            self._dirty.add(inst_id)
            self._refused[inst_id] = reason
            self._live.discard(inst_id)
        self.changed.set()

    def reconnected(self) -> None:
        with self._lock:
            self._reconnects += 1

    # ---- readers (the cycle) --------------------------------------------------------------------
    def take_dirty(self) -> set[str]:
        """Instruments with a new confirm, or gone live, down or refused, since the last call."""
        with self._lock:
            dirty, self._dirty = self._dirty, set()
        return dirty

    def is_live(self, inst_id: str) -> bool:
        with self._lock:
            return inst_id in self._live

    def run(self, inst_id: str, first: datetime, last: datetime) -> list[Candle] | None:
        """Confirmed candles ``first, first+bar, ... last``, or None if any of them is missing."""
        out: list[Candle] = []
        with self._lock:
            got = self._confirmed.get(inst_id, {})
            ts = first
            while ts <= last:
                candle = got.get(ts)
                if candle is None:
                    return None
                out.append(candle)
                ts += self.base.delta
        return out

    def next_seen(self, inst_id: str, ts: datetime) -> bool:
        """True if a push of a bar after ``ts`` arrived (so ``ts`` has closed)."""
        with self._lock:
            newest = self._newest.get(inst_id)
        return newest is not None and newest > ts

    def prune(self, before: datetime) -> None:
        """Forget confirmed bars opening before ``before`` (memory stays bounded)."""
        with self._lock:
            for bars in self._confirmed.values():
                for ts in [t for t in bars if t < before]:
                    del bars[ts]

    def counts(self) -> BookCounts:
        with self._lock:
            return BookCounts(len(self._live), dict(self._refused), self._reconnects, self._pushes)
