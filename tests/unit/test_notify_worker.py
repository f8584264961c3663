"""The queue worker with a scripted sender and a fake clock: rate, digests, retries, errcodes."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from datetime import UTC, datetime, timedelta

import pytest

from core.clock import FakeClock
from notify.dingtalk import Outcome, Robot, SendResult
from notify.events import DataAlert, ProcessStarted
from notify.ratelimit import SlidingWindowLimiter
from notify.worker import DingTalkNotifier

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
OK = SendResult(Outcome.OK, 0, "ok")
RETRY = SendResult(Outcome.RETRY, None, "network error (ConnectionError)")
BAD_SIGN = SendResult(Outcome.CONFIG, 310000, "errcode 310000: security check failed")
TOO_FAST = SendResult(Outcome.RATE_LIMITED, 130101, "errcode 130101: too fast")


class ScriptedSender:
    """Answers from a script, then ``default``; records (clock time, title, text) of each POST."""

    def __init__(
        self, clock: FakeClock, script: list[SendResult] | None = None, default: SendResult = OK
    ) -> None:
        self.robot = Robot(
            "DINGTALK_WEBHOOK", "http://127.0.0.1:1/robot/send?access_token=t", None, "okxfleet"
        )
        self.clock = clock
        self.script = deque(script or [])
        self.default = default
        self.posts: list[tuple[datetime, str, str]] = []
        self.gate: threading.Event | None = None

    def send_markdown(self, title: str, text: str) -> SendResult:
        if self.gate is not None:
            self.gate.wait(10)
        self.posts.append((self.clock.now(), title, text))
        return self.script.popleft() if self.script else self.default

    def delivered_text(self) -> str:
        return "\n".join(text for _, _, text in self.posts)


def _alert(i: int) -> DataAlert:
    return DataAlert("collector", "marker_late", f"event-{i:03d}", "BTC-USDT-SWAP", "1m")


def _notifier(sender: ScriptedSender, clock: FakeClock, **kw: object) -> DingTalkNotifier:
    limiter = kw.pop("limiter", None) or SlidingWindowLimiter(20, 61.0)
    return DingTalkNotifier(sender, process="collector", limiter=limiter, clock=clock, **kw)  # type: ignore[arg-type]


def _max_in_window(times: list[datetime], window_s: float = 60.0) -> int:
    times = sorted(times)
    return max(
        (
            sum(1 for t in times[i:] if t - start < timedelta(seconds=window_s))
            for i, start in enumerate(times)
        ),
        default=0,
    )


def test_a_burst_of_100_is_digested_within_20_posts_a_minute_and_nothing_is_lost() -> None:
    clock = FakeClock(T0)
    sender = ScriptedSender(clock)
    notifier = _notifier(sender, clock)
    for i in range(100):
        notifier.notify(_alert(i))
        if i % 7 == 0:
            time.sleep(0.002)  # let the worker send some on their own first
    assert notifier.wait_idle(10)
    notifier.close()
    assert _max_in_window([t for t, _, _ in sender.posts]) <= 20
    assert len(sender.posts) < 100
    text = sender.delivered_text()
    assert [text.count(f"event-{i:03d}") for i in range(100)] == [1] * 100
    assert any("Digest" in title for _, title, _ in sender.posts)
    assert notifier.stats.delivered == 100
    assert notifier.stats.dropped == 0


def test_a_steady_stream_over_ten_minutes_stays_under_the_limit() -> None:
    clock = FakeClock(T0)
    sender = ScriptedSender(clock)
    notifier = _notifier(sender, clock)
    for i in range(300):
        notifier.notify(_alert(i))
        clock.advance(2.0)  # one event every 2 s = 30 a minute
        if i % 10 == 0:
            notifier.wait_idle(5)
    assert notifier.wait_idle(10)
    notifier.close()
    assert _max_in_window([t for t, _, _ in sender.posts]) <= 20
    text = sender.delivered_text()
    assert all(text.count(f"event-{i:03d}") == 1 for i in range(300))


def test_network_errors_are_retried_with_backoff_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock(T0)
    sender = ScriptedSender(clock, [RETRY, RETRY, RETRY, RETRY])
    notifier = _notifier(sender, clock, backoff_s=1.0)
    with caplog.at_level(logging.DEBUG, logger="notify"):
        notifier.notify(ProcessStarted("collector"))
        assert notifier.wait_idle(5)
    notifier.close()
    assert len(sender.posts) == 5
    assert notifier.stats.delivered == 1
    backoffs = [s for s in clock.sleeps if s in (1.0, 2.0, 4.0, 8.0)]
    assert backoffs == [1.0, 2.0, 4.0, 8.0]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "ConnectionError" in warnings[0].getMessage()
    assert any("delivering again" in r.getMessage() for r in caplog.records)


def _undelivered(caplog: pytest.LogCaptureFixture) -> str:
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    return "\n".join(line for line in lines if "not delivered" in line)


def test_bad_signature_is_logged_once_and_dropped_messages_reach_the_log_in_full(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(T0)
    sender = ScriptedSender(clock, default=BAD_SIGN)
    notifier = _notifier(sender, clock)
    with caplog.at_level(logging.INFO, logger="notify"):
        for i in range(5):
            notifier.notify(_alert(i))
            assert notifier.wait_idle(5)
    notifier.close()
    assert len(sender.posts) == 5
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "310000" in errors[0].getMessage()
    assert "DINGTALK_WEBHOOK" in errors[0].getMessage()
    assert "access_token" not in caplog.text
    assert notifier.stats.dropped == 5
    assert notifier.stats.delivered == 0
    undelivered = _undelivered(caplog)  # each message still reaches the log, once, in full
    assert [undelivered.count(f"event-{i:03d}") for i in range(5)] == [1] * 5
    assert "security check failed" in undelivered


def test_too_fast_pauses_the_robot_then_delivers() -> None:
    clock = FakeClock(T0)
    sender = ScriptedSender(clock, [TOO_FAST, TOO_FAST])
    notifier = _notifier(sender, clock, pause_s=60.0)
    notifier.notify(ProcessStarted("collector"))
    assert notifier.wait_idle(5)
    notifier.close()
    times = [t for t, _, _ in sender.posts]
    assert len(times) == 3
    assert times[1] - times[0] >= timedelta(seconds=60)
    assert times[2] - times[1] >= timedelta(seconds=120)  # the pause doubles
    assert notifier.stats.delivered == 1


def test_memory_is_bounded_and_the_drop_is_announced_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock(T0)
    sender = ScriptedSender(clock, default=RETRY)
    sender.gate = threading.Event()
    notifier = _notifier(sender, clock, max_pending=5)
    with caplog.at_level(logging.INFO, logger="notify"):
        notifier.notify(_alert(0))
        time.sleep(0.05)  # the worker is now stuck in the first POST
        for i in range(1, 20):
            notifier.notify(_alert(i))
        sender.default = OK
        sender.gate.set()
        assert notifier.wait_idle(5)
    notifier.close()
    assert notifier.stats.dropped + notifier.stats.delivered == 20
    assert notifier.stats.dropped >= 14
    text = sender.delivered_text()
    assert f"{notifier.stats.dropped} older message(s) were dropped" in text
    assert text.count("event-019") == 1  # the newest survive
    logged = _undelivered(caplog)  # the dropped ones still reach the log, in full
    assert all(f"event-{i:03d}" in logged or f"event-{i:03d}" in text for i in range(20))
    assert logged.count("too many messages waiting") == notifier.stats.dropped


def test_notify_never_raises_even_for_an_unformattable_event(caplog: pytest.LogCaptureFixture) -> None:
    class Weird:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    clock = FakeClock(T0)
    sender = ScriptedSender(clock)
    notifier = _notifier(sender, clock)
    with caplog.at_level(logging.ERROR, logger="notify"):
        notifier.notify(Weird())  # type: ignore[arg-type]
        assert notifier.wait_idle(5)
    notifier.close()
    assert "formatting failed" in sender.delivered_text()


def test_close_gives_up_at_its_deadline_and_notify_after_close_only_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(T0)
    sender = ScriptedSender(clock)
    sender.gate = threading.Event()  # the POST hangs
    notifier = _notifier(sender, clock)
    notifier.notify(_alert(1))
    time.sleep(0.05)
    start = time.monotonic()
    with caplog.at_level(logging.INFO, logger="notify"):
        notifier.close(timeout_s=0.2)
        notifier.notify(_alert(2))
    assert time.monotonic() - start < 1.0
    assert "not sent" in caplog.text
    assert "event-002" in caplog.text
    sender.gate.set()


def test_close_flushes_what_is_queued() -> None:
    clock = FakeClock(T0)
    sender = ScriptedSender(clock)
    notifier = _notifier(sender, clock)
    for i in range(50):
        notifier.notify(_alert(i))
    notifier.close(timeout_s=5)
    text = sender.delivered_text()
    assert all(text.count(f"event-{i:03d}") == 1 for i in range(50))


def test_messages_left_at_close_reach_the_log(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock(T0)
    sender = ScriptedSender(clock, default=RETRY)  # DingTalk unreachable until the end
    notifier = _notifier(sender, clock)
    with caplog.at_level(logging.INFO, logger="notify"):
        for i in range(3):
            notifier.notify(_alert(i))
        notifier.close(timeout_s=0.3)
    text = _undelivered(caplog)
    assert [text.count(f"event-{i:03d}") for i in range(3)] == [1, 1, 1]
    assert "closed before delivery" in text


def test_backoff_stays_capped_through_a_long_outage(caplog: pytest.LogCaptureFixture) -> None:
    """2 ** failures used to overflow after ~1,024 failed POSTs (17 h at the 60 s cap): the worker
    then raised on every retry and spun once a second with a traceback each time."""
    clock = FakeClock(T0)
    sender = ScriptedSender(clock, default=RETRY)
    notifier = _notifier(sender, clock, backoff_max_s=60.0)
    with caplog.at_level(logging.INFO, logger="notify"):
        notifier.notify(_alert(0))
        deadline = time.monotonic() + 20
        while len(sender.posts) < 1200 and time.monotonic() < deadline:
            time.sleep(0.01)
        notifier.close(timeout_s=0.2)
    assert len(sender.posts) >= 1200
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert max(clock.sleeps) == 60.0


def test_a_lone_surrogate_in_one_message_neither_stalls_nor_loses_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """UTF-8 cannot encode a lone surrogate (e.g. a file name read with surrogateescape): the worker
    used to fail on the whole batch (lost) or retry the message forever (queue stalled)."""
    clock = FakeClock(T0)
    sender = ScriptedSender(clock)
    sender.gate = threading.Event()
    notifier = _notifier(sender, clock)
    with caplog.at_level(logging.INFO, logger="notify"):
        notifier.notify(_alert(0))
        time.sleep(0.05)  # the worker holds the first POST: the next three arrive as one batch
        notifier.notify(_alert(1))
        notifier.notify(DataAlert("collector", "marker_late", "bad \udc80 name", "BTC-USDT-SWAP", "1m"))
        notifier.notify(_alert(2))
        sender.gate.set()
        assert notifier.wait_idle(5)
    notifier.close()
    text = sender.delivered_text()
    assert [text.count(f"event-{i:03d}") for i in range(3)] == [1, 1, 1]
    assert "bad \\udc80 name" in text
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_markdown_body_escapes_what_utf8_cannot_encode() -> None:
    import json

    from notify.dingtalk import markdown_body

    body = json.loads(markdown_body("t\ud800", "x \udc80 y 中文"))
    assert body["markdown"] == {"title": "t\\ud800", "text": "x \\udc80 y 中文"}
