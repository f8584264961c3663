"""Issue #16 configuration: strategy and account weights, risk limits, TREASURY — and ``--check``
reporting each bad value (weights <= 0, band outside 0-1, missing master credentials)."""

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from config import load_config
from config.__main__ import main as config_main
from config.credentials import resolve_master_credentials, simulator_credentials
from core.errors import ConfigError

BASE = """
from config import Account, Exchange, Risk, Strategy, Treasury
EXCHANGE = Exchange(mode="{mode}")
TREASURY = {treasury}
ACCOUNTS = {{
    "sub1": Account(
        credentials="OKX_SUB1", interval="1h", weight={acct_weight}, risk={risk},
        strategies=[
            Strategy("ETH-USDT-SWAP", "sma_cross", params={{"fast": 5, "slow": 20}}, weight={weight}),
            Strategy("BTC-USDT-SWAP", "sma_cross", params={{"fast": 5, "slow": 20}}),
        ],
    ),
    "sub2": Account(credentials="OKX_SUB2", interval="1h", sub_account="okxsub2",
                    strategies=[Strategy("SOL-USDT-SWAP", "sma_cross")]),
}}
"""
TREASURY = 'Treasury(credentials="OKX_MASTER", band={band}, max_transfer=1000, max_per_day=5000)'
SUB_ENV = {f"OKX_SUB{n}_{s}": "x" * 12 for n in (1, 2) for s in ("API_KEY", "SECRET", "PASSPHRASE")}


def write(
    tmp_path: Path,
    *,
    mode: str = "simulator",
    band: str = "0.1",
    weight: str = "2",
    acct_weight: str = "1",
    risk: str = "Risk(max_drawdown=0.2, daily_loss=0.05)",
    treasury: str | None = None,
) -> Path:
    text = BASE.format(
        mode=mode,
        weight=weight,
        acct_weight=acct_weight,
        risk=risk,
        treasury=treasury if treasury is not None else TREASURY.format(band=band),
    )
    path = tmp_path / "fleet_config.py"
    path.write_text(textwrap.dedent(text))
    return path


def check(
    path: Path,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str] | None = None,
    monkeypatch: pytest.MonkeyPatch | None = None,
) -> tuple[int, str]:
    if monkeypatch is not None:
        for k, v in (env or {}).items():
            monkeypatch.setenv(k, v)
    code = config_main(["--check", "--config", str(path), "--env-file", str(path.parent / "none.env")])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_weights_risk_and_treasury_are_loaded(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path), environ={}, env_file=tmp_path / "none.env")
    sub1 = cfg.account("sub1")
    assert [s.weight for s in sub1.strategies] == [Decimal(2), Decimal(1)]
    assert sub1.risk.max_drawdown == Decimal("0.2")
    assert sub1.risk.max_notional is None
    assert cfg.account("sub2").okx_sub_account == "okxsub2"
    assert cfg.account("sub1").okx_sub_account == "sub1"
    assert cfg.treasury is not None
    assert cfg.treasury.band == Decimal("0.1")
    assert cfg.treasury.max_transfer == Decimal(1000)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"weight": "0"}, "strategy ETH-USDT-SWAP: weight: weight must be > 0, got 0"),
        ({"weight": "-1"}, "weight must be > 0, got -1"),
        ({"acct_weight": "0"}, "account 'sub1': weight: weight must be > 0, got 0"),
        ({"band": "0"}, "TREASURY: band: must be between 0 and 1 (exclusive), got 0"),
        ({"band": "1.5"}, "TREASURY: band: must be between 0 and 1 (exclusive), got 1.5"),
        ({"band": "-0.1"}, "TREASURY: band: must be between 0 and 1"),
        ({"risk": "Risk(max_drawdown=1.2)"}, "account 'sub1', risk: max_drawdown: must be between 0 and 1"),
        ({"risk": "Risk(daily_loss=0)"}, "account 'sub1', risk: daily_loss: must be between 0 and 1"),
        ({"risk": "Risk(max_notional=-5)"}, "account 'sub1', risk: max_notional"),
        ({"risk": "Risk(max_drawdwn=0.1)"}, "unknown key 'max_drawdwn' (did you mean 'max_drawdown'?)"),
        (
            {"treasury": 'Treasury(credentials="OKX_SUB1")'},
            "TREASURY: credentials OKX_SUB1 are account 'sub1'",
        ),
        ({"treasury": 'Treasury(credentials="OKX_MASTER", schedule="25:00")'}, "schedule must be HH:MM"),
    ],
)
def test_check_reports_bad_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kwargs: dict[str, str], expected: str
) -> None:
    code, out = check(write(tmp_path, **kwargs), capsys)
    assert code == 1
    assert "config is invalid" in out
    assert expected in out


