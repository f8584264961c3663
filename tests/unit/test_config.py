"""config.py loading: the example passes, every broken config fails with a message naming the
account, instrument and field, and no secret ever shows in --check output."""

import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from config import load_config, resolve_credentials
from config.__main__ import main as config_main
from config.__main__ import render_plan
from config.credentials import parse_env_file, simulator_credentials
from config.loader import DEFAULT_CONFIG_PATH
from config.plan import history_plan
from core.errors import ConfigError

GOOD = """
from config import Account, Exchange, Strategy, Trader
EXCHANGE = Exchange(mode="{mode}")
ACCOUNTS = {{
    "sub1": Account(
        credentials="OKX_SUB1",
        interval="{interval}",
        strategies=[
            Strategy("ETH-USDT-SWAP", "bollinger", params={{"n": 20, "m": 2}}, leverage={leverage}),
            Strategy("BTC-USDT-SWAP", "sma_cross", params={{"fast": 5, "slow": 20}}, leverage=2),
        ],
    ),
    "sub2": Account(
        credentials="OKX_SUB2",
        interval="1h",
        strategies=[Strategy("SOL-USDT-SWAP", "sma_cross", params={{"fast": 5, "slow": 20}})],
    ),
}}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fleet_config.py"  # not config.py: python -m puts cwd first on sys.path
    path.write_text(textwrap.dedent(text))
    return path


def good(tmp_path: Path, *, mode: str = "simulator", interval: str = "15m", leverage: str = "3") -> Path:
    return write(tmp_path, GOOD.format(mode=mode, interval=interval, leverage=leverage))


def problems(path: Path, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, environ=environ or {}, env_file=path.parent / "none.env")
    return "\n".join(info.value.problems)


def test_example_config_passes_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert config_main(["--check", "--config", str(DEFAULT_CONFIG_PATH)]) == 0
    out = capsys.readouterr().out
    assert "config OK" in out
    assert "base interval: 1m" in out
    assert "sub1" in out
    assert "sub2" in out


def test_good_config_builds_frozen_objects_and_plan(tmp_path: Path) -> None:
    cfg = load_config(good(tmp_path), environ={}, env_file=tmp_path / "none.env")
    assert [str(iv) for iv in cfg.intervals] == ["15m", "1h"]
    assert cfg.base_interval.name == "15m"
    assert cfg.instruments == ["BTC-USDT-SWAP", "ETH-USDT-SWAP", "SOL-USDT-SWAP"]
    with pytest.raises(Exception, match="frozen"):
        cfg.accounts["sub1"].interval = "1m"  # type: ignore[misc]
    plan = history_plan(cfg)
    bars = {str(k): v for k, v in plan.bars_needed.items()}
    assert bars == {"15m": 21, "1h": 21}
    # default history: 1000 bars of every interval (larger ones fetched natively, then derived)
    assert plan.base_bars == 1000
    assert {str(k): v for k, v in plan.spans.items()} == {"15m": timedelta(minutes=15_000),
                                                          "1h": timedelta(hours=1000)}  # fmt: skip


BROKEN = [
    ("unknown interval", {"interval": "7m"}, ["account 'sub1'", "interval", "unknown interval '7m'"]),
    ("unsupported interval", {"interval": "45m"}, ["account 'sub1'", "unknown interval '45m'"]),
    ("leverage zero", {"leverage": "0"}, ["strategy ETH-USDT-SWAP", "leverage must be > 0"]),
    ("leverage above cap", {"leverage": "50"}, ["strategy ETH-USDT-SWAP", "above MAX_LEVERAGE 20"]),
    ("negative leverage", {"leverage": "-1"}, ["leverage must be > 0"]),
]


@pytest.mark.parametrize(("name", "fmt", "expected"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_values(tmp_path: Path, name: str, fmt: dict[str, str], expected: list[str]) -> None:
    text = problems(good(tmp_path, **fmt))
    for fragment in expected:
        assert fragment in text, text


CASES = [
    (
        "malformed instrument id",
        '"ETH-USDT-SWAP", "bollinger"',
        '"eth_usdt", "bollinger"',
        ["account 'sub1', strategy eth_usdt", "malformed instrument id 'eth_usdt'"],
    ),
    (
        "unknown strategy",
        '"BTC-USDT-SWAP", "sma_cross"',
        '"BTC-USDT-SWAP", "sma_crossx"',
        ["strategy BTC-USDT-SWAP", "unknown strategy 'sma_crossx'", "known:"],
    ),
    (
        "bad strategy params",
        '{"n": 20, "m": 2}',
        '{"n": 1, "m": 2}',
        ["strategy ETH-USDT-SWAP", "param 'n'"],
    ),
    (
        "unknown strategy param",
        '{"n": 20, "m": 2}',
        '{"n": 20, "m": 2, "k": 3}',
        ["strategy ETH-USDT-SWAP", "param 'k': unknown parameter"],
    ),
    (
        "duplicate instrument in one account",
        '"BTC-USDT-SWAP", "sma_cross"',
        '"ETH-USDT-SWAP", "sma_cross"',
        ["account 'sub1'", "duplicate instrument ETH-USDT-SWAP"],
    ),
    (
        "unknown key in account (typo)",
        'interval="15m",',
        'interval="15m", intervall="1h",',
        ["account 'sub1'", "unknown key 'intervall'", "did you mean 'interval'"],
    ),
    (
        "unknown key in strategy (typo)",
        "leverage=2),",
        "levrage=2),",
        ["strategy BTC-USDT-SWAP", "unknown key 'levrage'", "did you mean 'leverage'"],
    ),
    (
        "unknown top-level setting",
        'EXCHANGE = Exchange(mode="simulator")',
        'EXCHANGE = Exchange(mode="simulator")\nACOUNTS = {}',
        ["unknown setting ACOUNTS", "did you mean ACCOUNTS"],
    ),
    (
        "bad exchange mode",
        'mode="simulator"',
        'mode="paper"',
        ["EXCHANGE", "mode"],
    ),
    (
        "api key pasted instead of an env var prefix",
        'credentials="OKX_SUB1"',
        'credentials="0a1b2c3d-key"',
        ["account 'sub1'", "credentials", "environment variable prefix"],
    ),
    (
        "two accounts on one key",
        'credentials="OKX_SUB2"',
        'credentials="OKX_SUB1"',
        ["account 'sub2'", "already used by account 'sub1'"],
    ),
    (
        "spot with leverage",
        '"BTC-USDT-SWAP", "sma_cross"',
        '"BTC-USDT", "sma_cross"',
        ["strategy BTC-USDT", "spot is traded in cash mode"],
    ),
    ("python error in config.py", "ACCOUNTS = {", "ACCOUNTS = {1/0: 1,", ["ZeroDivisionError", "config.py:"]),
    ("syntax error", "ACCOUNTS = {", "ACCOUNTS = {{", ["syntax error"]),
]


@pytest.mark.parametrize(("name", "old", "new", "expected"), CASES, ids=[c[0] for c in CASES])
def test_broken_configs_name_the_problem(
    tmp_path: Path, name: str, old: str, new: str, expected: list[str]
) -> None:
    text = GOOD.format(mode="simulator", interval="15m", leverage="3")
    assert old in text
    path = write(tmp_path, text.replace(old, new, 1))
    found = problems(path)
    for fragment in expected:
        assert fragment in found, found


def test_base_interval_must_divide_every_other(tmp_path: Path) -> None:
    text = GOOD.format(mode="simulator", interval="3m", leverage="3").replace(
        'interval="1h"', 'interval="5m"'
    )
    # 3m is the base; 5m is not a multiple of it
    found = problems(write(tmp_path, text))
    assert "account 'sub2'" in found
    assert "interval 5m is not a multiple of the base interval 3m" in found


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = GOOD.format(mode="simulator", interval="7m", leverage="0").replace('"sma_cross"', '"nope"', 1)
    found = problems(write(tmp_path, text))
    assert "unknown interval '7m'" in found
    assert "leverage must be > 0" in found
    assert "unknown strategy 'nope'" in found


def test_live_mode_requires_credentials_naming_the_variables(tmp_path: Path) -> None:
    found = problems(good(tmp_path, mode="live"), environ={"OKX_SUB1_API_KEY": "k" * 12})
    assert "account 'sub1': live mode needs credentials" in found
    assert "OKX_SUB1_SECRET, OKX_SUB1_PASSPHRASE" in found
    assert "account 'sub2'" in found


SECRETS = {
    "OKX_SUB1_API_KEY": "6f1e0b3c-5a5d-4f1b-9d2e-0c1b2a3d4e5f",
    "OKX_SUB1_SECRET": "A1B2C3D4E5F60718293A4B5C6D7E8F90",
    "OKX_SUB1_PASSPHRASE": "Tr0ub4dor&3-horse",
    "OKX_SUB2_API_KEY": "00aa11bb-22cc-33dd-44ee-55ff66aa77bb",
    "OKX_SUB2_SECRET": "FFEEDDCCBBAA99887766554433221100",
    "OKX_SUB2_PASSPHRASE": "correct-battery-staple",
    "DINGTALK_WEBHOOK": "https://oapi.dingtalk.com/robot/send?access_token=abcdef0123456789abcdef0123456789",
    "DINGTALK_SECRET": "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd",
}


def test_credentials_come_from_env_and_dotenv_never_from_config(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# comment\nexport OKX_SUB1_API_KEY='from-dotenv-key'\nOKX_SUB1_SECRET=\"s3cr3t-value\"\n"
        "OKX_SUB1_PASSPHRASE=pass-phrase\n"
    )
    path = good(tmp_path, mode="demo")
    cfg = load_config(path, environ={k: v for k, v in SECRETS.items() if "SUB2" in k}, env_file=env_file)
    creds = resolve_credentials(cfg, "sub1")
    assert creds.api_key == "from-dotenv-key"
    assert creds.secret == "s3cr3t-value"
    assert "s3cr3t" not in repr(creds)
    assert "pass-phrase" not in repr(cfg)
    assert "s3cr3t" not in repr(cfg)


def test_env_file_syntax_error_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / ".env"
    bad.write_text("OK=1\nthis line has no equals\n")
    with pytest.raises(ConfigError, match=r"\.env:2: expected KEY=VALUE"):
        parse_env_file(bad)


def test_simulator_mode_uses_deterministic_dev_credentials(tmp_path: Path) -> None:
    cfg = load_config(good(tmp_path), environ={}, env_file=tmp_path / "none.env")
    assert resolve_credentials(cfg, "sub1") == simulator_credentials("sub1")
    assert simulator_credentials("sub1") != simulator_credentials("sub2")
    assert len(simulator_credentials("sub1").api_key) <= 32


def test_check_output_never_shows_secrets(tmp_path: Path) -> None:
    path = good(tmp_path, mode="live")
    result = subprocess.run(
        [sys.executable, "-m", "config", "--check", "--config", str(path)],
        capture_output=True,
        text=True,
        env={**SECRETS, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path.cwd())},
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "OKX_SUB1_{API_KEY,SECRET,PASSPHRASE} set (values hidden)" in output
    for value in SECRETS.values():
        assert value not in output
    assert "abcdef0123456789abcdef0123456789" not in output


def test_check_reports_every_problem_and_exits_nonzero(tmp_path: Path) -> None:
    path = good(tmp_path, mode="live", interval="7m")
    result = subprocess.run(
        [sys.executable, "-m", "config", "--check", "--config", str(path)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path.cwd())},
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 1
    assert "unknown interval '7m'" in result.stderr
    assert "missing environment variable(s) OKX_SUB2_API_KEY" in result.stderr


def test_render_plan_lists_accounts_and_history(tmp_path: Path) -> None:
    cfg = load_config(good(tmp_path), environ={}, env_file=tmp_path / "none.env")
    plan = render_plan(cfg)
    assert "ETH-USDT-SWAP" in plan
    assert "lookback 21" in plan
    assert "simulator development credentials" in plan
    assert "feed         : websocket at ws://127.0.0.1:8081/ws/v5/business, 1 connection(s)" in plan


def test_render_plan_shows_the_feed_and_its_last_bar(tmp_path: Path) -> None:
    from collector.feed import FeedRound, FeedStatus
    from collector.feed_journal import FeedJournal

    cfg = load_config(good(tmp_path, mode="live"), environ=SECRETS, env_file=tmp_path / "none.env")
    cfg = cfg.model_copy(update={"data_dir": tmp_path / "data"})
    close = datetime(2024, 3, 1, tzinfo=UTC)
    last = FeedRound("websocket", close, 2, 1, 1, 2.31, ("ETH-USDT-SWAP",))
    FeedJournal(cfg.data_dir / "collector").record(FeedStatus("websocket", 1, 1, 2, last=last), close)

    plan = render_plan(cfg)

    assert "wss://ws.okx.com:8443/ws/v5/business, 1 connection(s)" in plan
    assert "1 via push, 1 fell back to REST, ready 2.31s" in plan
    polling = cfg.collector.model_copy(update={"feed": "rest"})
    rest = render_plan(cfg.model_copy(update={"collector": polling}))
    assert "feed         : rest (market/candles polling" in rest


def test_render_plan_shows_the_data_bus_without_its_password(tmp_path: Path) -> None:
    from config.schema import DataBusSettings

    cfg = load_config(good(tmp_path), environ={}, env_file=tmp_path / "none.env")
    assert f"data bus     : files (CSVs and data_ready markers under {cfg.data_dir}" in render_plan(cfg)
    bus = DataBusSettings(
        kind="redis", url="redis://:hunter2pass@10.0.0.5:6379/0", password_env="REDIS_PW", host="box-a"
    )
    plan = render_plan(cfg.model_copy(update={"data_bus": bus}))
    assert "data bus     : redis at redis://:***@10.0.0.5:6379/0 (prefix 'okxfleet'" in plan
    assert "password from $REDIS_PW)" in plan
    assert "leases of 10s, this host named box-a" in plan
    assert "hunter2pass" not in plan


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.py", environ={})
