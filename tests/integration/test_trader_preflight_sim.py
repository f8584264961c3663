"""Preflight against the simulator's account level and instrument state controls.

A Spot-mode account (acctLv 1) asked to trade swaps, or an instrument that is not ``live``, is
refused with a message naming the problem — in-process (:class:`core.errors.ConfigError`) and as
``python -m trader <account> --once``, which must exit 2 (systemd's RestartPreventExitStatus).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from core.clock import CLOCK_ENV
from core.errors import ConfigError
from simulator.server import RunningSimulator
from tests.integration.test_trader_helpers import TraderRig, config_text, register_account

ROOT = Path(__file__).resolve().parents[2]
BTC, ETH, SOL_SPOT = "BTC-USDT-SWAP", "ETH-USDT-SWAP", "SOL-USDT"


def rig(sim: RunningSimulator, tmp_path: Path, insts: dict[str, int]) -> TraderRig:
    name = "pre" + uuid.uuid4().hex[:8]
    return TraderRig(sim, tmp_path / name, account=name, insts=insts)


def test_spot_mode_account_is_refused_for_swaps(sim: RunningSimulator, tmp_path: Path) -> None:
    r = rig(sim, tmp_path, {BTC: 2, SOL_SPOT: 1})
    try:
        sim.control.set_account_level(r.account, "1")
        assert r.client.account_config().acct_lv == "1"
        with pytest.raises(ConfigError) as info:
            r.preflight()
        (problem,) = info.value.problems
        assert f"account {r.account!r} is in Spot mode (acctLv 1)" in problem
        assert BTC in problem
        assert SOL_SPOT not in problem  # spot is fine in Spot mode
        assert sim.control.orders(account=r.account) == []  # nothing was traded or cancelled
    finally:
        r.close()


def test_spot_mode_account_trading_spot_only_passes(sim: RunningSimulator, tmp_path: Path) -> None:
    r = rig(sim, tmp_path, {SOL_SPOT: 1})
    try:
        sim.control.set_account_level(r.account, "1")
        assert r.preflight().config.acct_lv == "1"
    finally:
        r.close()


@pytest.mark.parametrize("state", ["suspend", "preopen"])
def test_instrument_not_live_is_refused(sim: RunningSimulator, tmp_path: Path, state: str) -> None:
    r = rig(sim, tmp_path, {BTC: 2, ETH: 2})
    try:
        sim.control.set_instrument_state(ETH, state)
        with pytest.raises(ConfigError) as info:
            r.preflight()
        expected = f"account {r.account!r}, {ETH}: instrument state is {state!r}, not live"
        assert info.value.problems == [expected]
        sim.control.set_instrument_state(ETH, "live")
        assert r.preflight().config.acct_lv == "2"
    finally:
        r.close()


def _run_trader(
    sim: RunningSimulator, tmp_path: Path, name: str, insts: dict[str, int]
) -> subprocess.CompletedProcess[str]:
    data = tmp_path / "data"
    path = tmp_path / "config.py"
    path.write_text(config_text(sim.base_url, data, name, insts, register_strategy=True), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != CLOCK_ENV}  # the wall clock, like the simulator
    return subprocess.run(
        [sys.executable, "-m", "trader", name, "--once", "--config", str(path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("problem", ["spot_mode", "suspended"])
def test_cli_refusal_exits_2_with_the_reason(sim: RunningSimulator, tmp_path: Path, problem: str) -> None:
    name = "cli" + uuid.uuid4().hex[:8]
    register_account(sim.control, name, balance="1000", pos_mode="net")
    if problem == "spot_mode":
        sim.control.set_account_level(name, "1")
        expected = f"account {name!r} is in Spot mode (acctLv 1) and cannot trade {BTC}"
    else:
        sim.control.set_instrument_state(BTC, "suspend")
        expected = f"{BTC}: instrument state is 'suspend', not live"
    result = _run_trader(sim, tmp_path, name, {BTC: 2})
    assert result.returncode == 2, result.stderr
    assert "preflight refused to start" in result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    log = (tmp_path / "data" / "logs" / f"trader-{name}.log").read_text(encoding="utf-8")
    assert expected in log
    assert sim.control.orders(account=name) == []
