"""The simulator's replies carry the same keys as the real OKX payloads in the shared fixtures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
import requests

from simulator.clock import iso_ms
from simulator.server import RunningSimulator
from tests.integration.conftest import SIM_KEY, SIM_PASSPHRASE, SIM_SECRET

FIXTURES = Path("/work/shared/fixtures/okx")


def fixture(name: str) -> dict[str, Any]:
    path = FIXTURES / name
    if not path.exists():
        pytest.skip("shared fixtures not available")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def keys(name: str) -> set[str]:
    return set(fixture(name)["data"][0])


def call(sim: RunningSimulator, method: str, path: str, body: Any = None) -> dict[str, Any]:
    """A signed request built by hand (independent of both client libraries)."""
    raw = json.dumps(body, separators=(",", ":")) if body is not None else ""
    ts = iso_ms(sim.control.now_ms())
    sign = base64.b64encode(
        hmac.new(SIM_SECRET.encode(), (ts + method + path + raw).encode(), hashlib.sha256).digest()
    ).decode()
    headers = {
        "OK-ACCESS-KEY": SIM_KEY,
        "OK-ACCESS-SIGN": sign,
        "OK-ACCESS-TIMESTAMP": ts,
        "OK-ACCESS-PASSPHRASE": SIM_PASSPHRASE,
        "Content-Type": "application/json",
    }
    resp = requests.request(method, sim.base_url + path, data=raw or None, headers=headers, timeout=10)
    out: dict[str, Any] = resp.json()
    return out


def get(sim: RunningSimulator, path: str) -> dict[str, Any]:
    out: dict[str, Any] = requests.get(sim.base_url + path, timeout=10).json()
    return out


def test_public_payload_keys(sim_module: RunningSimulator) -> None:
    sim = sim_module
    spot = get(sim, "/api/v5/public/instruments?instType=SPOT")["data"]
    swap = get(sim, "/api/v5/public/instruments?instType=SWAP")["data"]
    expected = keys("okx_doc_instruments_spot.json")
    assert all(set(row) == expected for row in spot + swap)
    assert isinstance(spot[0]["instIdCode"], int)
    assert set(get(sim, "/api/v5/market/ticker?instId=BTC-USDT")["data"][0]) == keys(
        "ccxt_static_ticker_btc_usdt.json"
    )
    assert set(get(sim, "/api/v5/market/trades?instId=BTC-USDT&limit=3")["data"][0]) == keys(
        "ccxt_static_trades_btc_usdt.json"
    )
    assert set(get(sim, "/api/v5/public/time")["data"][0]) == keys("okx_doc_public_time.json")
    candle = get(sim, "/api/v5/market/candles?instId=BTC-USDT-SWAP&limit=1")["data"][0]
    assert len(candle) == len(fixture("okx_doc_market_candles.json")["data"][0]) == 9
    assert all(isinstance(v, str) for v in candle)


def test_private_payload_keys(sim: RunningSimulator) -> None:
    placed = call(
        sim,
        "POST",
        "/api/v5/trade/order",
        {
            "instId": "LTC-USDT-SWAP",
            "tdMode": "cross",
            "side": "buy",
            "ordType": "market",
            "sz": "2",
            "clOrdId": "keys1",
        },
    )
    reference = fixture("okx_doc_place_order_response.json")
    assert set(placed) == set(reference)
    assert set(placed["data"][0]) == keys("okx_doc_place_order_response.json")

    batch = call(
        sim,
        "POST",
        "/api/v5/trade/batch-orders",
        [
            {
                "instId": "LTC-USDT",
                "tdMode": "cash",
                "side": "buy",
                "ordType": "market",
                "sz": "0.1",
                "tgtCcy": "base_ccy",
                "clOrdId": "keys2",
                "tag": "t1",
            }
        ],
    )
    assert set(batch) == set(fixture("ccxt_static_batch_orders_response.json"))
    assert keys("ccxt_static_batch_orders_response.json") <= set(batch["data"][0])

    order = call(sim, "GET", "/api/v5/trade/order?instId=LTC-USDT&clOrdId=keys2")["data"][0]
    assert set(order) == keys("ccxt_static_order_ltc_usdt_filled.json")
    assert (order["feeCcy"], order["reduceOnly"], order["posSide"]) == ("LTC", "false", "net")

    position = call(sim, "GET", "/api/v5/account/positions?instId=LTC-USDT-SWAP")["data"][0]
    both = keys("ccxt_static_position_ltc_usdt_swap.json") | keys(
        "ccxt_static_position_btc_usd_swap_inverse.json"
    )
    assert set(position) == both

    config = call(sim, "GET", "/api/v5/account/config")["data"][0]
    reference_config = fixture("okx_doc_account_config.json")["data"][0]
    assert set(config) == set(reference_config)
    assert {k for k, v in config.items() if isinstance(v, bool)} == {
        k for k, v in reference_config.items() if isinstance(v, bool)
    }

    lever = call(
        sim,
        "POST",
        "/api/v5/account/set-leverage",
        {"instId": "BTC-USDT-SWAP", "lever": "7", "mgnMode": "cross"},
    )
    assert set(lever["data"][0]) == keys("okx_doc_set_leverage_response.json")
    info = call(sim, "GET", "/api/v5/account/leverage-info?instId=BTC-USDT-SWAP&mgnMode=cross")
    assert set(info["data"][0]) == keys("okx_doc_leverage_info_response.json")
    assert info["data"][0]["lever"] == "7"


def test_auth_error_has_no_data_like_okx(sim_module: RunningSimulator) -> None:
    path = FIXTURES / "ccxt_src_error_examples.json"
    if not path.exists():
        pytest.skip("shared fixtures not available")
    examples = json.loads(path.read_text())
    reference = next(e["response"] for e in examples if e["response"]["code"] == "50103")
    reply = requests.get(sim_module.base_url + "/api/v5/account/balance", timeout=10)
    assert reply.status_code == 401
    assert set(reply.json()) == set(reference) == {"code", "msg"}
    assert reply.json()["code"] == "50103"
