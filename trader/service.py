"""The trader's loop: preflight, catch up, then one cycle per bar close until told to stop.

- Sleeps on the injected clock until the next close of the account's interval (never spins);
  SIGTERM / SIGINT set the stop event, which ends any sleep or marker wait at once.
- At start, after preflight: the latest closed bar is run if its cycle was interrupted (journal
  status ``started``/``targets``) or never started and still within its marker deadline.
- A :class:`core.errors.TemporaryError` (OKX unavailable, rate limited) ends the attempt; the same
  bar is retried a few times (resuming from its journaled targets) and the loop never dies of it.
  A configuration error (bad keys...) stops the process; anything else is reported as a crash
  and the loop goes on with the next bar.
- A heartbeat line is logged every cycle.
"""

from __future__ import annotations

import logging
import signal
import threading
import traceback
from datetime import datetime
from types import FrameType

from core.errors import ConfigError, TemporaryError
from core.intervals import floor_to_bar, next_close
from notify import events as ev
from notify.format import ReportCadence
from trader.context import TraderContext
from trader.cycle import CycleResult, marker_deadline, run_cycle
from trader.lease import LeaseLost
from trader.preflight import PreflightResult, preflight

__all__ = ["TraderService"]

log = logging.getLogger(__name__)
RETRY_S = 5.0
ATTEMPTS = 3


class TraderService:
    def __init__(self, ctx: TraderContext, cadence: ReportCadence | None = None) -> None:
        self.ctx = ctx
        self.cadence = cadence
        self.cycles = 0

    @property
    def stop(self) -> threading.Event:
        return self.ctx.stop

    def install_signal_handlers(self) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            log.info("received %s: stopping after the current step", signal.Signals(signum).name)
            self.stop.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def _tz(self) -> str:
        return self.ctx.cfg.candle_timezone

    def latest_close(self) -> datetime:
        """Close time of the last bar that has closed (= open time of the bar in progress)."""
        return floor_to_bar(self.ctx.clock.now(), self.ctx.account.interval, self._tz())

    def run_bar(self, bar_close: datetime) -> CycleResult | None:
        """Run one bar's cycle with retries on temporary errors; never raises but ConfigError."""
        ctx = self.ctx
        for attempt in range(1, ATTEMPTS + 1):
            try:
                result = run_cycle(ctx, bar_close, self.cadence)
            except (ConfigError, LeaseLost):  # LeaseLost: Redis mode (#17), stop sending at once
                raise
            except TemporaryError as exc:
                log.warning("bar %s, attempt %d: %s", bar_close.isoformat(), attempt, exc)
                if attempt == ATTEMPTS or not ctx.clock.sleep(RETRY_S, self.stop):
                    ctx.journal.set_cycle_status(bar_close, "failed", ctx.clock.now(), reason=str(exc))
                    ctx.notifier.notify(ev.DataAlert(ctx.process, "exchange_unavailable", str(exc)))
                    return None
                continue
            except Exception as exc:
                log.exception("bar %s failed", bar_close.isoformat())
                ctx.journal.set_cycle_status(bar_close, "failed", ctx.clock.now(), reason=repr(exc))
                ctx.notifier.notify(ev.Crash(ctx.process, repr(exc), traceback.format_exc()))
                return None
            self.cycles += 1
            return result
        return None

    def catch_up(self) -> CycleResult | None:
        """Run the latest closed bar if it was interrupted, or is new and within its deadline.

        Older interrupted bars are closed as skipped: a later bar's decision supersedes them."""
        bar = self.latest_close()
        for old in self.ctx.journal.unfinished_cycles():
            when = datetime.fromisoformat(old.bar_close)
            if when < bar:
                log.warning("bar %s was interrupted and is superseded: not resumed", old.bar_close)
                self.ctx.journal.set_cycle_status(
                    when, "skipped", self.ctx.clock.now(), reason="interrupted; superseded by a later bar"
                )
        row = self.ctx.journal.cycle(bar)
        deadline = marker_deadline(bar, self.ctx.account.interval_obj, self.ctx.settings.marker_deadline_s)
        interrupted = row is not None and row.status in ("started", "targets")
        if interrupted or (row is None and self.ctx.clock.now() <= deadline):
            log.info("catching up on the bar that closed at %s", bar.isoformat())
            return self.run_bar(bar)
        return None

    def _preflight(self) -> PreflightResult | None:
        """Preflight, retried while OKX is temporarily unavailable; None if stopped meanwhile."""
        delay = RETRY_S
        while True:
            try:
                return preflight(self.ctx)
            except TemporaryError as exc:
                log.warning("preflight: %s; retrying in %.0f s", exc, delay)
                if not self.ctx.clock.sleep(delay, self.stop):
                    return None
                delay = min(delay * 2, 300.0)

    def run(self, *, once: bool = False) -> int:
        """Preflight and loop; returns the process exit code."""
        ctx = self.ctx
        try:
            result = self._preflight()
            if result is None:
                ctx.notifier.notify(ev.ProcessStopped(ctx.process, "stopped before preflight completed"))
                return 0
        except ConfigError as exc:
            log.error("preflight refused to start:\n%s", exc)
            ctx.notifier.notify(ev.ProcessStopped(ctx.process, f"preflight refused: {exc}"))
            return 2
        ctx.notifier.notify(ev.ProcessStarted(ctx.process, result.summary))
        try:
            if once:
                bar = self.latest_close()
                row = ctx.journal.cycle(bar)
                if row is None or row.status in ("started", "targets"):
                    self.run_bar(bar)
                else:
                    log.info("bar %s already %s", bar.isoformat(), row.status)
                return 0
            self.catch_up()
            while not self.stop.is_set():
                upcoming = next_close(ctx.clock.now(), ctx.account.interval, self._tz())
                if not ctx.clock.sleep_until(upcoming, self.stop):
                    break
                outcome = self.run_bar(upcoming)
                log.info(
                    "heartbeat: %s bar %s %s, %d cycle(s) run, next close %s",
                    ctx.name, upcoming.isoformat(), outcome.status if outcome else "failed", self.cycles,
                    next_close(ctx.clock.now(), ctx.account.interval, self._tz()).isoformat(),
                )  # fmt: skip
        except ConfigError as exc:
            log.error("stopping: %s", exc)
            ctx.notifier.notify(ev.ProcessStopped(ctx.process, f"configuration error: {exc}"))
            return 2
        ctx.notifier.notify(ev.ProcessStopped(ctx.process, "stop requested"))
        return 0
