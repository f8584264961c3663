"""Live and demo configurations refuse test hooks and plain HTTP; a pasted key is never echoed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from config import load_config
from config.safety import NOT_HOOKS, TEST_HOOKS, looks_like_a_key, real_exchange_problems
from core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "6f1e0b3c-5a5d-4f1b-9d2e-0c1b2a3d4e5f"  # OKX API keys are UUIDs
SECRET = "A1B2C3D4E5F60718293A4B5C6D7E8F90"  # OKX secrets are 32 hex digits (this one is a valid env name)
CREDS = {"OKX_SUB1_API_KEY": "k" * 12, "OKX_SUB1_SECRET": "s" * 12, "OKX_SUB1_PASSPHRASE": "p" * 12}


def config_file(
    tmp_path: Path, *, mode: str, base_url: str | None = None, credentials: str = "OKX_SUB1",
    ws_url: str | None = None,
) -> Path:  # fmt: skip
    url = f", base_url={base_url!r}" if base_url else ""
    url += f", ws_url={ws_url!r}" if ws_url else ""
    path = tmp_path / "fleet_config.py"
    path.write_text(
        textwrap.dedent(f"""
        from config import Account, Exchange, Strategy
        EXCHANGE = Exchange(mode={mode!r}{url})
        DATA_DIR = {str(tmp_path / "data")!r}
        ACCOUNTS = {{
            "sub1": Account(
                credentials={credentials!r},
                interval="1m",
                strategies=[Strategy("ETH-USDT-SWAP", "sma_cross", params={{"fast": 5, "slow": 20}})],
            ),
        }}
        """)
    )
    return path


def problems(path: Path, environ: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path, environ=environ, env_file=path.parent / "none.env")
    return info.value.problems


@pytest.mark.parametrize("mode", ["live", "demo"])
@pytest.mark.parametrize("hook", sorted(TEST_HOOKS))
def test_real_modes_refuse_every_test_hook(tmp_path: Path, mode: str, hook: str) -> None:
    found = "\n".join(problems(config_file(tmp_path, mode=mode), {**CREDS, hook: "after_intent"}))
    assert f"{hook} is set: it is a test hook" in found
    assert f"refused in {mode} mode" in found


def test_the_simulator_accepts_test_hooks(tmp_path: Path) -> None:
    hooks = {name: "1:2:3" for name in TEST_HOOKS}
    cfg = load_config(config_file(tmp_path, mode="simulator"), environ=hooks, env_file=tmp_path / "none.env")
    assert cfg.exchange.mode == "simulator"


@pytest.mark.parametrize("mode", ["live", "demo"])
def test_real_modes_refuse_plain_http(tmp_path: Path, mode: str) -> None:
    path = config_file(tmp_path, mode=mode, base_url="http://www.okx.com")
    found = "\n".join(problems(path, CREDS))
    assert "base_url http://www.okx.com is not https://" in found
    assert "unencrypted" in found
    ok = load_config(
        config_file(tmp_path, mode=mode, base_url="https://aws.okx.com"), environ=CREDS,
        env_file=tmp_path / "none.env",
    )  # fmt: skip
    assert ok.exchange.url == "https://aws.okx.com"


def test_pure_checks() -> None:
    assert real_exchange_problems("simulator", "http://127.0.0.1:8081", {"OKXFLEET_CLOCK": "1:1:1"}) == []
    assert real_exchange_problems("live", "https://www.okx.com", {"OKXFLEET_CLOCK": " "}) == []
    assert len(real_exchange_problems("demo", "HTTP://x", {"OKXFLEET_TRADER_CRASH_AT": "x"})) == 2
    assert looks_like_a_key(API_KEY)
    assert looks_like_a_key(SECRET)
    assert looks_like_a_key("0123456789abcdef")
    assert not looks_like_a_key("OKX_SUB1")
    assert not looks_like_a_key("OKX_MAIN_ACCOUNT_2024")


def test_every_okxfleet_variable_a_process_reads_is_classified() -> None:
    """A new OKXFLEET_* hook must be added to config.safety.TEST_HOOKS (or NOT_HOOKS)."""
    found: set[str] = set()
    for package in ("core", "config", "exchange", "collector", "trader", "strategies", "notify", "gateway"):
        for path in (ROOT / package).rglob("*.py"):
            found |= set(re.findall(r"OKXFLEET_[A-Z0-9_]+", path.read_text(encoding="utf-8")))
    assert {"OKXFLEET_CLOCK", "OKXFLEET_TRADER_CRASH_AT"} <= found
    assert found - set(TEST_HOOKS) - NOT_HOOKS == set()


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OKX_", "OKXFLEET_"))}
    return subprocess.run(
        [sys.executable, *args], env={**clean, "PYTHONPATH": str(ROOT), **env}, cwd=cwd,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_check_says_why_a_live_config_is_refused(tmp_path: Path) -> None:
    path = config_file(tmp_path, mode="live", base_url="http://www.okx.com")
    done = run(
        ["-m", "config", "--check", "--config", str(path)], {**CREDS, "OKXFLEET_CLOCK": "1:2:3"}, tmp_path
    )
    assert done.returncode == 1
    assert "OKXFLEET_CLOCK is set: it is a test hook" in done.stderr
    assert "is not https://" in done.stderr


@pytest.mark.parametrize("pasted", [API_KEY, SECRET], ids=["api-key", "secret"])
def test_a_key_pasted_into_credentials_is_never_echoed(tmp_path: Path, pasted: str) -> None:
    path = config_file(tmp_path, mode="live", credentials=pasted)
    checked = run(["-m", "config", "--check", "--config", str(path)], {}, tmp_path)
    trader = run(["-m", "trader", "sub1", "--once", "--config", str(path)], {}, tmp_path)
    assert checked.returncode == 1
    assert trader.returncode == 2
    assert "credentials" in checked.stderr
    assert "not shown: it may be a key" in checked.stderr
    assert "not shown: it may be a key" in trader.stderr
    logs = [p.read_text(errors="replace") for p in (tmp_path / "data").rglob("*.log")]
    for text in (checked.stdout, checked.stderr, trader.stdout, trader.stderr, *logs):
        assert pasted not in text
        assert pasted[:12] not in text


@pytest.mark.parametrize(
    ("field", "pasted"),
    [
        ("webhook_env", "https://oapi.dingtalk.com/robot/send?access_token=0f0e0d0c0b0a09080706050403020100"),
        ("webhook_env", "0F0E0D0C0B0A09080706050403020100AABB"),
        ("secret_env", "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"),
    ],
)
def test_a_webhook_or_secret_pasted_into_a_dingtalk_env_name_is_never_echoed(
    tmp_path: Path, field: str, pasted: str
) -> None:
    path = config_file(tmp_path, mode="simulator")
    path.write_text(
        path.read_text().replace("from config import", "from config import DingTalk, Notify,")
        + f"NOTIFY = Notify(dingtalk=DingTalk({field}={pasted!r}))\n"
    )
    found = "\n".join(problems(path, {}))
    assert f"{field}: must be the name of an environment variable" in found
    assert pasted not in found
    assert pasted[-16:] not in found
