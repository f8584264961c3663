"""Fault injection: every kind, path scoping, counts, seeding, and the untouched control API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from simulator.server import RunningSimulator, start_background
from simulator.testing import RawOkx
from tests.integration.conftest import SIM_KEY, SIM_PASSPHRASE, SIM_SECRET

TIME = "/api/v5/public/time"
ORDER = {"instId": "BTC-USDT-SWAP", "tdMode": "cross", "side": "buy", "ordType": "market", "sz": "1"}


@pytest.fixture
def raw(sim: RunningSimulator) -> Iterator[RawOkx]:
    sim.control.set_rate_limits(False)
    client = RawOkx(sim.base_url, SIM_KEY, SIM_SECRET, SIM_PASSPHRASE)
    yield client
    client.close()


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("5xx", 503, "50001"),
        ("code_50001", 200, "50001"),
        ("code_50013", 200, "50013"),
        ("rate_limit", 429, "50011"),
    ],
)
def test_error_reply_faults(sim: RunningSimulator, kind: str, status: int, code: str) -> None:
    sim.control.set_faults([{"kind": kind, "rate": 1.0, "path": TIME}])
    reply = requests.get(sim.base_url + TIME, timeout=5)
    assert reply.status_code == status
    assert reply.json()["code"] == code
    ok = requests.get(sim.base_url + "/api/v5/system/status", timeout=5)  # other paths untouched
    assert ok.status_code == 200
    assert ok.json()["code"] == "0"
    assert sim.control.requests(path=TIME)[-1]["fault"] is not None


def test_timeout_holds_the_request(sim: RunningSimulator, raw: RawOkx) -> None:
    sim.control.set_faults([{"kind": "timeout", "path": "/api/v5/trade/*", "hold_ms": 1500}])
    with pytest.raises(requests.exceptions.ReadTimeout):
        raw.post("/api/v5/trade/order", {**ORDER, "clOrdId": "slow1"}, timeout=0.3)
    assert sim.control.orders() == []  # never processed


def test_drop_closes_without_processing(sim: RunningSimulator, raw: RawOkx) -> None:
    sim.control.set_faults([{"kind": "drop", "path": "/api/v5/trade/order", "count": 1}])
    with pytest.raises(requests.exceptions.ConnectionError):
        raw.post("/api/v5/trade/order", {**ORDER, "clOrdId": "drop1"})
    assert sim.control.orders() == []
    reply = raw.post("/api/v5/trade/order", {**ORDER, "clOrdId": "drop1"})  # count exhausted
    assert reply.json()["data"][0]["sCode"] == "0"


def test_lost_response_applies_the_order(sim: RunningSimulator, raw: RawOkx) -> None:
    sim.control.set_faults([{"kind": "lost_response", "path": "/api/v5/trade/order", "method": "POST"}])
    with pytest.raises(requests.exceptions.ConnectionError):
        raw.post("/api/v5/trade/order", {**ORDER, "clOrdId": "lost1"})
    [record] = sim.control.orders(cl_ord_id="lost1")
    assert record["state"] == "filled"
    assert record["response"]["sCode"] == "0"
    found = raw.get("/api/v5/trade/order?instId=BTC-USDT-SWAP&clOrdId=lost1").json()
    assert found["data"][0]["state"] == "filled"  # the client can ask about its clOrdId


def test_latency_is_added_per_request(sim: RunningSimulator) -> None:
    sim.control.set_latency(60)
    requests.get(sim.base_url + TIME, timeout=5)
    assert sim.control.requests(path=TIME)[-1]["duration_ms"] >= 60
    sim.control.set_faults([{"kind": "latency", "hold_ms": 40, "path": "/api/v5/system/*"}], latency_ms=0)
    requests.get(sim.base_url + "/api/v5/system/status", timeout=5)
    assert sim.control.requests(path="system")[-1]["duration_ms"] >= 40


def test_control_api_is_never_faulted(sim: RunningSimulator) -> None:
    sim.control.set_faults([{"kind": "drop", "path": "*"}], latency_ms=0)
    assert sim.control.clock()["mode"] == "running"
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(sim.base_url + TIME, timeout=5)
    sim.control.clear_faults()
    assert requests.get(sim.base_url + TIME, timeout=5).ok


def test_random_faults_are_seeded() -> None:
    codes = []
    for _ in range(2):
        with start_background(
            seed=11, fault_rate=0.5, rate_limits=False, fault_kinds=("code_50001", "code_50013")
        ) as sim:
            session = requests.Session()
            codes.append([session.get(sim.base_url + TIME, timeout=5).json()["code"] for _ in range(30)])
    assert codes[0] == codes[1]
    assert {"0", "50001", "50013"} == set(codes[0])
