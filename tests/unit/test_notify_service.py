"""Choosing the robot from the config, the log fallback and the recording notifier."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from config import load_config
from config.schema import FleetConfig
from notify import ProcessStarted, RecordingNotifier, make_notifier
from notify.events import DataAlert
from notify.service import LogNotifier, choose_robot
from notify.worker import DingTalkNotifier
from tests.plugins.notify import write_notify_config

HOOK = "http://127.0.0.1:9/robot/send?access_token=svc0123456789abcdef"
SUB2_HOOK = "http://127.0.0.1:9/robot/send?access_token=sub2fedcba9876543210"
SECRET = "SEC" + "0f1e2d3c" * 8


def _cfg(tmp_path: Path, env: dict[str, str], **kw: object) -> FleetConfig:
    path = write_notify_config(tmp_path, **kw)  # type: ignore[arg-type]
    return load_config(path, environ=env, env_file=tmp_path / "absent.env")


def test_default_robot_from_the_environment(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, {"DINGTALK_WEBHOOK": HOOK, "DINGTALK_SECRET": SECRET})
    choice = choose_robot(cfg, "sub1")
    assert choice.robot is not None
    assert (choice.robot.webhook, choice.robot.secret, choice.robot.keyword) == (HOOK, SECRET, "okxfleet")
    assert "svc0123456789abcdef" not in choice.reason
    assert SECRET not in choice.reason


def test_account_override_wins(tmp_path: Path) -> None:
    env = {"DINGTALK_WEBHOOK": HOOK, "DINGTALK_SUB2_WEBHOOK": SUB2_HOOK}
    cfg = _cfg(tmp_path, env, sub2_robot=True)
    sub1, sub2 = choose_robot(cfg, "sub1").robot, choose_robot(cfg, "sub2").robot
    assert sub1 is not None
    assert sub2 is not None
    assert (sub1.webhook, sub1.label) == (HOOK, "DINGTALK_WEBHOOK")
    assert (sub2.webhook, sub2.label, sub2.secret) == (SUB2_HOOK, "DINGTALK_SUB2_WEBHOOK", None)
    assert choose_robot(cfg).robot == sub1  # a process without an account (the collector)


def test_unset_webhook_means_log_only(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cfg = _cfg(tmp_path, {"DINGTALK_WEBHOOK": "  "})
    with caplog.at_level(logging.INFO, logger="notify"):
        notifier = make_notifier(cfg, process="collector")
        assert isinstance(notifier, LogNotifier)
        notifier.notify(DataAlert("collector", "gap_repaired", "2 bars", "BTC-USDT-SWAP", "1m"))
        notifier.close()
    assert "DINGTALK_WEBHOOK is not set" in caplog.text
    record = next(r for r in caplog.records if "Gap repaired" in r.getMessage())
    assert record.levelno == logging.INFO
    assert "2 bars" in record.getMessage()


def test_unset_account_override_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cfg = _cfg(tmp_path, {"DINGTALK_WEBHOOK": HOOK}, sub2_robot=True)
    with caplog.at_level(logging.INFO, logger="notify"):
        notifier = make_notifier(cfg, process="trader-sub2", account="sub2")
    assert isinstance(notifier, LogNotifier)
    assert any(
        r.levelno == logging.WARNING and "DINGTALK_SUB2_WEBHOOK" in r.getMessage() for r in caplog.records
    )


def test_unknown_account_is_an_error(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, {})
    with pytest.raises(KeyError, match="unknown account"):
        make_notifier(cfg, process="trader-x", account="nope")


def test_webhook_set_gives_a_dingtalk_notifier_with_a_shared_window_file(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, {"DINGTALK_WEBHOOK": HOOK, "DINGTALK_SECRET": SECRET})
    notifier = make_notifier(cfg, process="collector")
    try:
        assert isinstance(notifier, DingTalkNotifier)
        assert list((tmp_path / "data" / "notify").glob("dingtalk-*.json"))
    finally:
        notifier.close(timeout_s=0.1)


def test_recording_notifier() -> None:
    rec = RecordingNotifier()
    rec.notify(ProcessStarted("collector"))
    rec.notify(DataAlert("collector", "stale_data", "x"))
    rec.close()
    assert rec.closed
    assert len(rec.events) == 2
    assert rec.of_type(DataAlert) == [DataAlert("collector", "stale_data", "x")]
