"""The simulator's late execution fault, OKX's ``expTime`` header and absurd sizes (issue 12,
items 2 and 16), seen through the real exchange client."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest

from config.credentials import Credentials
from config.schema import ExchangeSettings
from core.clock import SystemClock
from exchange import AccountClient, make_account_client, make_market_client
from exchange.errors import OrderRejected, UnknownOutcome
from exchange.records import OrderRequest
from exchange.retry import RetryPolicy
from simulator.server import RunningSimulator
from tests.integration.conftest import SIM_KEY, SIM_PASSPHRASE, SIM_SECRET

SWAP = "BTC-USDT-SWAP"


@pytest.fixture
def client(sim_module: RunningSimulator) -> Iterator[AccountClient]:
    sim_module.control.reset()
    sim_module.control.set_rate_limits(False)
    settings = ExchangeSettings(mode="simulator", base_url=sim_module.base_url, timeout_s=0.5)
    c = make_account_client(settings, Credentials(SIM_KEY, SIM_SECRET, SIM_PASSPHRASE), SystemClock())
    c.retry = RetryPolicy(max_attempts=2, base_s=0.05, cap_s=0.1)
    yield c
    c.close()
    sim_module.control.clear_faults()


def market(cl: str, sz: str = "1", exp_s: float | None = None) -> OrderRequest:
    exp = SystemClock().now() + timedelta(seconds=exp_s) if exp_s is not None else None
    return OrderRequest(SWAP, "cross", "buy", "market", Decimal(sz), cl, exp_time=exp)


def wait_for(client: AccountClient, cl: str, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if client.find_order(SWAP, cl) is not None:
            return True
        time.sleep(0.05)
    return False


def test_late_execution_places_the_order_after_the_client_gave_up(
    client: AccountClient, sim_module: RunningSimulator
) -> None:
    sim_module.control.set_faults(
        [{"kind": "late", "path": "/api/v5/trade/order", "method": "POST", "hold_ms": 900}]
    )

    with pytest.raises(UnknownOutcome):
        client.place_order(market("late1"))

    assert client.find_order(SWAP, "late1") is None  # not yet: OKX has not registered it
    assert wait_for(client, "late1", within_s=3.0)  # ... and then it executes
    assert sim_module.control.orders(cl_ord_id="late1")[0]["state"] == "filled"


def test_exp_time_refuses_a_request_that_arrives_late(
    client: AccountClient, sim_module: RunningSimulator
) -> None:
    sim_module.control.set_faults(
        [{"kind": "late", "path": "/api/v5/trade/order", "method": "POST", "hold_ms": 900}]
    )

    with pytest.raises(UnknownOutcome):
        client.place_order(market("late2", exp_s=0.3))

    time.sleep(1.2)
    assert client.find_order(SWAP, "late2") is None  # past its expTime when it reached the engine
    assert sim_module.control.orders(cl_ord_id="late2") == []


def test_exp_time_already_past_is_50036(client: AccountClient, sim_module: RunningSimulator) -> None:
    with pytest.raises(UnknownOutcome) as info:
        client.place_order(market("late3", exp_s=-5))

    assert info.value.code == "50036"
    assert client.find_order(SWAP, "late3") is None


def test_exp_time_in_time_is_placed(client: AccountClient) -> None:
    assert client.place_order(market("late4", exp_s=10)).cl_ord_id == "late4"


@pytest.mark.parametrize("sz", ["1e30", "1000000000000000000"])
def test_absurd_size_is_a_parameter_error_not_a_crash(client: AccountClient, sz: str) -> None:
    with pytest.raises(OrderRejected) as info:
        client.place_order(OrderRequest(SWAP, "cross", "buy", "limit", Decimal(sz), "huge1", px=Decimal(100)))

    assert info.value.code == "51000"
    assert "sz" in info.value.msg


def test_the_market_client_reads_instruments_and_tickers_without_ccxt(client: AccountClient) -> None:
    public = make_market_client(client, SystemClock())
    assert public.instrument(SWAP).inst_id == SWAP
    assert public.ticker(SWAP).last > 0
    code = (
        "import sys, trader.__main__, trader.service, trader.context, exchange, notify.service; "
        "sys.exit('ccxt' in sys.modules or 'requests' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
