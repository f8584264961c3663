"""Start-up: repair torn rows, resume from the CSVs on disk or backfill history, derive the rest.

For each instrument the base CSV continues from its last row (the gap since then is fetched), or,
when there is none, starts ``span`` back (the history plan: every strategy's lookback and at least
``COLLECTOR.history_bars`` bars of the largest interval). Every fetch goes through
``candles_range`` (``market/candles`` within its 1,440-bar reach, then ``history-candles``),
concurrently within the per-IP budget the client enforces; a progress bar is shown on a TTY.
Larger intervals are then derived from the base CSV. Nothing is ever re-downloaded wholesale
(the original re-downloaded everything at every restart and every odd hour: bugs 5, 7).
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from collector.derive import Derived, derive
from collector.duplicates import repair_duplicates
from collector.fetch import candle_to_bar, contiguous_from
from collector.native import NativeHistory
from collector.plan import CollectPlan
from core.bars import Bar
from core.clock import Clock
from core.errors import DataError
from core.intervals import Interval, floor_to_bar
from core.store import CandleStore
from exchange.public import PublicClient

__all__ = ["BackfillReport", "Backfiller"]

log = logging.getLogger(__name__)


@dataclass
class BackfillReport:
    """Rows fetched per instrument, failures, and the derived intervals."""

    until: datetime  # base bars are complete up to (excluding) this open time when ok
    fetched: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    derived: list[Derived] = field(default_factory=list)
    torn_rows_repaired: int = 0
    duplicates_removed: dict[tuple[str, str], int] = field(default_factory=dict)
    native: dict[tuple[str, str], int] = field(default_factory=dict)  # larger bars fetched from OKX
    native_mismatches: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed and all(d.ok for d in self.derived)


class _Progress:
    """A thread-safe tqdm bar fed by cumulative per-instrument counts (off when not on a TTY)."""

    def __init__(self, total: int, desc: str, enabled: bool | None) -> None:
        show = sys.stderr.isatty() if enabled is None else enabled
        self._bar: Any = None
        if show and total > 0:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, unit="bar", file=sys.stderr, dynamic_ncols=True)
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def callback(self, inst: str, cap: int) -> Any:
        def update(count: int) -> None:
            with self._lock:
                count = min(count, cap)
                delta = count - self._seen.get(inst, 0)
                self._seen[inst] = count
                if self._bar is not None and delta > 0:
                    self._bar.update(delta)

        return update

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class Backfiller:
    """Brings every CSV of the plan up to the last closed bar at ``now``."""

    def __init__(
        self,
        plan: CollectPlan,
        store: CandleStore,
        client: PublicClient,
        clock: Clock,
        *,
        span: timedelta,
        spans: Mapping[Interval, timedelta] | None = None,
        workers: int = 4,
        progress: bool | None = None,
    ) -> None:
        self.plan = plan
        self.store = store
        self.client = client
        self.clock = clock
        self.span = span
        self.spans = dict(spans or {})  # larger intervals with their own (native) history
        self.native = NativeHistory(plan, store, client)
        self.workers = workers
        self.progress = progress

    @property
    def base_bars(self) -> int:
        """Base bars a full history holds (bounds rebuilds of the larger intervals)."""
        return int(self.span / self.plan.base.delta) + 1

    def history_start(self, now: datetime) -> datetime:
        """Open time of the first base bar a fresh CSV gets."""
        return floor_to_bar(now - self.span, self.plan.base, self.plan.tz)

    def repair_files(self) -> int:
        """Cut rows torn by a crash in every CSV of the plan."""
        repaired = 0
        for iv, insts in self.plan.instruments.items():
            for inst in insts:
                if self.store.repair(inst, iv):
                    log.warning("%s %s: cut a torn last row left by a crash", inst, iv)
                    repaired += 1
        return repaired

    def remove_duplicates(self) -> dict[tuple[str, str], int]:
        """Repair duplicated rows in the tail of every CSV of the plan: (inst, interval) -> rows."""
        removed = {}
        for iv, insts in self.plan.instruments.items():
            for inst in insts:
                n = repair_duplicates(self.store, inst, iv)
                if n:
                    removed[(inst, iv.name)] = n
        return removed

    def run(self, now: datetime | None = None) -> BackfillReport:
        now = now or self.clock.now()
        end = self.plan.last_close(now)  # open of the forming base bar: fetch [start, end)
        report = BackfillReport(until=end, torn_rows_repaired=self.repair_files())
        report.duplicates_removed = self.remove_duplicates()
        self._base(report, now, end)
        for iv in self.plan.larger:
            upto = self.plan.last_close(now, iv) - iv.delta
            for inst in self.plan.instruments[iv]:
                if inst in report.failed:
                    continue
                self._native(report, inst, iv, upto, now)
                result = derive(self.store, self.plan, inst, iv, upto, rebuild_bars=self.base_bars)
                report.derived.append(result)
                if not result.ok:
                    log.warning("%s %s: %s", inst, iv, result.error)

                def mismatch(detail: str, key: tuple[str, str] = (inst, iv.name)) -> None:
                    report.native_mismatches[key] = detail

                self.native.verify(inst, iv, mismatch)
        log.info(
            "backfill done: %d bars fetched for %d instrument(s), %d failed, %d derived file(s) updated",
            sum(report.fetched.values()), len(report.fetched), len(report.failed),
            sum(1 for d in report.derived if d.added or d.rebuilt),
        )  # fmt: skip
        return report

    def _native(self, report: BackfillReport, inst: str, iv: Interval, upto: datetime, now: datetime) -> None:
        """OKX's own ``iv`` bars for the part of its history the base CSV cannot derive."""
        span = self.spans.get(iv)
        if span is None:
            return
        got = self.native.fill(inst, iv, floor_to_bar(now - span, iv, self.plan.tz), upto, now)
        if got.added:
            report.native[(inst, iv.name)] = got.added
            log.info("%s %s: %d bar(s) of history fetched natively", inst, iv, got.added)
        if got.error:
            log.warning("%s %s: %s", inst, iv, got.error)

    def _base(self, report: BackfillReport, now: datetime, end: datetime) -> None:
        base = self.plan.base
        jobs: list[tuple[str, datetime, bool]] = []
        for inst in self.plan.all_instruments:
            last = self.store.last_time(inst, base)
            start = last + base.delta if last is not None else self.history_start(now)
            if start < end:
                jobs.append((inst, start, last is None))
            else:
                report.fetched[inst] = 0
        if not jobs:
            return
        total = sum(int((end - start) / base.delta) for _, start, _ in jobs)
        log.info("fetching %d %s bars for %d instrument(s)", total, base, len(jobs))
        bar = _Progress(total, f"backfill {base}", self.progress)

        def one(job: tuple[str, datetime, bool]) -> tuple[str, int, str | None]:
            inst, start, fresh = job
            cap = int((end - start) / base.delta)
            try:
                return (inst, *self._fetch_one(inst, start, end, fresh, now, bar.callback(inst, cap)))
            except Exception as exc:  # isolated per instrument
                log.warning("%s: backfill failed: %s", inst, exc)
                return inst, 0, str(exc)

        try:
            with ThreadPoolExecutor(
                max(1, min(self.workers, len(jobs))), thread_name_prefix="backfill"
            ) as pool:
                for inst, added, error in pool.map(one, jobs):
                    report.fetched[inst] = added
                    if error:
                        report.failed[inst] = error
        finally:
            bar.close()

    def _fetch_one(
        self, inst: str, start: datetime, end: datetime, fresh: bool, now: datetime, progress: Any
    ) -> tuple[int, str | None]:
        base = self.plan.base
        candles = self.client.candles_range(inst, self.plan.base_bar, start, end, progress=progress)
        got: dict[datetime, Bar] = {
            c.ts: candle_to_bar(c) for c in candles if c.confirmed and c.ts + base.delta <= now
        }
        if fresh and got:
            start = min(got)  # a young instrument starts at its listing
        bars = contiguous_from(got, start, end - base.delta, base)
        try:
            added = self.store.append(inst, base, bars)
        except DataError as exc:
            return 0, f"cannot append history: {exc}"
        expected_last = end - base.delta
        if not bars or bars[-1].ts != expected_last:
            reached = bars[-1].ts.isoformat() if bars else "nothing"
            if not got and fresh:
                return added, "the exchange returned no closed candles"
            # the newest bar may legitimately still be forming right at a close; the cycle retries it
            if bars and bars[-1].ts == expected_last - base.delta:
                return added, None
            return (
                added,
                f"history has a hole after {reached} (wanted bars up to {expected_last.isoformat()})",
            )
        return added, None
