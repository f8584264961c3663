"""``python -m monitor`` as the user runs it: ready line, serving, clean SIGTERM, ``--check``."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import requests

from tests.e2e.fleet_harness import wait_for
from tests.integration.monitor_rig import fleet_config

ROOT = Path(__file__).resolve().parents[2]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "OKXFLEET_MONITOR_TOKEN"}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", *args], cwd=ROOT, env=_env(**env),
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_serves_then_stops_on_sigterm(tmp_path: Path) -> None:
    cfg = fleet_config(tmp_path)
    out, err = tmp_path / "monitor.out", tmp_path / "monitor.err"
    with out.open("w") as fout, err.open("w") as ferr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(cfg.source), "--port", "0"],
            cwd=ROOT, env=_env(), stdout=fout, stderr=ferr,
        )  # fmt: skip
    try:
        ready = wait_for("the ready line", lambda: re.search(r"monitor ready: (http://127\.0\.0\.1:\d+/)",
                                                             out.read_text()), 30)  # fmt: skip
        url = ready.group(1)
        assert requests.get(url + "api/fleet", timeout=10).json()["level"] == "bad"  # no marker yet
        with requests.get(url + "api/events", stream=True, timeout=10):  # an open stream...
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0  # ...does not hold up the stop
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in err.read_text()


def test_check_refuses_an_exposed_bind_without_a_token(tmp_path: Path) -> None:
    cfg = fleet_config(tmp_path)
    res = _run(["--config", str(cfg.source), "--host", "192.0.2.10", "--check"])
    assert res.returncode == 2
    assert "exposes the monitor beyond this machine" in res.stderr
    assert "set OKXFLEET_MONITOR_TOKEN" in res.stderr
    assert "loopback only" not in res.stdout  # QA 19: the plan must not call an exposed bind loopback-only
    assert "token: MISSING" in res.stdout
    wildcard = _run(["--config", str(cfg.source), "--host", "0.0.0.0", "--check"])  # noqa: S104
    assert wildcard.returncode == 2
    assert "loopback only" not in wildcard.stdout
    served = _run(["--config", str(cfg.source), "--host", "192.0.2.10", "--port", "0"])
    assert served.returncode == 2
    assert "set OKXFLEET_MONITOR_TOKEN" in served.stderr


def test_check_with_a_token_warns_and_never_prints_it(tmp_path: Path) -> None:
    cfg = fleet_config(tmp_path)
    token = "a-long-enough-monitor-token-42"
    res = _run(["--config", str(cfg.source), "--host", "192.0.2.10", "--check"], OKXFLEET_MONITOR_TOKEN=token)
    assert res.returncode == 0, res.stderr
    assert "token: required" in res.stdout
    assert "accounts:  alpha, beta" in res.stdout
    assert "warning: --host 192.0.2.10 exposes the monitor" in res.stderr
    assert token not in res.stdout + res.stderr
    local = _run(["--config", str(cfg.source), "--check"])
    assert local.returncode == 0
    assert local.stderr == ""
