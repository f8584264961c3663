"""Instrument state, account level and synthetic instruments, over HTTP and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from simulator.control import SimControl, SimControlError
from simulator.server import RunningSimulator, start_background
from simulator.testing import RawOkx
from tests.integration.conftest import SIM_ACCOUNT, SIM_KEY, SIM_PASSPHRASE, SIM_SECRET
from tests.integration.test_sim_cli import ROOT, running

T = 1_710_499_032_000
SWAP = "ETH-USDT-SWAP"


@pytest.fixture
def raw(sim: RunningSimulator) -> Iterator[RawOkx]:
    sim.control.set_rate_limits(False)
    sim.control.set_clock(T, mode="frozen")
    client = RawOkx(sim.base_url, SIM_KEY, SIM_SECRET, SIM_PASSPHRASE)
    yield client
    client.close()


def market(raw: RawOkx, inst_id: str = SWAP, side: str = "buy", **extra: str) -> dict[str, Any]:
    td = "cross" if inst_id.endswith("-SWAP") else "cash"
    item = {"instId": inst_id, "tdMode": td, "side": side, "ordType": "market", "sz": "1", **extra}
    body: dict[str, Any] = raw.post("/api/v5/trade/order", item).json()
    return body


def instrument(url: str, inst_id: str) -> dict[str, Any]:
    kind = "SWAP" if inst_id.endswith("-SWAP") else "SPOT"
    reply = requests.get(f"{url}/api/v5/public/instruments?instType={kind}&instId={inst_id}", timeout=5)
    row: dict[str, Any] = reply.json()["data"][0]
    return row


def test_suspended_instrument_is_listed_and_refuses_orders(sim: RunningSimulator, raw: RawOkx) -> None:
    ctl = sim.control
    low = str((ctl.price(SWAP) * Decimal("0.9")).quantize(Decimal("0.01")))
    resting = {"instId": SWAP, "tdMode": "cross", "side": "buy", "ordType": "limit", "sz": "1",
               "px": low, "clOrdId": "rest1"}
    assert raw.post("/api/v5/trade/order", resting).json()["code"] == "0"
    assert ctl.set_instrument_state(SWAP, "suspend") == {"instId": SWAP, "state": "suspend"}
    assert ctl.instrument_state(SWAP) == "suspend"
    assert instrument(sim.base_url, SWAP)["state"] == "suspend"
    assert instrument(sim.base_url, "BTC-USDT-SWAP")["state"] == "live"
    refused = market(raw)
    assert refused["code"] == "1"
    assert refused["data"][0]["sCode"] == "51001"
    assert "suspend" in refused["data"][0]["sMsg"]
    closing = raw.post("/api/v5/trade/close-position", {"instId": SWAP, "mgnMode": "cross"}).json()
    assert closing["code"] == "1"
    cancel = raw.post("/api/v5/trade/cancel-order", {"instId": SWAP, "clOrdId": "rest1"}).json()
    assert cancel["code"] == "0"  # cancelling still works
    with pytest.raises(SimControlError):
        ctl.set_instrument_state(SWAP, "halted")
    ctl.set_instrument_state(SWAP, "live")
    assert market(raw)["code"] == "0"
    ctl.set_instrument_state(SWAP, "preopen")
    ctl.reset()
    assert ctl.instrument_state(SWAP) == "live"


def test_spot_mode_account_refuses_swaps(sim: RunningSimulator, raw: RawOkx) -> None:
    ctl = sim.control
    assert ctl.account_level(SIM_ACCOUNT) == "2"
    assert ctl.set_account_level(SIM_ACCOUNT, 1) == {"account": SIM_ACCOUNT, "acctLv": "1"}
    config = raw.get("/api/v5/account/config").json()["data"][0]
    assert config["acctLv"] == "1"
    refused = market(raw)
    assert (refused["code"], refused["data"][0]["sCode"]) == ("1", "51010")
    assert market(raw, "SOL-USDT", tgtCcy="base_ccy")["code"] == "0"  # spot still trades
    ctl.set_account_level(SIM_ACCOUNT, "2")
    assert market(raw)["code"] == "0"
    with pytest.raises(SimControlError, match="close its positions"):
        ctl.set_account_level(SIM_ACCOUNT, "1")  # a swap position is open
    with pytest.raises(SimControlError):
        ctl.set_account_level(SIM_ACCOUNT, "9")
    with pytest.raises(SimControlError):
        ctl.set_account_level("nobody", "1")
    added = ctl.add_account("k2", "s2", "p2", name="spot2", acct_lv=1)
    assert added["acct_lv"] == "1"
    spot = RawOkx(sim.base_url, "k2", "s2", "p2")
    assert spot.get("/api/v5/account/config").json()["data"][0]["acctLv"] == "1"
    spot.close()


def test_extra_instruments_are_listed_quoted_charted_and_tradable() -> None:
    account = {"key": "k", "secret": "s", "passphrase": "p", "balance": "100000", "name": "b"}
    with start_background(extra_instruments=200, accounts=[account], rate_limits=False,
                          clock_start_ms=T, clock_frozen=True) as sim:
        url = sim.base_url
        swaps = requests.get(url + "/api/v5/public/instruments?instType=SWAP", timeout=5).json()["data"]
        ids = [s["instId"] for s in swaps]
        synthetic = [i for i in ids if i.startswith("S") and i[1:4].isdigit()]
        assert len(ids) == 212
        assert synthetic[0] == "S001-USDT-SWAP"
        assert synthetic[-1] == "S200-USDT-SWAP"
        assert len(set(ids)) == 212
        assert all(i.replace("-USDT-SWAP", "").isalnum() for i in synthetic)
        assert sim.control.status()["instruments"] == 24 + 200
        for row in (r for r in swaps if r["instId"] in synthetic[:20]):
            ct_val, lot, tick = Decimal(row["ctVal"]), Decimal(row["lotSz"]), Decimal(row["tickSz"])
            assert row["state"] == "live"
            assert row["settleCcy"] == "USDT"
            assert row["ctType"] == "linear"
            assert "E" not in row["ctVal"] + row["tickSz"] + row["lotSz"]
            assert row["minSz"] == row["lotSz"]
            assert lot in {Decimal("0.01"), Decimal("0.1"), Decimal(1)}
            assert 20 <= int(row["lever"]) <= 100
            px = sim.control.price(row["instId"])
            assert Decimal(5) <= px * ct_val <= Decimal(200)  # 10-100 USDT a contract, moved a bit
            assert tick * 1000 <= px <= tick * 200_000
        closes = {}
        for inst_id in ("S001-USDT-SWAP", "S002-USDT-SWAP", "S150-USDT-SWAP"):
            candles = requests.get(f"{url}/api/v5/market/candles?instId={inst_id}&bar=1m&limit=5",
                                   timeout=5).json()["data"]
            assert len(candles) == 5
            closes[inst_id] = [c[4] for c in candles]
        assert len({tuple(v) for v in closes.values()}) == 3  # each has its own path
        raw = RawOkx(url, "k", "s", "p")
        try:
            lot = next(r["lotSz"] for r in swaps if r["instId"] == "S150-USDT-SWAP")
            placed = market(raw, "S150-USDT-SWAP", sz=lot)
            assert placed["code"] == "0", placed
            pos = raw.get("/api/v5/account/positions?instId=S150-USDT-SWAP").json()["data"]
            assert pos[0]["pos"] == lot
        finally:
            raw.close()
    again = start_background(extra_instruments=3)
    try:  # the same specs in every run
        row = instrument(again.base_url, "S002-USDT-SWAP")
        assert (row["ctVal"], row["tickSz"]) == (
            next(r["ctVal"] for r in swaps if r["instId"] == "S002-USDT-SWAP"),
            next(r["tickSz"] for r in swaps if r["instId"] == "S002-USDT-SWAP"),
        )
    finally:
        again.stop()


def test_cli_extra_instruments_and_liquidity(tmp_path: Path) -> None:
    args = ["--extra-instruments", "5", "--liquidity", "S003-USDT-SWAP:0.05",
            "--liquidity", "BTC-USDT-SWAP:0.01"]  # fmt: skip
    with running(*args, cwd=tmp_path) as (ready, _proc):
        control = SimControl(ready.group(1))
        try:
            assert control.status()["instruments"] == 29
            liquidity = control.liquidity()
            assert set(liquidity) == {"S003-USDT-SWAP", "BTC-USDT-SWAP"}
        finally:
            control.close()
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}
    for bad in (["--liquidity", "NOPE-USDT-SWAP:1"], ["--liquidity", "BTC-USDT-SWAP"],
                ["--extra-instruments", "1000"]):  # fmt: skip
        result = subprocess.run([sys.executable, "-m", "simulator", *bad], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=30, check=False)
        assert result.returncode == 2, bad
        assert "error:" in result.stderr
