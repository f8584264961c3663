"""The /__sim test-control API through its Python client."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest
import requests

from simulator.control import SimControlError
from simulator.server import RunningSimulator, start_background
from simulator.testing import RawOkx
from tests.integration.conftest import SIM_ACCOUNT, SIM_KEY, SIM_PASSPHRASE, SIM_SECRET


def server_time(sim: RunningSimulator) -> int:
    return int(requests.get(sim.base_url + "/api/v5/public/time", timeout=5).json()["data"][0]["ts"])


def test_clock_set_advance_freeze_run(sim: RunningSimulator) -> None:
    ctl = sim.control
    state = ctl.set_clock(datetime(2024, 1, 1, tzinfo=UTC), mode="frozen")
    assert state["iso"] == "2024-01-01T00:00:00.000Z"
    assert state["mode"] == "frozen"
    assert server_time(sim) == 1_704_067_200_000  # public/time is the simulator clock
    assert ctl.advance(90_000)["now_ms"] == 1_704_067_290_000
    ctl.set_clock("2024-06-01T00:00:00Z")
    assert ctl.now_ms() == 1_717_200_000_000
    running = ctl.run(speed=1000.0)
    assert running["mode"] == "running"
    assert running["speed"] == 1000.0
    assert ctl.now_ms() > 1_717_200_000_000


def test_price_control(sim: RunningSimulator) -> None:
    sim.control.freeze()
    assert sim.control.set_price("XRP-USDT-SWAP", "1.2345")["price"] == "1.2345"
    assert str(sim.control.price("XRP-USDT-SWAP")) == "1.2345"
    with pytest.raises(SimControlError):
        sim.control.set_price("NOPE", "1")


def test_orders_log_and_request_log_hold_no_secrets(sim: RunningSimulator) -> None:
    raw = RawOkx(sim.base_url, SIM_KEY, SIM_SECRET, SIM_PASSPHRASE)
    body = {
        "instId": "BTC-USDT-SWAP",
        "tdMode": "cross",
        "side": "buy",
        "ordType": "market",
        "sz": "1",
        "clOrdId": "log1",
    }
    raw.post("/api/v5/trade/order", body)
    raw.post("/api/v5/trade/order", {**body, "clOrdId": "bad-id"})
    orders = sim.control.orders(account=SIM_ACCOUNT)
    assert [(o["clOrdId"], o["state"]) for o in orders] == [("log1", "filled"), ("bad-id", "rejected")]
    assert orders[0]["request"] == body
    assert orders[0]["response"]["sCode"] == "0"
    assert orders[1]["response"]["sCode"] == "51000"
    log = sim.control.requests(path="/trade/order")
    assert [(r["method"], r["account"], r["status"], r["code"]) for r in log] == [
        ("POST", SIM_ACCOUNT, 200, "0"),
        ("POST", SIM_ACCOUNT, 200, "1"),
    ]
    dump = json.dumps([orders, sim.control.requests(), sim.control.accounts()])
    assert SIM_SECRET not in dump
    assert SIM_PASSPHRASE not in dump
    raw.close()


def test_logs_never_show_secrets(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with start_background(accounts=["K3y0secret:S3cr3tValue:Pa55phrase:100"]) as sim:
        raw = RawOkx(sim.base_url, "K3y0secret", "S3cr3tValue", "Pa55phrase")
        raw.post("/api/v5/trade/order", {"instId": "BTC-USDT-SWAP", "tdMode": "cross",
                                         "side": "buy", "ordType": "market", "sz": "0.01"})
        raw.get("/api/v5/account/balance", ts="2020-01-01T00:00:00.000Z")  # a 50102
        dump = json.dumps([sim.control.requests(), sim.control.orders(), sim.control.accounts(),
                           sim.control.status()])
        raw.close()
    text = caplog.text + dump + repr(list(sim.state.accounts.values()))
    assert "simulator" in caplog.text  # something was logged
    for secret in ("K3y0secret", "S3cr3tValue", "Pa55phrase"):
        assert secret not in text


def test_add_account_and_reset(sim: RunningSimulator) -> None:
    added = sim.control.add_account("k2", "s2", "Pass2", balance="2500", pos_mode="long_short", name="second")
    assert added["pos_mode"] == "long_short_mode"
    assert added["cash"] == {"USDT": "2500"}
    with pytest.raises(SimControlError):
        sim.control.add_account("k2", "s2", "Pass2")  # key taken
    raw = RawOkx(sim.base_url, "k2", "s2", "Pass2")
    assert raw.get("/api/v5/account/config").json()["data"][0]["label"] == "second"
    sim.control.set_price("BTC-USDT-SWAP", "1000")
    sim.control.set_rate_limits(False)
    sim.control.reset()
    assert [a["name"] for a in sim.control.accounts()] == [SIM_ACCOUNT]
    assert raw.get("/api/v5/account/config").json()["code"] == "50111"
    assert sim.control.price("BTC-USDT-SWAP") > 10_000  # override gone
    assert sim.control.status()["rate_limits"] is True
    assert sim.control.orders() == []
    raw.close()


def test_rate_limits_switch(sim: RunningSimulator) -> None:
    assert sim.control.set_rate_limits(False) == {"enabled": False}
    assert all(requests.get(sim.base_url + "/api/v5/public/time", timeout=5).ok for _ in range(15))
    assert sim.control.settings(rate_limits=True)["rate_limits"] is True
    codes = [requests.get(sim.base_url + "/api/v5/public/time", timeout=5).status_code for _ in range(11)]
    assert 429 in codes
