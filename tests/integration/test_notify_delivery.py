"""Notifiers against the fake DingTalk on loopback: signing, keyword, rate, digests, outages."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest

from config import load_config
from config.schema import FleetConfig
from core.clock import SystemClock
from notify import BarReport, DataAlert, OrderLine, PositionLine, ProcessStarted, make_notifier
from notify.dingtalk import DingTalkClient, Robot
from notify.ratelimit import SlidingWindowLimiter
from notify.worker import DingTalkNotifier
from tests.fakes.dingtalk import FakeDingTalk
from tests.plugins.notify import DINGTALK_SECRET, dingtalk_env, write_notify_config


def _cfg(tmp_path: Path, env: dict[str, str], **kw: object) -> FleetConfig:
    path = write_notify_config(tmp_path, **kw)  # type: ignore[arg-type]
    return load_config(path, environ=env, env_file=tmp_path / "absent.env")


def _alert(i: int) -> DataAlert:
    return DataAlert("collector", "instrument_failed", f"event-{i:03d}", "BTC-USDT-SWAP", "1m")


def _direct(fake: FakeDingTalk, keyword: str | None = "okxfleet", **kw: object) -> DingTalkNotifier:
    robot = Robot.from_env_value("DINGTALK_WEBHOOK", fake.webhook_url, fake.secret, keyword)
    limiter = kw.pop("limiter", None) or SlidingWindowLimiter(20, 61.0)
    return DingTalkNotifier(
        DingTalkClient(robot, timeout=(1.0, 2.0)),
        process="collector",
        limiter=limiter,
        **kw,  # type: ignore[arg-type]
    )


REPORT = BarReport(
    account="sub1",
    bar_close=datetime(2024, 5, 1, 8, 30, tzinfo=UTC),
    equity=D("10234.56"),
    orders=(OrderLine("BTC-USDT-SWAP", "buy", "long", D("2"), D("2"), D("65012.3"), "filled", "s1abc"),),
    positions=(PositionLine("BTC-USDT-SWAP", "long", D("2"), D("65012.3"), D("4.2")),),
    signals=(("BTC-USDT-SWAP", 1),),
)


def test_signed_delivery_with_keyword(dingtalk: FakeDingTalk, tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, dingtalk_env(dingtalk))
    notifier = make_notifier(cfg, process="trader-sub1", account="sub1")
    notifier.notify(REPORT)
    notifier.close(timeout_s=5)
    assert dingtalk.errcodes() == [0]
    (message,) = dingtalk.messages
    assert message["msgtype"] == "markdown"
    assert message["title"].startswith("[okxfleet] sub1")
    for needle in ("okxfleet", "订单信息", "持仓信息", "10234.56", "BTC-USDT-SWAP", "65012.3"):
        assert needle in message["text"]


def test_unsigned_robot_without_keyword(tmp_path: Path) -> None:
    with FakeDingTalk() as fake:
        cfg = _cfg(tmp_path, {"DINGTALK_WEBHOOK": fake.webhook_url}, keyword=None)
        notifier = make_notifier(cfg, process="collector")
        notifier.notify(ProcessStarted("collector", "2 instruments"))
        notifier.close(timeout_s=5)
        assert fake.errcodes() == [0]
        assert fake.messages[0]["text"].startswith("#### collector started")


def test_account_robot_override(dingtalk: FakeDingTalk, tmp_path: Path) -> None:
    with FakeDingTalk(secret="SEC" + "9" * 64, keyword="okxfleet") as sub2_robot:
        env = dingtalk_env(dingtalk) | dingtalk_env(
            sub2_robot, "DINGTALK_SUB2_WEBHOOK", "DINGTALK_SUB2_SECRET"
        )
        cfg = _cfg(tmp_path, env, sub2_robot=True)
        for account in ("sub1", "sub2"):
            notifier = make_notifier(cfg, process=f"trader-{account}", account=account)
            notifier.notify(ProcessStarted(f"trader-{account}"))
            notifier.close(timeout_s=5)
        assert [m["text"].count("trader-sub1") > 0 for m in dingtalk.messages] == [True]
        assert [m["text"].count("trader-sub2") > 0 for m in sub2_robot.messages] == [True]


def test_keyword_mismatch_is_logged_once_without_secrets(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with FakeDingTalk(secret=DINGTALK_SECRET, keyword="another-word") as fake:
        cfg = _cfg(tmp_path, dingtalk_env(fake))
        notifier = make_notifier(cfg, process="collector")
        assert isinstance(notifier, DingTalkNotifier)
        with caplog.at_level(logging.DEBUG, logger="notify"):
            for i in range(4):
                notifier.notify(_alert(i))
                assert notifier.wait_idle(5)
            notifier.close(timeout_s=1)
        assert fake.errcodes() == [310000] * 4
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1
        assert "310000" in errors[0].getMessage()
        assert fake.token not in caplog.text
        assert DINGTALK_SECRET not in caplog.text


def test_burst_of_100_events_is_at_most_20_posts_a_minute_and_nothing_is_lost(
    dingtalk: FakeDingTalk, tmp_path: Path
) -> None:
    cfg = _cfg(tmp_path, dingtalk_env(dingtalk))
    notifier = make_notifier(cfg, process="collector", linger_s=0.3)
    assert isinstance(notifier, DingTalkNotifier)
    for i in range(100):
        notifier.notify(_alert(i))
        time.sleep(0.001)
    assert notifier.wait_idle(15)
    notifier.close()
    assert 130101 not in dingtalk.errcodes()
    assert dingtalk.max_in_window(60.0) <= 20
    assert [dingtalk.count(f"event-{i:03d}") for i in range(100)] == [1] * 100
    assert any("Digest" in m["title"] for m in dingtalk.messages)


def test_the_window_is_respected_over_time_against_a_strict_robot(tmp_path: Path) -> None:
    # the same rule on a short clock: 5 posts per rolling second, muted at the first excess
    with FakeDingTalk(secret=DINGTALK_SECRET, keyword="okxfleet", max_per_minute=5, window_s=1.0) as fake:
        cfg = _cfg(tmp_path, dingtalk_env(fake), max_per_minute=5)
        notifier = make_notifier(cfg, process="collector", window_s=1.1, linger_s=0.1)
        n = 0
        for _ in range(3):
            for _ in range(20):
                notifier.notify(_alert(n))
                n += 1
                time.sleep(0.002)
            time.sleep(0.4)
        assert isinstance(notifier, DingTalkNotifier)
        assert notifier.wait_idle(15)
        notifier.close()
        assert 130101 not in fake.errcodes()
        assert fake.max_in_window(1.0) <= 5
        assert [fake.count(f"event-{i:03d}") for i in range(n)] == [1] * n


def test_a_hanging_webhook_does_not_slow_the_caller(dingtalk: FakeDingTalk, tmp_path: Path) -> None:
    dingtalk.fail_mode, dingtalk.slow_s = "slow", 10.0
    cfg = _cfg(tmp_path, dingtalk_env(dingtalk))
    notifier = make_notifier(cfg, process="trader-sub1", account="sub1")
    clock = SystemClock()

    def trading_cycle(with_notify: bool) -> float:
        start = time.perf_counter()
        for i in range(1000):
            sum(range(200))  # a little work per iteration
            if with_notify:
                notifier.notify(REPORT if i % 10 else _alert(i))
            clock.now()
        return time.perf_counter() - start

    baseline = trading_cycle(False)
    with_notify = trading_cycle(True)
    assert with_notify < baseline + 0.5  # 1000 notify() calls add well under a millisecond each
    start = time.perf_counter()
    notifier.close(timeout_s=0.3)
    assert time.perf_counter() - start < 1.5


def test_down_webhook_is_retried_then_recovers(
    dingtalk: FakeDingTalk, caplog: pytest.LogCaptureFixture
) -> None:
    dingtalk.fail_mode = "down"
    notifier = _direct(dingtalk, backoff_s=0.05, backoff_max_s=0.2)
    with caplog.at_level(logging.DEBUG, logger="notify"):
        for i in range(5):
            notifier.notify(_alert(i))
        time.sleep(0.5)
        assert dingtalk.messages == []
        dingtalk.fail_mode = "500"
        time.sleep(0.3)
        dingtalk.fail_mode = None
        assert notifier.wait_idle(10)
        notifier.close()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert 1 <= len(warnings) <= 2  # once for "connection closed", once for HTTP 500 at most
    assert any("delivering again" in r.getMessage() for r in caplog.records)
    assert [dingtalk.count(f"event-{i:03d}") for i in range(5)] == [1] * 5
    assert dingtalk.token not in caplog.text


def test_too_fast_answer_pauses_and_loses_nothing(caplog: pytest.LogCaptureFixture) -> None:
    # another process already used the robot's budget: DingTalk answers 130101
    with FakeDingTalk(
        secret=DINGTALK_SECRET, keyword="okxfleet", max_per_minute=3, window_s=0.5, mute_s=0
    ) as fake:
        notifier = _direct(fake, pause_s=0.3, pause_max_s=0.6, linger_s=0.05)
        with caplog.at_level(logging.WARNING, logger="notify"):
            for i in range(30):
                notifier.notify(_alert(i))
                time.sleep(0.003)
            assert notifier.wait_idle(15)
            notifier.close()
        assert 130101 in fake.errcodes()
        assert [fake.count(f"event-{i:03d}") for i in range(30)] == [1] * 30
        assert len([r for r in caplog.records if "130101" in r.getMessage()]) == 1