def test_check_reports_missing_master_credentials(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = check(write(tmp_path, mode="live"), capsys, SUB_ENV, monkeypatch)
    assert code == 1
    assert "TREASURY: live mode needs the master account's credentials" in out
    assert "OKX_MASTER_API_KEY, OKX_MASTER_SECRET, OKX_MASTER_PASSPHRASE" in out


def test_check_passes_with_master_credentials_and_hides_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "MasterSecretValue123"
    env = {
        **SUB_ENV,
        "OKX_MASTER_API_KEY": "masterkey1234",
        "OKX_MASTER_SECRET": secret,
        "OKX_MASTER_PASSPHRASE": "MasterPass9",
    }
    code, out = check(write(tmp_path, mode="live"), capsys, env, monkeypatch)
    assert code == 0, out
    assert "treasury     : master credentials OKX_MASTER_{API_KEY,SECRET,PASSPHRASE} set" in out
    assert "band 10%" in out
    assert "risk limits: max drawdown 0.2, daily loss 0.05" in out
    assert secret not in out
    assert "MasterPass9" not in out


def test_master_credentials_in_simulator_mode_are_development_ones(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path), environ={}, env_file=tmp_path / "none.env")
    assert resolve_master_credentials(cfg) == simulator_credentials("master")
    without = load_config(write(tmp_path, treasury="None"), environ={}, env_file=tmp_path / "none.env")
    with pytest.raises(ConfigError, match="no TREASURY configured"):
        resolve_master_credentials(without)


def test_simulator_registers_the_master_of_a_treasury_config(tmp_path: Path) -> None:
    from simulator.__main__ import parse_args

    options, *_ = parse_args(["--config", str(write(tmp_path)), "--balance", "5000"])
    assert options.master == "master"
    names = [a.name for a in options.accounts]
    assert names == ["sub1", "okxsub2", "master"]  # sub-accounts by their OKX name
    assert options.accounts[-1].key == simulator_credentials("master").api_key
    assert options.accounts[-1].balance == 0


def test_the_fleet_supervisor_runs_the_treasury_of_a_treasury_config(tmp_path: Path) -> None:
    import argparse

    from scripts.fleet import build

    args = argparse.Namespace(
        config=write(tmp_path), speed=1.0, no_restart=True, with_simulator=False, seed=7
    )
    sup, _ = build(args)
    names = [c.name for c in sup.children]
    assert names == ["collector", "trader-sub1", "trader-sub2", "treasury"]
    assert list(sup.children[-1].argv[-3:]) == ["treasury", "--config", str(tmp_path / "fleet_config.py")]
    without, _ = build(argparse.Namespace(**{**vars(args), "config": write(tmp_path, treasury="None")}))
    assert "treasury" not in [c.name for c in without.children]


@pytest.mark.parametrize(
    "pasted",
    ["a1b2c3d4-1111-2222-3333-444455556666", "A1B2C3D4E5F60718293A4B5C6D7E8F90"],
    ids=["api-key", "secret"],
)
def test_a_key_pasted_into_treasury_credentials_is_never_echoed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pasted: str
) -> None:
    code, out = check(write(tmp_path, mode="live", treasury=f'Treasury(credentials="{pasted}")'), capsys)
    assert code == 1
    assert "TREASURY" in out
    assert "credentials" in out
    assert "not shown: it may be a key" in out
    assert pasted not in out
    assert pasted[:8] not in out
