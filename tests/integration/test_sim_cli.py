"""``python -m simulator``: ready line, accounts from flags and from a config, clean shutdown."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from simulator.control import SimControl
from simulator.testing import RawOkx

ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(
    r"^okxfleet simulator listening on (http://127\.0\.0\.1:\d+) "
    r"\(seed (\d+), (\d+) accounts, pos-mode (\w+)\)$"
)


@contextmanager
def running(*args: str, cwd: Path) -> Iterator[tuple[re.Match[str], subprocess.Popen[str]]]:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        [sys.executable, "-m", "simulator", "--port", "0", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stderr is not None
            line = proc.stdout.readline().strip()
            match = READY.match(line)
            assert match, (line, proc.stderr.read() if proc.poll() is not None else "")
            yield match, proc
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)


def test_cli_serves_accounts_and_stops_on_sigterm(tmp_path: Path) -> None:
    args = [
        "--seed",
        "3",
        "--account",
        "ka:sa:Pa:500",
        "--pos-mode",
        "long_short",
        "--clock-start",
        "2024-03-15T00:00:00Z",
        "--clock-frozen",
        "--rate-limits",
        "off",
    ]
    with running(*args, cwd=tmp_path) as (ready, proc):
        url = ready.group(1)
        assert ready.groups()[1:] == ("3", "1", "long_short")
        assert requests.get(url + "/api/v5/public/time", timeout=5).json()["data"][0]["ts"] == (
            "1710460800000"
        )
        config = RawOkx(url, "ka", "sa", "Pa").get("/api/v5/account/config").json()["data"][0]
        assert config["posMode"] == "long_short_mode"
        control = SimControl(url)
        assert control.status()["rate_limits"] is False
        assert [a["name"] for a in control.accounts()] == ["account1"]  # never the key
        control.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert proc.stdout is not None
        assert proc.stdout.read() == ""


def test_cli_registers_the_accounts_of_a_config(tmp_path: Path) -> None:
    from config import load_config

    cfg_path = ROOT / "config" / "config.py"
    names = list(load_config(cfg_path, environ={}, env_file=tmp_path / "none.env").accounts)
    with running("--config", str(cfg_path), cwd=tmp_path) as (ready, proc):
        assert int(ready.group(3)) == len(names) > 0
        control = SimControl(ready.group(1))
        assert [a["name"] for a in control.accounts()] == names
        control.close()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0


def test_cli_rejects_bad_flags(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "simulator", "--account", "only-two:parts"],
        cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "KEY:SECRET:PASSPHRASE" in result.stderr
