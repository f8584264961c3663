"""Every OKX error the simulator promises, over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from simulator.clock import iso_ms
from simulator.server import RunningSimulator
from simulator.testing import RawOkx
from tests.integration.conftest import SIM_KEY, SIM_PASSPHRASE, SIM_SECRET

ORDER = {"instId": "BTC-USDT-SWAP", "tdMode": "cross", "side": "buy", "ordType": "market", "sz": "1"}


@pytest.fixture
def raw(sim: RunningSimulator) -> Iterator[RawOkx]:
    sim.control.set_rate_limits(False)
    client = RawOkx(sim.base_url, SIM_KEY, SIM_SECRET, SIM_PASSPHRASE)
    yield client
    client.close()


def s_code(reply: requests.Response) -> tuple[str, str]:
    body: dict[str, Any] = reply.json()
    return body["code"], body["data"][0]["sCode"]


def test_bad_signature_50113(sim: RunningSimulator) -> None:
    wrong = RawOkx(sim.base_url, SIM_KEY, "not-the-secret", SIM_PASSPHRASE)
    reply = wrong.get("/api/v5/account/balance")
    assert reply.status_code == 401
    assert reply.json()["code"] == "50113"


def test_timestamp_skew_50102(raw: RawOkx, sim: RunningSimulator) -> None:
    stale = iso_ms(sim.control.now_ms() - 31_000)
    reply = raw.get("/api/v5/account/balance", ts=stale)
    assert reply.status_code == 401
    assert reply.json()["code"] == "50102"
    assert raw.get("/api/v5/account/balance", ts=iso_ms(sim.control.now_ms() - 5_000)).ok
    sim.control.settings(skew_check=False)
    assert raw.get("/api/v5/account/balance", ts=stale).json()["code"] == "0"


def test_unknown_key_50111_and_missing_headers(sim: RunningSimulator) -> None:
    stranger = RawOkx(sim.base_url, "nobody", SIM_SECRET, SIM_PASSPHRASE)
    assert stranger.get("/api/v5/account/balance").json()["code"] == "50111"
    anonymous = RawOkx(sim.base_url)
    reply = anonymous.get("/api/v5/account/balance", signed=False)
    assert reply.status_code == 401
    assert reply.json() == {"code": "50103", "msg": "Request header OK-ACCESS-KEY can not be empty."}
    no_pass = RawOkx(sim.base_url, SIM_KEY, SIM_SECRET, "")
    assert no_pass.get("/api/v5/account/balance").json()["code"] == "50104"
    bad_pass = RawOkx(sim.base_url, SIM_KEY, SIM_SECRET, "wrong")
    assert bad_pass.get("/api/v5/account/balance").json()["code"] == "50105"


def test_x_simulated_trading_header_is_ignored(raw: RawOkx) -> None:
    for flag in ("0", "1"):
        reply = raw.get("/api/v5/account/balance", headers={"x-simulated-trading": flag})
        assert reply.json()["code"] == "0"


def test_parameter_errors_51000(raw: RawOkx, sim: RunningSimulator) -> None:
    bad_bar = raw.get("/api/v5/market/candles?instId=BTC-USDT-SWAP&bar=1h", signed=False)
    assert bad_bar.status_code == 400
    assert bad_bar.json()["code"] == "51000"
    assert s_code(raw.post("/api/v5/trade/order", {**ORDER, "clOrdId": "bad_id"})) == ("1", "51000")
    sim.control.add_account("hedge-key", "hedge-secret", "HedgePass1", pos_mode="long_short")
    hedge = RawOkx(sim.base_url, "hedge-key", "hedge-secret", "HedgePass1")
    reply = hedge.post("/api/v5/trade/order", ORDER)  # no posSide in long/short mode
    assert s_code(reply) == ("1", "51000")
    assert "posSide" in reply.json()["data"][0]["sMsg"]
    too_many = raw.get("/api/v5/market/history-candles?instId=BTC-USDT-SWAP&limit=101", signed=False)
    assert too_many.json()["code"] == "51000"
    assert (
        raw.get("/api/v5/market/candles?instId=BTC-USDT-SWAP&limit=301", signed=False).json()["code"]
        == "51000"
    )
    assert raw.get("/api/v5/market/candles", signed=False).json()["code"] == "50014"


def test_unknown_instrument_51001(raw: RawOkx) -> None:
    assert raw.get("/api/v5/market/candles?instId=FOO-USDT-SWAP", signed=False).json()["code"] == "51001"
    assert s_code(raw.post("/api/v5/trade/order", {**ORDER, "instId": "FOO-USDT-SWAP"})) == ("1", "51001")


def test_order_rejections(raw: RawOkx) -> None:
    assert s_code(raw.post("/api/v5/trade/order", {**ORDER, "sz": "500"})) == ("1", "51008")
    assert s_code(raw.post("/api/v5/trade/order", {**ORDER, "sz": "1.005"})) == ("1", "51121")
    price = float(
        raw.get("/api/v5/market/ticker?instId=BTC-USDT-SWAP", signed=False).json()["data"][0]["last"]
    )
    resting = {**ORDER, "ordType": "limit", "px": f"{price * 0.5:.1f}", "clOrdId": "dup42"}
    assert s_code(raw.post("/api/v5/trade/order", resting)) == ("0", "0")
    assert s_code(raw.post("/api/v5/trade/order", resting)) == ("1", "51016")


def test_unknown_order_51603_and_cancel_51400(raw: RawOkx) -> None:
    reply = raw.get("/api/v5/trade/order?instId=BTC-USDT-SWAP&ordId=12345")
    assert reply.json() == {"code": "51603", "msg": "Order does not exist", "data": []}
    cancel = raw.post("/api/v5/trade/cancel-order", {"instId": "BTC-USDT-SWAP", "ordId": "1"})
    assert s_code(cancel) == ("1", "51400")
    filled = raw.post("/api/v5/trade/order", ORDER).json()["data"][0]["ordId"]
    cancel = raw.post("/api/v5/trade/cancel-order", {"instId": "BTC-USDT-SWAP", "ordId": filled})
    assert s_code(cancel) == ("1", "51400")  # terminal


def test_batch_partial_success_code_2(raw: RawOkx) -> None:
    good, bad = dict(ORDER), {**ORDER, "sz": "0.001"}
    reply = raw.post("/api/v5/trade/batch-orders", [good, bad]).json()
    assert reply["code"] == "2"
    assert [d["sCode"] for d in reply["data"]] == ["0", "51121"]
    assert raw.post("/api/v5/trade/batch-orders", [bad, bad]).json()["code"] == "1"
    assert raw.post("/api/v5/trade/batch-orders", [good] * 21).json()["code"] == "51111"


def test_rate_limit_50011_is_http_429(sim: RunningSimulator) -> None:
    raw = RawOkx(sim.base_url, SIM_KEY, SIM_SECRET, SIM_PASSPHRASE)
    public = [raw.get("/api/v5/public/time", signed=False) for _ in range(11)]  # 10 / 2 s
    assert [r.status_code for r in public].count(429) >= 1
    limited = next(r for r in public if r.status_code == 429)
    assert limited.json() == {"code": "50011", "msg": "Too Many Requests"}
    private = [raw.get("/api/v5/account/config") for _ in range(6)]  # 5 / 2 s per account
    assert private[-1].status_code == 429
    assert private[-1].json()["code"] == "50011"
    sim.control.set_rate_limits(False)
    assert all(raw.get("/api/v5/public/time", signed=False).ok for _ in range(15))
