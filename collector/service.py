"""The collector process: wiring, start-up catch-up, the scheduled loop, clean shutdown.

``CollectorService(cfg).serve()`` repairs and resumes the CSVs (or backfills history), catches up
every bar close it missed — writing, oldest first, the markers of every close since the last one
on disk (within ``marker_keep_hours``, at most :data:`collector.catchup.MAX_CATCH_UP`), so a trader
waiting on one after a collector restart gets it — then runs :meth:`tick` at every base close on
an APScheduler trigger until :meth:`request_stop` (SIGTERM/SIGINT in ``__main__``). A failing
cycle is logged and notified; it never kills the loop (the original restarted from scratch and
re-downloaded everything: bug 25).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import traceback
from datetime import datetime, timedelta

from bus.factory import collector_markers, host_name, is_redis, redis_client
from bus.keys import Keys
from collector.backfill import Backfiller, BackfillReport
from collector.catchup import last_marked_close, missed_closes
from collector.cycle import Cycle, CycleReport
from collector.feed import CandleFeed, RestFeed
from collector.feed_journal import FeedJournal
from collector.fetch import CycleStopped, Fetcher
from collector.gapledger import GapLedger
from collector.holes import HoleFiller
from collector.housekeeping import Housekeeper
from collector.plan import CollectPlan, build_plan
from collector.schedule import BarCloseTrigger, build_scheduler
from collector.shard import Membership, ShardedCycle
from collector.ws_feed import WsFeed
from collector.ws_plan import deadline_s
from config.plan import HistoryPlan, history_plan
from config.schema import FleetConfig
from core.clock import Clock, ScaledClock, SystemClock, clock_from_env
from core.intervals import Interval
from core.markers import MarkerStore
from core.store import CandleStore
from exchange import PublicClient, make_public_client
from notify.events import Crash, DataAlert, Event, ProcessStarted, ProcessStopped
from notify.service import Notifier, make_notifier

__all__ = ["PROCESS", "CollectorService"]

log = logging.getLogger(__name__)
PROCESS = "collector"
# A scheduler wake-up may land a hair before the close on a scaled clock; wait that out.
_EARLY_TOLERANCE = timedelta(milliseconds=250)


class CollectorService:
    """One collector: plan, stores, exchange client, notifier, and the loop."""

    def __init__(
        self,
        cfg: FleetConfig,
        *,
        clock: Clock | None = None,
        client: PublicClient | None = None,
        notifier: Notifier | None = None,
        progress: bool | None = None,
        max_workers: int = 16,
    ) -> None:
        self.cfg = cfg
        self.clock = clock or clock_from_env()
        self.plan: CollectPlan = build_plan(cfg)
        self.history: HistoryPlan = history_plan(cfg)
        self.store = CandleStore(cfg.candles_dir, cfg.candle_timezone)
        # issue #17: with DATA_BUS = Redis(...) markers (and the bars they vouch for) are also published
        self.bus = redis_client(cfg) if is_redis(cfg) else None
        self.markers: MarkerStore = collector_markers(
            cfg, self.store, self.bus, self.clock, self.plan.instruments, self.keep_bars(), self._bus_down
        )
        self._own_client = client is None
        self.client = client or make_public_client(cfg.exchange, self.clock, max_workers=max_workers)
        self._own_notifier = notifier is None
        # DingTalk counts its rate window in wall time, also in an accelerated demo
        wall = SystemClock() if isinstance(self.clock, ScaledClock) else self.clock
        self.notifier = notifier or make_notifier(cfg, process=PROCESS, clock=wall)
        self.stop_event = threading.Event()
        self.stop_reason = ""
        settings = cfg.collector
        self.fetcher = Fetcher(
            self.client,
            self.plan.base_bar,
            self.plan.base,
            self.clock,
            confirm_retry_s=settings.confirm_retry_s,
            stop=self.stop_event,
        )
        self.feed: CandleFeed = self._make_feed()
        self.feed_journal = FeedJournal(cfg.data_dir / "collector")
        self.backfiller = Backfiller(
            self.plan,
            self.store,
            self.client,
            self.clock,
            span=self.history.span,
            spans={iv: self.history.spans[iv] for iv in self.plan.larger},
            progress=progress,
        )
        self.gaps = GapLedger(cfg.data_dir / "gaps.json")
        self.cycle = Cycle(
            self.plan,
            self.store,
            self.markers,
            self.feed,
            self.clock,
            history_start=self.backfiller.history_start,
            rebuild_bars=self.backfiller.base_bars,
            notify=self.notify,
            process=PROCESS,
            holes=HoleFiller(self.client, self.plan.base_bar, self.plan.base, self.gaps),
        )
        # issue #17: in Redis mode collectors on several hosts split the instruments (collector/shard.py)
        self.sharded = self._make_sharded() if self.bus is not None else None
        self.housekeeper = Housekeeper(
            self.plan,
            self.store,
            self.markers,
            self.client,
            self.clock,
            settings,
            keep_bars=self.keep_bars(),
            notify=self.notify,
            process=PROCESS,
            gaps=self.gaps,
        )
        if self.sharded is not None:  # verify only this collector's share (#17)
            self.sharded.followers.append(self.housekeeper)
        self.last_close: datetime | None = None

    def _make_feed(self) -> CandleFeed:
        settings = self.cfg.collector
        if settings.feed == "rest":
            return RestFeed(self.fetcher, self.clock)
        return WsFeed(
            self.cfg.exchange.business_ws_url,
            self.plan.base_bar,
            self.plan.base,
            self.plan.all_instruments,
            self.fetcher,
            self.clock,
            deadline_s=deadline_s(self.plan.base, settings.ws_deadline_s),
            per_connection=settings.ws_per_connection,
            stop=self.stop_event,
            notify=self.notify,
        )

    def _make_sharded(self) -> ShardedCycle:
        assert self.bus is not None
        bus = self.cfg.data_bus
        name = f"{host_name(bus)}:{os.getpid()}"
        membership = Membership(self.bus, Keys(bus.prefix), name, bus.lease_s)
        return ShardedCycle(self.cycle, self.plan, membership, stop=self.stop_event, clock=self.clock)

    @property
    def close_delay_s(self) -> float:
        """When after a close the cycle starts: at once for the WebSocket feed (it waits for the
        pushes itself), ``close_delay_s`` for REST polling."""
        return 0.0 if self.cfg.collector.feed == "websocket" else self.cfg.collector.close_delay_s

    def keep_bars(self) -> dict[Interval, int]:
        """Rows each interval's CSV must keep for the history plan (a floor for ``max_csv_rows``)."""
        return {iv: math.ceil(self.history.spans[iv] / iv.delta) + 1 for iv in self.plan.intervals}

    def _bus_down(self, detail: str) -> None:
        self.notify(DataAlert(PROCESS, "bus_down", detail))

    def notify(self, event: Event) -> None:
        try:
            self.notifier.notify(event)
        except Exception:  # notifiers never raise, but the data path must not depend on it
            log.exception("notifier failed")

    # ---- start-up -----------------------------------------------------------------------------
    def backfill(self, now: datetime | None = None) -> BackfillReport:
        """Repair, resume or backfill every CSV up to the last closed bar (``--backfill``)."""
        return self.backfiller.run(now)

    def catch_up(self, backfilled: datetime | None = None) -> CycleReport | None:
        """Run the cycle of the latest closed bar unless its markers already exist, marking every
        close missed since the newest marker on disk first — or, with no marker on disk, every
        close since ``backfilled`` (the close the start-up backfill reached: closes that passed
        while it ran, and a larger interval closing then, are marked too)."""
        close = self.plan.last_close(self.clock.now())
        written = all(self.markers.path(iv, close).is_file() for iv in self.plan.closing_at(close))
        if written and self.last_close is None:
            self.last_close = close
            log.info("markers for %s already written; nothing to catch up", close.isoformat())
            return None
        if self.last_close is None:
            lookback = timedelta(hours=self.cfg.collector.marker_keep_hours)
            done = last_marked_close(self.plan, self.markers, close, lookback=lookback)
            if done is None and backfilled is not None:
                done = backfilled - self.plan.base.delta
            self.last_close = done
        return self.tick()

    def start_up(self) -> CycleReport | None:
        """Backfill/resume, then catch up the latest close (writing its marker if missing)."""
        report = self.backfill()
        for inst, reason in report.failed.items():
            log.warning("%s: %s", inst, reason)
        for (inst, iv), n in report.duplicates_removed.items():
            detail = f"{n} duplicated row(s) removed at start-up"
            self.notify(DataAlert(PROCESS, "duplicate_rows", detail, inst_id=inst, interval=iv))
        for (inst, iv), detail in report.native_mismatches.items():
            self.notify(DataAlert(PROCESS, "verification_mismatch", detail, inst_id=inst, interval=iv))
        return self.catch_up(backfilled=report.until)

    # ---- the loop -----------------------------------------------------------------------------
    def run_cycle(self, close: datetime, earlier: list[datetime] | None = None) -> CycleReport:
        """One bar close, after the missed ``earlier`` ones (tests call this directly)."""
        if self.sharded is not None:
            report = self.sharded.run(close, earlier=earlier)
        else:
            report = self.cycle.run(close, earlier=earlier or [])
        self.last_close = close
        self.feed_journal.record(self.feed.status(), self.clock.now())
        return report

    def tick(self) -> CycleReport | None:
        """The scheduled job: process the newest closed bar once, then housekeeping. Never raises."""
        try:
            now = self.clock.now()
            close = self.plan.last_close(now + _EARLY_TOLERANCE)
            if self.last_close is not None and close <= self.last_close:
                log.debug("bar %s already processed", close.isoformat())
                return None
            if close > now and not self.clock.sleep_until(close, self.stop_event):
                return None
            earlier = missed_closes(self.plan, self.last_close, close)
            report = self.run_cycle(close, earlier)
            if not self.stop_event.is_set():
                self.housekeeper.maybe_run()
            return report
        except CycleStopped as exc:
            log.info("cycle abandoned: %s", exc)
        except Exception as exc:
            log.exception("collector cycle failed")
            self.notify(Crash(PROCESS, f"{type(exc).__name__}: {exc}", traceback.format_exc()))
        return None

    def _job(self) -> None:
        self.tick()

    def serve(self) -> None:
        """Start up, then run every base close until :meth:`request_stop`."""
        self.notify(ProcessStarted(PROCESS, self.describe()))
        try:
            if self.sharded is not None:
                self.sharded.membership.start()
            self.feed.start()
            self.start_up()
            if self.stop_event.is_set():
                return
            trigger = BarCloseTrigger(self.plan.base, self.plan.tz, self.clock, self.close_delay_s)
            scheduler = build_scheduler(self._job, trigger)
            scheduler.start()
            log.info("collector running: %s", self.describe())
            try:
                self.stop_event.wait()
            finally:
                scheduler.shutdown(wait=True)  # lets a running cycle finish (its sleeps see the stop)
        finally:
            self.notify(ProcessStopped(PROCESS, self.stop_reason or "stopped"))

    def request_stop(self, reason: str = "stop requested") -> None:
        """Ask the loop to stop (signal-handler safe)."""
        if not self.stop_event.is_set():
            self.stop_reason = reason
            self.stop_event.set()

    def describe(self) -> str:
        ivs = ", ".join(f"{iv}: {len(insts)}" for iv, insts in sorted(self.plan.instruments.items()))
        return (
            f"base {self.plan.base} ({self.plan.base_bar}), {len(self.plan.all_instruments)} instrument(s) "
            f"[{ivs}], candle timezone {self.plan.tz}, history {self.history.base_bars} base bars, "
            f"feed {self.feed.name}"
        )

    def close(self) -> None:
        self.feed.close()
        self.cycle.close()
        if self._own_client:
            self.client.close()
        if self._own_notifier:
            self.notifier.close()
        if self.sharded is not None:
            self.sharded.membership.stop()
        if self.bus is not None:
            self.bus.close()

    def __enter__(self) -> CollectorService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
