"""The trader's loop: preflight, catch up, then one cycle per bar close until told to stop.

- Sleeps on the injected clock until the next close of the account's interval (never spins);
  SIGTERM / SIGINT set the stop event, which ends any sleep or marker wait at once.
- At start, after preflight: the latest closed bar is run if its cycle was interrupted (journal
  status ``started``/``targets``) or never started and still within its marker deadline.
- A :class:`core.errors.TemporaryError` (OKX unavailable, rate limited) ends the attempt; the same
  bar is retried a few times (resuming from its journaled targets) and the loop never dies of it.
  Only preflight's definite refusals exit (status 2). After start, an auth-looking error (keys
  refused, account mode changed...) pauses trading: the bar is journaled ``failed``, an alert
  goes out, and the keys are tried again with backoff — alerting each time — until they work or
  the process is told to stop; the process stays up (positions may be open). Anything else is
  reported as a crash and the loop goes on with the next bar.
- Every bar the trader did not trade is journaled ``skipped`` with the reason and alerted
  (:mod:`trader.missed`): bars missed while it was down (at start-up), bars a cycle overran, bars
  missed while paused.
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
from trader.missed import last_cycle_close, missed_closes, record_missed
from trader.preflight import PreflightResult, preflight

__all__ = ["TraderService"]

log = logging.getLogger(__name__)
RETRY_S = 5.0
ATTEMPTS = 3
PAUSE_MAX_S = 300.0


class TraderService:
    def __init__(self, ctx: TraderContext, cadence: ReportCadence | None = None) -> None:
        self.ctx = ctx
        self.cadence = cadence
        self.cycles = 0
        self.last_bar: datetime | None = None  # the newest bar this process has dealt with

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
        self.last_bar = max(self.last_bar or bar_close, bar_close)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                result = run_cycle(ctx, bar_close, self.cadence)
            except LeaseLost:  # Redis mode (#17): another process holds the account; stop sending at once
                raise
            except ConfigError as exc:  # after start: pause and retry, never exit
                log.error("bar %s: %s", bar_close.isoformat(), exc)
                ctx.journal.set_cycle_status(bar_close, "failed", ctx.clock.now(), reason=f"paused: {exc}")
                self.pause(exc)
                return None
            except TemporaryError as exc:
                log.warning("bar %s, attempt %d: %s", bar_close.isoformat(), attempt, exc)
                if attempt == ATTEMPTS or not ctx.clock.sleep(RETRY_S, self.stop):
                    ctx.journal.set_cycle_status(bar_close, "failed", ctx.clock.now(), reason=str(exc))
                    ctx.notifier.notify(ev.DataAlert(ctx.process, "exchange_unavailable", str(exc)))
                    ctx.alert("bar_skipped", f"OKX unavailable: {exc}", bar_close=bar_close, notify=False)
                    return None
                continue
            except Exception as exc:
                log.exception("bar %s failed", bar_close.isoformat())
                ctx.journal.set_cycle_status(bar_close, "failed", ctx.clock.now(), reason=repr(exc))
                ctx.notifier.notify(ev.Crash(ctx.process, repr(exc), traceback.format_exc()))
                ctx.alert("bar_skipped", f"cycle failed: {exc!r}", bar_close=bar_close, notify=False)
                return None
            self.cycles += 1
            return result
        return None

    def pause(self, exc: Exception) -> bool:
        """Trading paused: alert, wait (backoff), try the keys again; True once they work.

        Returns False if told to stop meanwhile. Every retry that fails alerts again."""
        ctx, delay = self.ctx, RETRY_S
        while True:
            ctx.alert("trading_paused", f"{exc}; trying again in {delay:.0f} s (the process stays up)")
            if not ctx.clock.sleep(delay, self.stop):
                return False
            try:
                ctx.client.account_config()
            except (ConfigError, TemporaryError) as again:
                exc, delay = again, min(delay * 2, PAUSE_MAX_S)
                continue
            log.info("trading resumed: OKX accepts the keys again")
            return True

    def record_missed(self, upcoming: datetime, reason: str) -> None:
        """Journal and alert every bar between the last one dealt with and ``upcoming``."""
        last = self.last_bar or last_cycle_close(self.ctx.journal)
        if last is None:
            return
        iv = self.ctx.account.interval_obj
        closes = missed_closes(last, upcoming, iv, self._tz())
        record_missed(self.ctx.journal, closes, iv, reason, self.ctx.clock.now(), self.ctx.alert)
        if closes:
            self.last_bar = closes[-1]

    def catch_up(self) -> CycleResult | None:
        """Run the latest closed bar if it was interrupted, or is new and within its deadline.

        Older interrupted bars are closed as skipped: a later bar's decision supersedes them."""
        bar = self.latest_close()
        history = last_cycle_close(self.ctx.journal) is not None
        self.record_missed(bar, "the trader was not running")
        for old in self.ctx.journal.unfinished_cycles():
            when = datetime.fromisoformat(old.bar_close)
            if when < bar:
                log.warning("bar %s was interrupted and is superseded: not resumed", old.bar_close)
                reason = "interrupted; superseded by a later bar"
                self.ctx.journal.set_cycle_status(when, "skipped", self.ctx.clock.now(), reason=reason)
                self.ctx.alert("bar_skipped", f"bar {old.bar_close} not finished: {reason}", bar_close=when)
        row = self.ctx.journal.cycle(bar)
        deadline = marker_deadline(bar, self.ctx.account.interval_obj, self.ctx.settings.marker_deadline_s)
        interrupted = row is not None and row.status in ("started", "targets")
        if interrupted or (row is None and self.ctx.clock.now() <= deadline):
            log.info("catching up on the bar that closed at %s", bar.isoformat())
            return self.run_bar(bar)
        if row is None and history:  # this bar came too late to trade
            reason = "the trader started after its marker deadline"
            iv, now = self.ctx.account.interval_obj, self.ctx.clock.now()
            record_missed(self.ctx.journal, [bar], iv, reason, now, self.ctx.alert)
        if row is not None or history:
            self.last_bar = bar
        return None

    def _preflight(self) -> PreflightResult | None:
        """Preflight, retried while OKX is temporarily unavailable (alerting each time); None if
        stopped meanwhile."""
        delay = RETRY_S
        while True:
            try:
                return preflight(self.ctx)
            except TemporaryError as exc:
                log.warning("preflight: %s; retrying in %.0f s", exc, delay)
                self.ctx.alert("trading_paused", f"preflight: {exc}; retrying in {delay:.0f} s")
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
                self.record_missed(upcoming, "overrun: an earlier cycle or a pause ran past its close")
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
