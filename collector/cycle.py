"""One bar close: fetch the base bars, append, derive larger intervals, write the markers.

:meth:`Cycle.run` is the whole collector iteration for a base close ``C`` (the scheduler calls it;
tests call it directly with a fake or simulator-driven clock):

1. fetch the newest confirmed candles of every instrument concurrently (confirm-retry while the
   just-closed bar is still forming; holes since the last CSV row repaired from history);
2. append them to the base CSVs and write the base marker (``ok`` only for instruments whose CSV
   now ends at ``C - base``; everything else ``failed`` and alerted — never a marker over a missing
   bar, bug 9);
3. for each larger interval closing at ``C``, derive its bar from the base CSV (complete bins
   only, bug 10) and write its marker after all its CSVs.

Closes missed before ``C`` (an overrun, a suspended host, downtime; see :mod:`collector.catchup`)
are passed as ``earlier``: the one fetch covers them, and their markers (and the larger intervals
closing then) are written first, oldest first, so no close goes unrecorded.

A cycle re-run for the same close is harmless: appends are idempotent and markers are replaced
atomically with the same content.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from collector.derive import derive
from collector.feed import CandleFeed
from collector.fetch import Fetched
from collector.holes import HoleFiller
from collector.plan import CollectPlan
from core.clock import Clock
from core.errors import DataError
from core.intervals import Interval, bar_closes_at
from core.markers import InstrumentStatus, Marker, MarkerStore
from core.store import CandleStore
from notify.events import DataAlert, Event

__all__ = ["ALERT_REPEAT", "Cycle", "CycleReport", "IntervalOutcome", "statuses_at"]

log = logging.getLogger(__name__)
_T = TypeVar("_T")
ALERT_REPEAT = timedelta(hours=1)  # a still-failing instrument is alerted again after this


@dataclass(frozen=True)
class IntervalOutcome:
    """The marker written for one interval at one close."""

    interval: Interval
    statuses: dict[str, InstrumentStatus]
    marker: Path
    latency_s: float  # process-clock seconds from the close to the marker

    @property
    def ok(self) -> list[str]:
        return sorted(i for i, s in self.statuses.items() if s.ok)

    @property
    def failed(self) -> dict[str, str]:
        return {i: s.reason for i, s in sorted(self.statuses.items()) if not s.ok}


@dataclass
class CycleReport:
    close: datetime
    outcomes: list[IntervalOutcome] = field(default_factory=list)
    repaired: dict[str, int] = field(default_factory=dict)
    earlier: list[datetime] = field(default_factory=list)  # missed closes marked first
    caught_up: list[IntervalOutcome] = field(default_factory=list)  # their markers

    def outcome(self, interval: Interval | str) -> IntervalOutcome:
        name = interval if isinstance(interval, str) else interval.name
        for o in self.outcomes:
            if o.interval.name == name:
                return o
        raise KeyError(f"no {name} marker in the cycle for {self.close.isoformat()}")

    @property
    def close_to_marker_s(self) -> float:
        """Seconds from the close to the last marker of this cycle."""
        return max((o.latency_s for o in self.outcomes), default=0.0)

    def summary(self) -> str:
        """The one log line per cycle."""
        parts = []
        for o in self.outcomes:
            text = f"{o.interval} ok {len(o.ok)}/{len(o.statuses)}"
            if o.failed:
                text += f" failed {','.join(o.failed)}"
            parts.append(text)
        repaired = sum(self.repaired.values())
        missed = len(self.earlier)
        return (
            f"bar close {self.close.isoformat()}: {'; '.join(parts)}"
            f"{f'; gap-repaired {repaired} bar(s)' if repaired else ''}"
            f"{f'; caught up {missed} missed close(s)' if missed else ''}"
            f"; close->marker {self.close_to_marker_s:.2f}s"
        )


class Cycle:
    """Runs one bar close; owns nothing but references (store, markers, fetcher, clock)."""

    def __init__(
        self,
        plan: CollectPlan,
        store: CandleStore,
        markers: MarkerStore,
        fetcher: CandleFeed,
        clock: Clock,
        *,
        history_start: Callable[[datetime], datetime],
        rebuild_bars: int,
        notify: Callable[[Event], None] = lambda event: None,
        process: str = "collector",
        writers: int = 8,
        holes: HoleFiller | None = None,
    ) -> None:
        self.plan = plan
        self.store = store
        self.markers = markers
        self.fetcher = fetcher
        self.clock = clock
        self.history_start = history_start
        self.rebuild_bars = rebuild_bars
        self.notify = notify
        self.process = process
        self.writers = writers
        self.holes = holes
        self._failing: dict[tuple[str, str], datetime] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def run(self, close: datetime, *, earlier: Sequence[datetime] = ()) -> CycleReport:
        """Process the base bar closing at ``close`` (and every larger bar closing with it), after
        marking the missed closes ``earlier`` (ascending, before ``close``) in order."""
        plan = self.plan
        for c in (*earlier, close):
            if not bar_closes_at(c, plan.base, plan.tz):
                raise ValueError(f"{c.isoformat()} is not a {plan.base} bar close")
        if any(c >= close for c in earlier) or list(earlier) != sorted(set(earlier)):
            raise ValueError("earlier closes must be ascending and before the close")
        report = CycleReport(close, earlier=list(earlier))
        base_status = self._base(close, report)
        for c in earlier:
            report.caught_up += self._close_markers(c, statuses_at(base_status, c - plan.base.delta))
        report.outcomes = self._close_markers(close, base_status)
        log.info("%s", report.summary())
        return report

    def _close_markers(
        self, close: datetime, base_status: dict[str, InstrumentStatus]
    ) -> list[IntervalOutcome]:
        """The base marker of ``close``, then the bars and marker of each larger interval closing then."""
        plan = self.plan
        outcomes = [self._mark(plan.base, close, base_status)]
        for iv in plan.closing_at(close):
            if iv != plan.base:
                outcomes.append(self._mark(iv, close, self._larger(iv, close, base_status)))
        return outcomes

    # ---- base ---------------------------------------------------------------------------------
    def _base(self, close: datetime, report: CycleReport) -> dict[str, InstrumentStatus]:
        base = self.plan.base
        target = close - base.delta
        insts = self.plan.all_instruments
        last = {inst: self.store.last_time(inst, base) for inst in insts}
        wanted = {inst: ts for inst, ts in last.items() if ts is None or ts < target}
        fetched: dict[str, Fetched] = {}
        if wanted:
            fetched = self.fetcher.closed_bars(wanted, target, self.history_start(close))
            if self.holes is not None:
                alert = functools.partial(self._alert, iv=base)
                self.holes.fill(fetched, self.store, target, self.clock.now(), alert)

        def write(inst: str) -> tuple[datetime | None, str]:
            got = fetched.get(inst)
            if got is None:
                return last[inst], ""
            reason = ""
            try:
                self.store.append(inst, base, got.bars)
            except DataError as exc:
                reason = f"append failed: {exc}"
            return self.store.last_time(inst, base), reason or got.error or ""

        statuses: dict[str, InstrumentStatus] = {}
        for inst, (now_last, reason) in zip(insts, self._map(write, insts), strict=True):
            got = fetched.get(inst)
            if got is not None and got.repaired:
                report.repaired[inst] = got.repaired
                self._alert("gap_repaired", f"{got.repaired} missing {base} bar(s) fetched", inst, base)
            ok = now_last == target
            if ok:
                self._recovered(inst, base)
            else:
                reason = reason or f"CSV ends at {now_last.isoformat() if now_last else 'nothing'}"
                self._alert("instrument_failed", reason, inst, base)
            statuses[inst] = InstrumentStatus(ok=ok, last_candle=now_last, reason="" if ok else reason)
        return statuses

    # ---- larger intervals ---------------------------------------------------------------------
    def _larger(
        self, iv: Interval, close: datetime, base_status: dict[str, InstrumentStatus]
    ) -> dict[str, InstrumentStatus]:
        def build(inst: str) -> InstrumentStatus:
            base_ok = base_status[inst]
            if not base_ok.ok:  # already alerted for the base interval
                return InstrumentStatus(
                    ok=False,
                    last_candle=self.store.last_time(inst, iv),
                    reason=f"{self.plan.base} candles incomplete: {base_ok.reason}",
                )
            bar = close - iv.delta
            result = derive(self.store, self.plan, inst, iv, bar, rebuild_bars=self.rebuild_bars)
            if result.ok:  # a caught-up close vouches for its own bar; the CSV may go further
                return InstrumentStatus(ok=True, last_candle=bar)
            return InstrumentStatus(ok=False, last_candle=result.last, reason=result.error or "")

        insts = self.plan.instruments[iv]
        statuses = dict(zip(insts, self._map(build, insts), strict=True))
        for inst, status in statuses.items():
            if status.ok:
                self._recovered(inst, iv)
            elif base_status[inst].ok:
                self._alert("instrument_failed", status.reason, inst, iv)
        return statuses

    def _map(self, fn: Callable[[str], _T], insts: Sequence[str]) -> list[_T]:
        """``fn`` over instruments on the writer pool: each file is independent, and their
        ``fsync``s overlap instead of queueing (200 serial fsyncs cost ~0.2-0.8 s)."""
        if len(insts) <= 1:
            return [fn(inst) for inst in insts]
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.writers, thread_name_prefix="csv-writer")
            pool = self._pool
        return list(pool.map(fn, insts))

    def close(self) -> None:
        """Stop the writer pool."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    # ---- markers and alerts -------------------------------------------------------------------
    def _mark(self, iv: Interval, close: datetime, statuses: dict[str, InstrumentStatus]) -> IntervalOutcome:
        now = self.clock.now()
        marker = Marker(
            interval=iv.name,
            bar_open=close - iv.delta,
            bar_close=close,
            created_at=now,
            instruments=statuses,
        )
        path = self.markers.write(marker)
        return IntervalOutcome(iv, statuses, path, (now - close).total_seconds())

    def _recovered(self, inst: str, iv: Interval) -> None:
        if self._failing.pop((inst, iv.name), None) is not None:
            log.info("%s %s: back to normal", inst, iv)

    def _alert(self, kind: str, detail: str, inst: str, iv: Interval) -> None:
        log.warning("%s %s: %s: %s", inst, iv, kind, detail)
        if kind == "instrument_failed":
            # one alert when an instrument starts failing, then a reminder per ALERT_REPEAT
            key, now = (inst, iv.name), self.clock.now()
            last = self._failing.get(key)
            if last is not None and now - last < ALERT_REPEAT:
                return
            self._failing[key] = now
        try:
            self.notify(DataAlert(self.process, kind, detail, inst_id=inst, interval=iv.name))
        except Exception:  # a notifier must never break the data path
            log.exception("notification failed")


def statuses_at(latest: dict[str, InstrumentStatus], bar: datetime) -> dict[str, InstrumentStatus]:
    """Base statuses for an earlier close whose bar opens at ``bar``, from the statuses of the
    newest close: a CSV is contiguous, so it holds ``bar`` iff its last row is at or after it."""
    out = {}
    for inst, st in latest.items():
        last = st.last_candle
        if last is not None and last >= bar:
            out[inst] = InstrumentStatus(ok=True, last_candle=bar)
        else:
            reason = st.reason or f"CSV ends at {last.isoformat() if last else 'nothing'}"
            out[inst] = InstrumentStatus(ok=False, last_candle=last, reason=reason)
    return out
