"""The background sender: a queue and one daemon thread per robot client.

``notify(event)`` only appends to an in-memory inbox (a few microseconds; it never blocks on the
network and never raises). The worker thread formats events, respects the robot's rate window
and sends:

* budget to spare -> each message on its own, at once;
* more messages waiting than the budget allows, or the budget nearly spent -> wait briefly
  (``linger_s``) to gather, then merge everything waiting into digests that fit DingTalk's size
  limit, so nothing is dropped;
* network errors, timeouts, 5xx -> keep the messages, retry with exponential backoff;
* "too fast" (130101) -> keep the messages, pause the robot (60 s doubling to 10 min);
* bad signature / keyword / token (310000...) or a refused message -> drop it, log once.

Memory is bounded: past ``max_pending`` messages (or ``max_pending_bytes``) the oldest are dropped
and the next post says how many. ``close(timeout_s)`` sends what it can before the deadline.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from core.clock import Clock, SystemClock
from notify.dingtalk import Outcome, Robot, SendResult
from notify.events import Event
from notify.format import MAX_TEXT_BYTES, format_event, format_notice, take_digest
from notify.ratelimit import SlidingWindowLimiter

__all__ = ["DingTalkNotifier", "NotifierStats", "Sender"]

log = logging.getLogger(__name__)


class Sender(Protocol):
    """What the worker needs from a robot client (:class:`notify.dingtalk.DingTalkClient`)."""

    robot: Robot

    def send_markdown(self, title: str, text: str) -> SendResult: ...


@dataclass
class NotifierStats:
    queued: int = 0  # events accepted by notify()
    posts: int = 0  # successful POSTs
    delivered: int = 0  # messages delivered (a digest delivers several)
    dropped: int = 0  # messages given up (refused, or over the memory bound)
    failures: int = 0  # POSTs that failed (network, 5xx, errcodes)


@dataclass
class _Entry:
    title: str
    text: str
    queued_at: datetime
    size: int


class DingTalkNotifier:
    """A :class:`notify.service.Notifier` that posts to one DingTalk robot from a daemon thread."""

    def __init__(
        self,
        sender: Sender,
        *,
        process: str,
        limiter: SlidingWindowLimiter,
        clock: Clock | None = None,
        linger_s: float | None = None,
        reserve: int | None = None,
        backoff_s: float = 1.0,
        backoff_max_s: float = 60.0,
        pause_s: float = 60.0,
        pause_max_s: float = 600.0,
        max_pending: int = 1000,
        max_pending_bytes: int = 4_000_000,
        idle_poll_s: float = 1.0,
    ) -> None:
        self._sender = sender
        self.robot = sender.robot
        self.process = process
        self._limiter = limiter
        self._clock: Clock = clock or SystemClock()
        self._linger_s = linger_s if linger_s is not None else limiter.window_s / limiter.max_events
        self._reserve = reserve if reserve is not None else max(1, limiter.max_events // 4)
        self._backoff_s, self._backoff_max_s = backoff_s, backoff_max_s
        self._pause_s, self._pause_max_s = pause_s, pause_max_s
        self._max_pending, self._max_pending_bytes = max_pending, max_pending_bytes
        self._idle_poll_s = idle_poll_s
        self.stats = NotifierStats()

        self._lock = threading.Lock()
        self._inbox: deque[tuple[Event, datetime]] = deque()
        self._wake = threading.Event()  # something arrived (or close)
        self._interrupt = threading.Event()  # close was requested: cut timed waits short
        self._closing = False
        self._deadline = 0.0
        self._busy = False
        self._inbox_dropped = 0

        # worker-thread state
        self._pending: deque[_Entry] = deque()
        self._pending_bytes = 0
        self._overflow = 0  # dropped since the last successful post, not yet announced
        self._failures = 0
        self._pause = 0.0
        self._notice_in_flight = False
        self._reported: set[str] = set()
        self._thread = threading.Thread(target=self._run, name=f"notify-{self.robot.label}", daemon=True)
        self._thread.start()

    # ---- caller side ------------------------------------------------------------------------
    def notify(self, event: Event) -> None:
        """Queue ``event``; returns at once, never raises."""
        try:
            at = self._clock.now()
            dropped: list[tuple[Event, datetime]] = []
            with self._lock:
                closed = self._closing
                if not closed:
                    self._inbox.append((event, at))
                    self.stats.queued += 1
                    if len(self._inbox) > self._max_pending:  # the worker is stuck in a POST
                        dropped.append(self._inbox.popleft())
                        self._inbox_dropped += 1
            self._log_undelivered_events(dropped, "too many messages waiting")
            if closed:
                title, text = format_event(event, at=at)
                log.info("notifier closed; not sent: %s\n%s", title, text)
                return
            self._wake.set()
        except Exception:
            log.exception("could not queue a notification for robot %s", self.robot.label)

    def close(self, timeout_s: float = 5.0) -> None:
        """Send what can be sent within ``timeout_s``, then stop the worker."""
        with self._lock:
            if not self._closing:
                self._closing = True
                self._deadline = time.monotonic() + max(0.0, timeout_s)
        self._interrupt.set()
        self._wake.set()
        self._thread.join(max(0.0, timeout_s) + 0.05)
        left = len(self._pending) + len(self._inbox)
        if left:
            log.warning(
                "notifier for robot %s closed with %d message(s) not delivered", self.robot.label, left
            )
            if not self._thread.is_alive():  # the worker's queue is ours now
                with self._lock:
                    inbox = list(self._inbox)
                    self._inbox.clear()
                self._log_undelivered(self._take(len(self._pending)), "closed before delivery")
                self._log_undelivered_events(inbox, "closed before delivery")

    def wait_idle(self, timeout_s: float = 5.0) -> bool:
        """Block until everything queued has been sent or given up (tests and shutdown)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                idle = not self._inbox and not self._pending and not self._busy
            if idle:
                return True
            time.sleep(0.01)
        return False

    # ---- worker side ------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while True:
                try:
                    if not self._step():
                        return
                except Exception:
                    log.exception("notifier worker for robot %s failed; continuing", self.robot.label)
                    self._sleep(1.0)
        finally:
            close = getattr(self._sender, "close", None)
            if callable(close):
                close()

    def _sleep(self, seconds: float) -> None:
        if self._closing:
            left = self._deadline - time.monotonic()
            if left <= 0:
                return
            seconds = min(seconds, left)
            self._interrupt.clear()  # close() has been seen; do not spin on the flag
        if seconds > 0:
            self._clock.sleep(seconds, self._interrupt)

    def _drain_inbox(self) -> None:
        with self._lock:
            items = list(self._inbox)
            self._inbox.clear()
            self._busy = bool(items) or bool(self._pending)
            dropped, self._inbox_dropped = self._inbox_dropped, 0
        self._count_overflow(dropped)
        for event, at in items:
            try:
                title, text = format_event(event, keyword=self.robot.keyword, at=at)
            except Exception:
                log.exception("could not format %s; sending its type only", type(event).__name__)
                title, text = format_notice(
                    type(event).__name__, ["(formatting failed; see the log)"], keyword=self.robot.keyword
                )
            self._push(_Entry(title, text, at, len(text.encode("utf-8"))))

    def _push(self, entry: _Entry) -> None:
        self._pending.append(entry)
        self._pending_bytes += entry.size
        while len(self._pending) > 1 and (
            len(self._pending) > self._max_pending or self._pending_bytes > self._max_pending_bytes
        ):
            old = self._pending.popleft()
            self._pending_bytes -= old.size
            self._count_overflow(1)
            self._log_undelivered([old], "too many messages waiting")

    def _count_overflow(self, n: int) -> None:
        if n <= 0:
            return
        if not self._overflow:
            log.warning(
                "robot %s: too many messages waiting; dropping the oldest (the next post says how many)",
                self.robot.label,
            )
        self._overflow += n
        self.stats.dropped += n

    def _step(self) -> bool:
        """One decision of the worker; False when it should stop."""
        self._wake.clear()
        self._drain_inbox()
        if self._closing and (time.monotonic() >= self._deadline or not self._pending):
            return False
        if not self._pending:
            with self._lock:
                self._busy = bool(self._inbox)
            self._wake.wait(self._idle_poll_s)
            return True
        now = self._clock.now()
        remaining = self._limiter.remaining(now)
        if remaining == 0:
            self._sleep(max(self._limiter.wait_s(now), 0.01))
            return True
        self._notice_in_flight = False
        if (
            not self._overflow
            and remaining > self._reserve
            and len(self._pending) <= remaining - self._reserve
        ):
            count, (title, text) = 1, (self._pending[0].title, self._pending[0].text)
        else:
            age = (now - self._pending[0].queued_at).total_seconds()
            if not self._closing and remaining <= self._reserve and age < self._linger_s:
                self._sleep(self._linger_s - age)  # gather a burst into one digest
                return True
            count, (title, text) = self._digest()
        if not self._limiter.try_acquire(now):  # another process took the slot
            return True
        result = self._sender.send_markdown(title, text)
        self._handle(result, count)
        return True

    def _digest(self) -> tuple[int, tuple[str, str]]:
        messages = [(e.title, e.text) for e in self._pending]
        if self._overflow:
            notice = format_notice(
                "messages dropped 消息已丢弃",
                [
                    f"{self._overflow} older message(s) were dropped: too many queued while DingTalk was "
                    "unreachable or rate-limited. See the process log."
                ],
                keyword=self.robot.keyword,
            )
            messages.insert(0, notice)
        count, message = take_digest(
            messages, keyword=self.robot.keyword, source=self.process, limit_bytes=MAX_TEXT_BYTES
        )
        self._notice_in_flight = bool(self._overflow)
        return count - self._notice_in_flight, message  # the notice is not a pending entry

    def _take(self, count: int) -> list[_Entry]:
        taken = []
        for _ in range(count):
            entry = self._pending.popleft()
            self._pending_bytes -= entry.size
            taken.append(entry)
        return taken

    def _log_undelivered(self, entries: list[_Entry], why: str) -> None:
        """A message given up on still reaches the process log, in full (never silently lost)."""
        for entry in entries:
            _warn_undelivered(self.robot.label, why, entry.title, entry.text)

    def _log_undelivered_events(self, items: list[tuple[Event, datetime]], why: str) -> None:
        for event, at in items:
            _warn_undelivered(self.robot.label, why, *format_event(event, at=at))

    def _log_once(self, result: SendResult, level: int, what: str) -> None:
        if result.key in self._reported:
            log.debug("robot %s: %s (%s)", self.robot.label, result.detail, what)
            return
        self._reported.add(result.key)
        log.log(level, "DingTalk robot %s: %s; %s (logged once)", self.robot.label, result.detail, what)

    def _handle(self, result: SendResult, count: int) -> None:
        now = self._clock.now()
        if result.outcome is Outcome.OK:
            self._take(count)
            if self._notice_in_flight:
                self._overflow = 0
            self.stats.posts += 1
            self.stats.delivered += count
            if self._reported:
                log.info("DingTalk robot %s is delivering again", self.robot.label)
            self._reported.clear()
            self._failures = 0
            self._pause = 0.0
            return
        self.stats.failures += 1
        if result.outcome is Outcome.RETRY:
            self._failures += 1
            self._log_once(result, logging.WARNING, "keeping the messages and retrying with backoff")
            self._sleep(min(self._backoff_s * 2 ** min(self._failures - 1, 32), self._backoff_max_s))
        elif result.outcome is Outcome.RATE_LIMITED:
            self._pause = min(self._pause * 2, self._pause_max_s) if self._pause else self._pause_s
            self._limiter.hold(now + timedelta(seconds=self._pause))
            self._log_once(result, logging.WARNING, f"pausing the robot for {self._pause:g} s")
        else:
            self._log_once(result, logging.ERROR, "dropping the message(s); check the robot's settings")
            self._log_undelivered(self._take(count), result.detail)
            if self._notice_in_flight:
                self._overflow = 0
            self.stats.dropped += count


def _warn_undelivered(robot: str, why: str, title: str, text: str) -> None:
    log.warning("not delivered to DingTalk robot %s (%s): %s\n%s", robot, why, title, text)
