"""Unmodified python-okx against the simulator."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import okx.Account
import okx.MarketData
import okx.PublicData
import okx.Trade
import pytest

from simulator.server import RunningSimulator
from tests.integration.conftest import SIM_KEY, SIM_PASSPHRASE, SIM_SECRET

# python-okx's own warnings: the documented positional call passes use_server_time=False, and its
# POSTs hand httpx a str body. Neither concerns the simulator.
pytestmark = [
    pytest.mark.filterwarnings("ignore:use_server_time parameter is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning"),
]


@pytest.fixture
def clients(sim: RunningSimulator) -> Iterator[list[httpx.Client]]:
    """Collects python-okx API objects (httpx clients) and closes them after the test."""
    made: list[httpx.Client] = []
    yield made
    for client in made:
        client.close()


def test_market_data(sim: RunningSimulator, clients: list[httpx.Client]) -> None:
    market = okx.MarketData.MarketAPI(flag="0", domain=sim.base_url)
    clients.append(market)
    candles = market.get_candlesticks("BTC-USDT-SWAP", bar="1m", limit="300")
    assert candles["code"] == "0"
    assert len(candles["data"]) == 300
    assert candles["data"][0][8] == "0"
    assert candles["data"][1][8] == "1"
    # a day before the oldest minute bar: every day bar older than that has closed, at any time of day
    day_ago = str(int(candles["data"][-1][0]) - 86_400_000)
    history = market.get_history_candlesticks("ETH-USDT-SWAP", bar="1Dutc", limit="100", after=day_ago)
    assert history["code"] == "0"
    assert len(history["data"]) == 100
    assert all(row[8] == "1" for row in history["data"])
    public = okx.PublicData.PublicAPI(flag="0", domain=sim.base_url)
    clients.append(public)
    swaps = public.get_instruments(instType="SWAP")["data"]
    btc = next(i for i in swaps if i["instId"] == "BTC-USDT-SWAP")
    assert (btc["ctVal"], btc["lotSz"], btc["minSz"], btc["tickSz"], btc["lever"]) == (
        "0.01",
        "0.01",
        "0.01",
        "0.1",
        "100",
    )
    spots = public.get_instruments(instType="SPOT")["data"]
    assert {"BTC-USDT", "ETH-USDT"} <= {i["instId"] for i in spots}


def test_account_and_trading(sim: RunningSimulator, clients: list[httpx.Client]) -> None:
    account = okx.Account.AccountAPI(SIM_KEY, SIM_SECRET, SIM_PASSPHRASE, False, "0", domain=sim.base_url)
    trade = okx.Trade.TradeAPI(SIM_KEY, SIM_SECRET, SIM_PASSPHRASE, False, "0", domain=sim.base_url)
    market = okx.MarketData.MarketAPI(flag="0", domain=sim.base_url)
    clients.extend([account, trade, market])
    balance = account.get_account_balance()
    assert balance["code"] == "0"
    assert balance["data"][0]["details"][0]["eq"] == "10000"
    assert account.get_account_config()["data"][0]["posMode"] == "net_mode"
    assert account.set_leverage(lever="3", mgnMode="cross", instId="ETH-USDT-SWAP")["code"] == "0"
    assert account.get_leverage(mgnMode="cross", instId="ETH-USDT-SWAP")["data"][0]["lever"] == "3"

    placed = trade.place_order("ETH-USDT-SWAP", "cross", "buy", "market", "2", clOrdId="pyokx1")
    assert placed["code"] == "0"
    assert placed["data"][0]["sCode"] == "0"
    order = trade.get_order("ETH-USDT-SWAP", clOrdId="pyokx1")["data"][0]
    assert order["state"] == "filled"
    assert order["accFillSz"] == "2"
    assert order["lever"] == "3"
    positions = account.get_positions(instType="SWAP")["data"]
    assert positions[0]["pos"] == "2"
    assert positions[0]["posSide"] == "net"

    last = float(market.get_ticker("ETH-USDT-SWAP")["data"][0]["last"])
    resting = trade.place_order(
        "ETH-USDT-SWAP", "cross", "sell", "limit", "1", px=f"{last * 1.5:.2f}", clOrdId="pyokx2"
    )
    assert resting["data"][0]["sCode"] == "0"
    pending = trade.get_order_list(instType="SWAP")["data"]
    assert [o["clOrdId"] for o in pending] == ["pyokx2"]
    cancel = trade.cancel_order("ETH-USDT-SWAP", clOrdId="pyokx2")
    assert cancel["code"] == "0"
    assert cancel["data"][0]["sCode"] == "0"
    assert trade.get_order_list(instType="SWAP")["data"] == []
    again = trade.cancel_order("ETH-USDT-SWAP", clOrdId="pyokx2")
    assert again["code"] == "1"
    assert again["data"][0]["sCode"] == "51400"
    history = trade.get_orders_history("SWAP")["data"]
    assert {o["clOrdId"] for o in history} == {"pyokx1", "pyokx2"}
