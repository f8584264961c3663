"""``python -m gateway`` as a process: ready line, serving, secrets in no output, clean stop on signals."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from gateway.__main__ import parse_args
from simulator.server import RunningSimulator

ROOT = Path(__file__).resolve().parents[2]
AK, SK, PP = "AK_CLI_SENTINEL_3e1f", "SK_CLI_SENTINEL_77c0", "PP_CLI_SENTINEL_b2"


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway", *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def refused(*args: str, env: dict[str, str] | None = None) -> str:
    """Start the gateway expecting it to refuse (exit 2) before serving; return its stderr."""
    proc = start(*args, env=env)
    try:
        out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:  # it started serving instead of refusing
        proc.kill()
        raise
    assert proc.returncode == 2, err
    assert "gateway ready" not in out
    return err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serves_and_stops_cleanly_without_leaking_secrets(
    sim_module: RunningSimulator, tmp_path: Path, sig: signal.Signals
) -> None:
    if not any(a["name"] == "cli" for a in sim_module.control.accounts()):
        sim_module.control.add_account(AK, SK, PP, name="cli")
    proc = start(
        "--port", "0", "--exchange", "simulator", "--base-url", sim_module.base_url,
        "--log-dir", str(tmp_path), "--log-level", "DEBUG",
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline()
        match = re.match(
            r"gateway ready: (http://127\.0\.0\.1:\d+/OKX) \(exchange=simulator base=(\S+)\)", ready
        )
        assert match, ready
        assert match.group(2) == sim_module.base_url
        url = match.group(1)
        envelope = {"access_key": AK, "secret_key": f"{SK},{PP}", "nonce": 1730275031047002000}
        reply = requests.post(url, json={**envelope, "method": "accounts", "params": {}}, timeout=10).json()
        assert "data" in reply
        reply = requests.post(
            url, json={**envelope, "method": "ticker", "params": {"symbol": "BTC_USDT"}}, timeout=10
        )
        assert "data" in reply.json()
        bad = requests.post(url, data=json.dumps(envelope)[:-1] + ", nope}", timeout=10).json()
        assert bad == {"error": "invalid JSON"}
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    log_file = (tmp_path / "gateway.log").read_text(encoding="utf-8")
    assert "gateway.server: accounts - " in log_file
    assert "gateway.server: ticker BTC_USDT " in log_file
    assert "stopped" in log_file
    for secret in (AK, SK, PP):
        assert secret not in ready + out + err + log_file


def test_bad_base_url_exits_with_a_message() -> None:
    proc = start("--exchange", "live", "--base-url", "ftp://nowhere")
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert "base_url must look like http(s)://host[:port]" in err
    assert out == ""


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["--exchange", "live", "--base-url", "http://www.okx.com"], {}, "is not https://"),
        (["--exchange", "demo", "--base-url", "http://127.0.0.1:1"], {}, "is not https://"),
        (["--exchange", "live"], {"OKXFLEET_CLOCK": "1:2:3"}, "OKXFLEET_CLOCK is set: it is a test hook"),
    ],
    ids=["live-http", "demo-http", "live-clock-hook"],
)
def test_real_exchange_modes_refuse_plain_http_and_test_hooks(
    args: list[str], env: dict[str, str], expected: str
) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OKXFLEET_")}
    assert expected in refused("--port", "0", *args, env={**clean, **env})


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--max-clients", "0"], "argument --max-clients: must be 1..100000, got 0"),
        (["--request-timeout", "-1"], "argument --request-timeout: must be > 0 and <= 3600 seconds"),
        (["--workers", "0"], "argument --workers: must be 1..1024, got 0"),
        (["--port", "70000"], "argument --port: must be 0..65535, got 70000"),
    ],
    ids=["max-clients", "request-timeout", "workers", "port"],
)
def test_nonsense_numbers_are_usage_errors(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """They used to crash with a traceback (--max-clients 0) or serve every request a timeout
    (--request-timeout -1)."""
    with pytest.raises(SystemExit) as info:
        parse_args(["--port", "0", "--exchange", "simulator", *args])  # a later --port wins
    assert info.value.code == 2
    assert expected in capsys.readouterr().err
