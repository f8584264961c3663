"""Closed base candles from the exchange: the latest page with confirm-retry, gaps from history.

Only candles OKX marks ``confirm == "1"`` are kept, and never one whose bar has not closed on the
process clock (the original dropped the last history row blindly — bug 8 — and appended whatever
came back). The just-closed bar is asked for again for up to ``confirm_retry_s`` while OKX still
serves it as forming; a hole between the CSV and the latest page is filled through
``candles_range`` (``market/candles`` while it reaches, then ``history-candles``). Per-instrument
isolation: one instrument's failure is recorded in its :class:`Fetched`, never raised.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from core.bars import Bar
from core.clock import Clock
from core.intervals import Interval
from exchange.public import PublicClient
from exchange.records import Candle

__all__ = ["CycleStopped", "Fetched", "Fetcher", "candle_to_bar", "contiguous_from", "first_missing"]

log = logging.getLogger(__name__)


class CycleStopped(Exception):
    """A stop was requested while waiting; the cycle is abandoned (nothing half-written)."""


def candle_to_bar(candle: Candle) -> Bar:
    """The one place an exchange candle becomes an on-disk bar."""
    return Bar(
        ts=candle.ts,
        open=candle.open,
        high=candle.high,
        low=candle.low,
        close=candle.close,
        volume=candle.vol,
        volume_ccy=candle.vol_ccy,
        volume_quote=candle.vol_quote,
    )


def first_missing(
    have: Iterable[datetime], start: datetime, end: datetime, step: Interval
) -> datetime | None:
    """The first open time in ``[start, end]`` (inclusive, stepping by ``step``) absent from ``have``."""
    present = set(have)
    t = start
    while t <= end:
        if t not in present:
            return t
        t += step.delta
    return None


def contiguous_from(
    bars: Mapping[datetime, Bar], start: datetime, end: datetime, step: Interval
) -> list[Bar]:
    """Bars ``start, start+step, ...`` up to ``end`` (inclusive), stopping at the first hole."""
    out: list[Bar] = []
    t = start
    while t <= end and t in bars:
        out.append(bars[t])
        t += step.delta
    return out


@dataclass
class Fetched:
    """What one instrument got: closed bars after its last stored one, ascending, contiguous."""

    inst_id: str
    bars: list[Bar] = field(default_factory=list)
    repaired: int = 0  # bars that came through gap repair
    error: str | None = None
    later: dict[datetime, Bar] = field(default_factory=dict)  # served bars beyond a hole in ``bars``

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class _State:
    start: datetime | None  # first bar wanted (None: whatever the exchange has, for new files)
    got: dict[datetime, Bar] = field(default_factory=dict)
    repaired: set[datetime] = field(default_factory=set)
    error: str | None = None
    done: bool = False


class Fetcher:
    """Fetches closed ``bar`` candles for many instruments through one :class:`PublicClient`."""

    def __init__(
        self,
        client: PublicClient,
        bar: str,
        base: Interval,
        clock: Clock,
        *,
        confirm_retry_s: float,
        retry_every_s: float = 0.5,
        latest_limit: int = 3,
        repair_workers: int = 4,
        stop: threading.Event | None = None,
    ) -> None:
        self.client = client
        self.bar = bar
        self.base = base
        self.clock = clock
        self.confirm_retry_s = confirm_retry_s
        self.retry_every_s = retry_every_s
        self.latest_limit = latest_limit
        self.repair_workers = repair_workers
        self.stop = stop

    def closed_bars(
        self, last: Mapping[str, datetime | None], target: datetime, history_start: datetime
    ) -> dict[str, Fetched]:
        """Bars after ``last[inst]`` through ``target`` (the bar that just closed) per instrument.

        An instrument with no stored bar gets its history from ``history_start``."""
        if self.clock.now() < target + self.base.delta:
            raise ValueError(f"bar {target.isoformat()} has not closed yet")
        states = {
            inst: _State(start=(ts + self.base.delta) if ts is not None else None)
            for inst, ts in last.items()
        }
        self._latest(states, target)
        self._repair(states, target, history_start)
        return {inst: self._result(inst, st, target) for inst, st in states.items()}

    # ---- the latest page, asked again while the just-closed bar is still forming -------------
    def _latest(self, states: dict[str, _State], target: datetime) -> None:
        deadline = self.clock.now().timestamp() + self.confirm_retry_s
        pending = sorted(inst for inst, st in states.items() if not _reached(st, target))
        for st in states.values():
            st.done = _reached(st, target)
        attempt = 0
        while pending:
            attempt += 1
            replies = self.client.latest_candles_many(pending, self.bar, limit=self.latest_limit)
            for inst in pending:
                st = states[inst]
                reply = replies.get(inst)
                if reply is None or isinstance(reply, BaseException):
                    st.error = f"candles request failed: {reply}"
                    st.done = True
                    continue
                self._keep(st, reply, target)
                if target in st.got:
                    st.done = True
            pending = [inst for inst in pending if not states[inst].done]
            if not pending:
                break
            remaining = deadline - self.clock.now().timestamp()
            if remaining <= 0:
                for inst in pending:
                    states[inst].error = (
                        f"bar {target.isoformat()} still not confirmed by the exchange after "
                        f"{self.confirm_retry_s:g}s ({attempt} attempts)"
                    )
                break
            log.debug("%d instrument(s) wait for bar %s to be confirmed", len(pending), target.isoformat())
            if not self.clock.sleep(min(self.retry_every_s, remaining), self.stop):
                raise CycleStopped(f"stopped while waiting for bar {target.isoformat()}")

    def _keep(self, st: _State, candles: Iterable[Candle], target: datetime) -> int:
        now = self.clock.now()
        kept = 0
        for c in candles:
            if not c.confirmed or c.ts > target or c.ts + self.base.delta > now:
                continue  # forming, or not closed on our clock: never stored (bug 8)
            if st.start is not None and c.ts < st.start:
                continue
            st.got[c.ts] = candle_to_bar(c)
            kept += 1
        return kept

    # ---- holes between the CSV and the latest page ------------------------------------------
    def _repair(self, states: dict[str, _State], target: datetime, history_start: datetime) -> None:
        todo: list[tuple[str, datetime, datetime]] = []
        for inst, st in states.items():
            if st.error is not None or _reached(st, target):
                continue
            start = st.start if st.start is not None else history_start
            hole = first_missing(st.got, start, target, self.base)
            if hole is None:
                continue
            # fetch from the hole up to the oldest bar of the run that ends at the target
            end = target
            while end - self.base.delta in st.got and end - self.base.delta >= hole:
                end -= self.base.delta
            todo.append((inst, hole, end))
        if not todo:
            return

        def one(job: tuple[str, datetime, datetime]) -> tuple[str, list[Candle] | Exception]:
            inst, start, end = job
            try:
                return inst, self.client.candles_range(inst, self.bar, start, end)
            except Exception as exc:  # isolated per instrument, reported in its result
                return inst, exc

        workers = max(1, min(self.repair_workers, len(todo)))
        with ThreadPoolExecutor(workers, thread_name_prefix="gap-repair") as pool:
            results = list(pool.map(one, todo))
        for inst, got in results:
            st = states[inst]
            if isinstance(got, Exception):
                st.error = f"gap repair failed: {got}"
                continue
            before = set(st.got)
            self._keep(st, got, target)
            st.repaired = set(st.got) - before
            log.info("%s: gap repair fetched %d bar(s)", inst, len(st.repaired))

    def _result(self, inst: str, st: _State, target: datetime) -> Fetched:
        start = st.start if st.start is not None else (min(st.got) if st.got else None)
        if start is None:
            return Fetched(inst, error=st.error or "the exchange returned no closed candles")
        bars = contiguous_from(st.got, start, target, self.base)
        repaired = sum(1 for b in bars if b.ts in st.repaired)
        error = st.error
        if error is None and (not bars or bars[-1].ts != target):
            hole = first_missing(st.got, start, target, self.base)
            where = hole.isoformat() if hole else target.isoformat()
            error = f"the exchange served no closed candle for {where}"
        after = bars[-1].ts if bars else start - self.base.delta
        later = {ts: b for ts, b in st.got.items() if ts > after} if error else {}
        return Fetched(inst, bars=bars, repaired=repaired, error=error, later=later)


def _reached(st: _State, target: datetime) -> bool:
    """True if nothing is wanted: the stored CSV already ends at ``target``."""
    return st.start is not None and st.start > target
