"""Preflight's refusals (pure): account mode vs what the strategies need."""

from __future__ import annotations

import pytest

from config.schema import StrategySettings
from exchange.records import AccountConfig
from trader.preflight import account_problems

SWAP = StrategySettings(inst_id="BTC-USDT-SWAP", name="sma_cross")
SPOT = StrategySettings(inst_id="BTC-USDT", name="sma_cross")


def conf(acct_lv: str, pos_mode: str = "net_mode") -> AccountConfig:
    return AccountConfig(uid="1", main_uid="1", acct_lv=acct_lv, pos_mode=pos_mode, perm="trade", label="x")  # type: ignore[arg-type]


def test_spot_mode_account_cannot_trade_swaps() -> None:
    (problem,) = account_problems("sub1", (SWAP, SPOT), "cross", conf("1"))
    assert "Spot mode (acctLv 1)" in problem
    assert "BTC-USDT-SWAP" in problem
    assert "BTC-USDT," not in problem  # the spot strategy is fine


def test_spot_mode_account_may_trade_spot() -> None:
    assert account_problems("sub1", (SPOT,), "cross", conf("1")) == []


@pytest.mark.parametrize("acct_lv", ["2", "3", "4"])
def test_margin_accounts_trade_swaps(acct_lv: str) -> None:
    assert account_problems("sub1", (SWAP,), "cross", conf(acct_lv, "long_short_mode")) == []


@pytest.mark.parametrize(("acct_lv", "refused"), [("2", False), ("3", True), ("4", True)])
def test_isolated_margin_needs_futures_mode(acct_lv: str, refused: bool) -> None:
    problems = account_problems("sub1", (SWAP,), "isolated", conf(acct_lv))
    assert bool(problems) == refused
    if refused:
        assert "isolated margin" in problems[0]


def test_unknown_position_mode() -> None:
    (problem,) = account_problems("sub1", (SWAP,), "cross", conf("2", "weird"))
    assert "unknown position mode" in problem
