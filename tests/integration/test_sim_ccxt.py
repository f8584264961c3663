"""Unmodified ccxt against the simulator."""

from __future__ import annotations

import ccxt
import pytest

from simulator.server import RunningSimulator
from tests.integration.conftest import SIM_KEY, SIM_PASSPHRASE, SIM_SECRET


def _okx(sim: RunningSimulator, **options: object) -> ccxt.okx:
    ex = ccxt.okx({"apiKey": SIM_KEY, "secret": SIM_SECRET, "password": SIM_PASSPHRASE, "options": options})
    ex.urls["api"]["rest"] = sim.base_url
    return ex


@pytest.fixture
def ex(sim: RunningSimulator) -> ccxt.okx:
    sim.control.set_rate_limits(False)
    ex = _okx(sim, fetchMarkets={"types": ["spot", "swap"]})
    ex.load_markets()
    return ex


def test_load_markets_maps_contract_specs(ex: ccxt.okx) -> None:
    btc = ex.market("BTC/USDT:USDT")
    assert btc["id"] == "BTC-USDT-SWAP"
    assert btc["linear"]
    assert btc["active"]
    assert (btc["contractSize"], btc["precision"]["amount"], btc["precision"]["price"]) == (0.01, 0.01, 0.1)
    assert btc["limits"]["leverage"]["max"] == 100
    assert ex.market("DOGE/USDT:USDT")["contractSize"] == 1000
    assert ex.market("BTC/USDT")["spot"]
    swaps = [m for m in ex.markets.values() if m["swap"]]
    assert len(swaps) >= 8
    assert len(ex.markets) == 2 * len(swaps)


def test_load_markets_with_default_types(sim: RunningSimulator) -> None:
    sim.control.set_rate_limits(False)
    ex = _okx(sim)
    ex.load_markets()  # asset/currencies (signed), SPOT, FUTURES, SWAP, OPTION x2
    paths = [r["path"] for r in sim.control.requests()]
    assert "/api/v5/asset/currencies" in paths
    assert "/api/v5/public/instruments?instType=OPTION&uly=BTC-USD" in paths
    assert "/api/v5/public/instruments?instType=FUTURES" in paths
    assert "ETH/USDT:USDT" in ex.markets
    assert "USDT" in ex.currencies


def test_fetch_ohlcv_recent_and_history(ex: ccxt.okx) -> None:
    recent = ex.fetch_ohlcv("BTC/USDT:USDT", "1m", limit=5)
    assert len(recent) == 5
    assert recent[0][0] < recent[-1][0]
    now = ex.milliseconds()
    old = ex.fetch_ohlcv("ETH/USDT:USDT", "1d", since=now - 800 * 86_400_000, limit=5)
    assert len(old) == 5
    assert all(row[0] % 86_400_000 == 0 for row in old)  # ccxt asks for 1Dutc
    assert old[1][0] - old[0][0] == 86_400_000


def test_orders_positions_balance_leverage(ex: ccxt.okx, sim: RunningSimulator) -> None:
    assert ex.fetch_balance()["USDT"]["total"] == 10000
    assert ex.set_leverage(5, "BTC/USDT:USDT")["data"][0]["lever"] == "5"
    order = ex.create_order("BTC/USDT:USDT", "market", "buy", 2)  # batch-orders route
    assert sim.control.requests(path="batch-orders")[-1]["code"] == "0"
    fetched = ex.fetch_order(order["id"], "BTC/USDT:USDT")
    assert fetched["status"] == "closed"
    assert fetched["filled"] == 2
    positions = ex.fetch_positions(["BTC/USDT:USDT"])
    assert len(positions) == 1
    assert positions[0]["contracts"] == 2
    assert positions[0]["side"] == "long"
    assert positions[0]["leverage"] == 5

    ex.options["createOrder"] = "privatePostTradeOrder"
    price = ex.fetch_ticker("ETH/USDT:USDT")["last"]
    limit = ex.create_order(
        "ETH/USDT:USDT", "limit", "buy", 1, round(price * 0.8, 2), params={"clientOrderId": "ccxtLimit1"}
    )
    assert sim.control.requests(path="/trade/order")[-1]["code"] == "0"
    assert ex.fetch_order(limit["id"], "ETH/USDT:USDT")["status"] == "open"
    by_client = ex.fetch_order(None, "ETH/USDT:USDT", params={"clientOrderId": "ccxtLimit1"})
    assert by_client["id"] == limit["id"]
    assert ex.fetch_open_orders("ETH/USDT:USDT")[0]["id"] == limit["id"]
    ex.cancel_order(limit["id"], "ETH/USDT:USDT")
    assert ex.fetch_order(limit["id"], "ETH/USDT:USDT")["status"] == "canceled"
    balance = ex.fetch_balance()
    assert balance["USDT"]["total"] < 10000  # fees paid, upl moves


def test_errors_map_to_ccxt_exceptions(ex: ccxt.okx) -> None:
    with pytest.raises(ccxt.InvalidOrder):  # 51121 (create_order would round to the lot)
        ex.private_post_trade_order(
            {"instId": "BTC-USDT-SWAP", "tdMode": "cross", "side": "buy", "ordType": "market", "sz": "0.015"}
        )
    with pytest.raises(ccxt.InsufficientFunds):
        ex.create_order("BTC/USDT:USDT", "market", "buy", 1000)  # 51008
    with pytest.raises(ccxt.OrderNotFound):
        ex.fetch_order("123", "BTC/USDT:USDT")  # 51603
    with pytest.raises(ccxt.OrderNotFound):
        ex.cancel_order("123", "BTC/USDT:USDT")  # 51400
