"""``python -m notify --test`` as a user runs it: a subprocess, env vars and a temp config."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fakes.dingtalk import FakeDingTalk
from tests.plugins.notify import DINGTALK_SECRET, dingtalk_env, write_notify_config

ROOT = Path(__file__).resolve().parents[2]


def _run(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DINGTALK", "OKXFLEET"))}
    base |= {"PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, "-m", "notify", "--test", "--config", str(tmp_path / "conf" / "config.py"), *args],
        # not the config's own directory: a config.py next to `python -m` would shadow the package
        cwd=tmp_path,  # and no stray .env
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _no_secrets(proc: subprocess.CompletedProcess[str], fake: FakeDingTalk) -> None:
    for stream in (proc.stdout, proc.stderr):
        assert fake.token not in stream
        assert DINGTALK_SECRET not in stream


def test_sends_one_signed_test_message(dingtalk: FakeDingTalk, tmp_path: Path) -> None:
    write_notify_config(tmp_path / "conf")
    proc = _run(tmp_path, dingtalk_env(dingtalk))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sent a test message to robot DINGTALK_WEBHOOK (127.0.0.1:" in proc.stdout
    assert "signed" in proc.stdout
    _no_secrets(proc, dingtalk)
    assert dingtalk.errcodes() == [0]
    assert "okxfleet" in dingtalk.messages[0]["text"]
    assert "python -m notify --test" in dingtalk.messages[0]["text"]
    assert dingtalk.messages[0]["title"] == "[okxfleet] Test message 测试消息"


def test_account_override_and_failures(dingtalk: FakeDingTalk, tmp_path: Path) -> None:
    write_notify_config(tmp_path / "conf", sub2_robot=True)
    with FakeDingTalk(secret=DINGTALK_SECRET, keyword="okxfleet") as sub2_robot:
        env = dingtalk_env(dingtalk) | {
            "DINGTALK_SUB2_WEBHOOK": sub2_robot.webhook_url,
            "DINGTALK_SUB2_SECRET": "SEC" + "1" * 64,  # wrong secret
        }
        proc = _run(tmp_path, env, "--account", "sub2")
        assert proc.returncode == 1
        assert "FAILED" in proc.stdout
        assert "310000" in proc.stdout
        assert "DINGTALK_SUB2_WEBHOOK" in proc.stdout
        _no_secrets(proc, sub2_robot)
        assert "1" * 64 not in proc.stdout
        assert sub2_robot.errcodes() == [310000]
        assert dingtalk.errcodes() == []

        env["DINGTALK_SUB2_SECRET"] = DINGTALK_SECRET
        proc = _run(tmp_path, env, "--account", "sub2")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert len(sub2_robot.messages) == 1
        assert "account sub2" in sub2_robot.messages[0]["text"]


def test_unset_webhook_and_unknown_account(tmp_path: Path) -> None:
    write_notify_config(tmp_path / "conf")
    proc = _run(tmp_path, {})
    assert proc.returncode == 1
    assert "DINGTALK_WEBHOOK is not set" in proc.stdout
    proc = _run(tmp_path, {}, "--account", "nope")
    assert proc.returncode == 2
    assert "unknown account 'nope'" in proc.stdout


def test_dead_webhook_fails_cleanly(tmp_path: Path) -> None:
    write_notify_config(tmp_path / "conf")
    with FakeDingTalk(secret=DINGTALK_SECRET, keyword="okxfleet") as fake:
        fake.fail_mode = "down"
        proc = _run(tmp_path, dingtalk_env(fake))
        assert proc.returncode == 1
        assert "FAILED" in proc.stdout
        assert "network error" in proc.stdout
        _no_secrets(proc, fake)
