"""Bad requests and upstream failures: always HTTP 200 ``{"error": "..."}`` with a useful message."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from gateway.server import MAX_BODY, RunningGateway
from simulator.server import RunningSimulator
from tests.integration.test_gateway_support import (
    FmzDocker,
    check_envelope,
    gateway_for,
    register_vector_account,
)

BUY = {"symbol": "BTC_USDT", "type": "buy"}


@pytest.fixture(scope="module")
def gw(sim_module: RunningSimulator) -> Iterator[RunningGateway]:
    register_vector_account(sim_module)
    with gateway_for(sim_module.base_url) as running:
        yield running


@pytest.fixture
def docker(gw: RunningGateway, sim_module: RunningSimulator) -> Iterator[FmzDocker]:
    yield FmzDocker(gw.url)
    sim_module.control.clear_faults()


@pytest.mark.parametrize(
    ("method", "params", "message"),
    [
        ("trade", {**BUY, "price": "abc", "amount": "1"}, "price must be a number"),
        ("trade", {**BUY, "price": "1", "amount": "-1"}, "amount must be > 0"),
        ("trade", {**BUY, "price": "1", "amount": "NaN"}, "amount must be a finite number"),
        ("trade", {**BUY, "price": "1"}, "amount required"),
        ("trade", {**BUY, "type": "hold", "price": "1", "amount": "1"}, "type must be one of"),
        ("trade", {**BUY, "type": "closebuy", "price": "1", "amount": "1"}, "type closebuy is for swaps"),
        ("trade", {**BUY, "price": True, "amount": "1"}, "price must be a string or a number"),
        ("records", {"symbol": "BTC_USDT", "period": "x"}, "period must be a number"),
        ("records", {"symbol": "BTC_USDT", "period": "7"}, "period 7 not supported"),
        ("records", {"symbol": "BTC_USDT"}, "period required"),
        ("records", {"symbol": "BTC_USDT", "period": "60", "limit": "1.5"}, "limit must be an integer"),
        ("depth", {"symbol": "BTC_USDT", "limit": "abc"}, "limit must be a number"),
        ("depth", {"symbol": "BTC_USDT", "limit": "-3"}, "limit must be >= 0"),
        ("ticker", {"symbol": "BTC_USDT.quarter"}, "contract type 'quarter' not supported"),
        ("ticker", {"symbol": ["BTC_USDT"]}, "symbol must be a string or a number"),
        ("order", {"symbol": "BTC_USDT"}, "id required"),
        ("order", {"id": "123"}, "symbol is missing"),
        ("cancel", {"id": "BTC-USDT,1 2"}, "invalid order id"),
        ("historyorders", {"symbol": "BTC_USDT", "since": "yesterday"}, "since must be a number"),
        ("fundings", {"symbol": "BTC_USDT"}, "fundings needs a swap symbol"),
        ("marginlevel", {"symbol": "BTC_USDT.swap", "marginLevel": "0"}, "marginLevel must be >= 1"),
        ("marginlevel", {"symbol": "BTC_USDT", "marginLevel": "3"}, "marginlevel needs a swap symbol"),
    ],
)  # fmt: skip
def test_bad_params(docker: FmzDocker, method: str, params: dict[str, object], message: str) -> None:
    assert message in docker.error(method, params)


@pytest.mark.parametrize(
    ("path", "verb", "message"),
    [
        ("__api_/api/v5/account/balance", "DELETE", "Http-Method DELETE not supported"),
        ("__api_/api/v5/account/balance", "PATCH", "Http-Method must be one of"),
        ("__api_/etc/passwd", "GET", "__api_ path must start with /api/v5/"),
        ("__api_/api/v5/../../x", "GET", "invalid __api_ path"),
    ],
)
def test_bad_passthrough(docker: FmzDocker, path: str, verb: str, message: str) -> None:
    assert message in docker.error(path, {}, http_method=verb)


def test_passthrough_defaults_to_post(docker: FmzDocker, sim_module: RunningSimulator) -> None:
    """Legacy dockers send no ``Http-Method``: POST, as legacy plugins assumed."""
    docker.call(
        "__api_/api/v5/account/set-leverage", {"instId": "ETH-USDT-SWAP", "lever": "3", "mgnMode": "cross"}
    )
    assert sim_module.control.requests(path="set-leverage")[-1]["method"] == "POST"


@pytest.mark.parametrize("verb", ["PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_http_verbs(gw: RunningGateway, verb: str) -> None:
    resp = requests.request(verb, gw.url, data=b"{}", timeout=2)
    assert check_envelope(resp.status_code, resp.json())["error"].startswith(f"{verb} not supported")


def test_head_is_answered(gw: RunningGateway) -> None:
    assert requests.head(gw.url, timeout=2).status_code == 200


def test_oversized_body(docker: FmzDocker) -> None:
    big = b'{"method":"ticker","pad":"' + b"x" * (MAX_BODY + 10) + b'"}'
    assert "too large" in docker.post_raw(big)["error"]
    assert "data" in docker.call("ticker", {"symbol": "BTC_USDT"})


def test_upstream_rejection_carries_okx_code_and_message(docker: FmzDocker) -> None:
    error = docker.error("trade", {**BUY, "price": "100000", "amount": "1000"})
    assert error.startswith("/api/v5/trade/order: OKX 51008: ")
    assert len(error) > len("/api/v5/trade/order: OKX 51008: ")


def test_unknown_account_is_an_okx_auth_error(gw: RunningGateway) -> None:
    error = FmzDocker(gw.url, access_key="nobody-key", secret_key="nobody-secret,nobody-pass").error(
        "accounts", {}
    )
    assert "OKX 50111" in error
    assert "nobody" not in error


def test_upstream_5xx_after_retries(docker: FmzDocker, sim_module: RunningSimulator) -> None:
    sim_module.control.add_fault("http_503", path="/api/v5/market/books")
    error = docker.error("depth", {"symbol": "ETH_USDT"})
    assert "/api/v5/market/books" in error
    assert "50001" in error


def test_upstream_business_error_code(docker: FmzDocker, sim_module: RunningSimulator) -> None:
    sim_module.control.add_fault("code_50013", path="/api/v5/account/positions", count=10)
    assert "OKX 50013" in docker.error("positions", {})


def test_dropped_connection(docker: FmzDocker, sim_module: RunningSimulator) -> None:
    sim_module.control.add_fault("drop", path="/api/v5/trade/orders-pending")
    assert "no reply" in docker.error("orders", {"symbol": "BTC_USDT"})


def test_request_deadline(sim_module: RunningSimulator) -> None:
    """An upstream that never answers: the docker gets a timeout error at the deadline."""
    register_vector_account(sim_module)
    sim_module.control.add_fault("timeout", path="/api/v5/market/ticker", hold_ms=1500, count=1)
    try:
        with gateway_for(sim_module.base_url, request_timeout_s=0.5) as gw:
            started = time.monotonic()
            error = FmzDocker(gw.url).error("ticker", {"symbol": "BTC_USDT"})
            assert time.monotonic() - started < 2.5
            assert error == "timeout: no answer within 0.5s"
            hint = FmzDocker(gw.url).error(
                "trade", {"symbol": "X_USDT", "type": "buy", "price": "1", "amount": "1"}
            )
            assert "OKX" in hint  # a fast upstream answer is not a timeout
    finally:
        sim_module.control.clear_faults()


def test_upstream_timeout(sim_module: RunningSimulator) -> None:
    """The per-call upstream timeout (``--timeout``) ends a hung OKX call with an error."""
    register_vector_account(sim_module)
    sim_module.control.add_fault("timeout", path="/api/v5/trade/order", method="POST", hold_ms=1000, count=1)
    try:
        with gateway_for(sim_module.base_url, timeout_s=0.3) as gw:
            docker = FmzDocker(gw.url)
            docker.data("accounts", {})  # measure server time before the fault
            error = docker.error("trade", {**BUY, "price": "1000", "amount": "0.001"})
            assert "/api/v5/trade/order" in error
            assert "look the order up" in error
    finally:
        sim_module.control.clear_faults()
        time.sleep(1.0)  # let the simulator finish holding the request before it is stopped


def test_lost_order_reply_is_recovered_by_cl_ord_id(docker: FmzDocker, sim_module: RunningSimulator) -> None:
    """OKX placed the order but the reply was lost: the id comes back, nothing is sent twice."""
    before = len(sim_module.control.orders(inst_id="ETH-USDT"))
    sim_module.control.add_fault("lost_response", path="/api/v5/trade/order", method="POST", count=1)
    data = docker.data("trade", {"symbol": "ETH_USDT", "type": "buy", "price": "100", "amount": "0.01"})
    placed = sim_module.control.orders(inst_id="ETH-USDT")
    assert len(placed) == before + 1
    assert data["id"] == "ETH-USDT," + placed[-1]["ordId"]
    assert docker.data("cancel", {"id": data["id"]}) is True


def test_a_request_that_waited_too_long_in_the_queue_is_never_sent(sim_module: RunningSimulator) -> None:
    """One worker busy on a hung call: a queued ``trade`` times out *and* is dropped, never placed late."""
    register_vector_account(sim_module)
    sim_module.control.add_fault("timeout", path="/api/v5/market/ticker", hold_ms=1200, count=1)
    try:
        with gateway_for(sim_module.base_url, workers=1, request_timeout_s=0.6) as gw:
            docker = FmzDocker(gw.url)
            docker.data("accounts", {})  # client built, server time measured
            before = len(sim_module.control.orders(inst_id="LTC-USDT"))
            with ThreadPoolExecutor(2) as pool:
                hung = pool.submit(docker.error, "ticker", {"symbol": "BTC_USDT"})
                time.sleep(0.2)
                queued = pool.submit(
                    FmzDocker(gw.url).error,
                    "trade",
                    {"symbol": "LTC_USDT", "type": "buy", "price": "1", "amount": "1"},
                )
                assert hung.result() == "timeout: no answer within 0.6s"
                assert queued.result() == "timeout: gateway busy for 0.6s; nothing was sent to OKX"
            time.sleep(1.2)  # the hung call ends; the worker is free again
            assert len(sim_module.control.orders(inst_id="LTC-USDT")) == before
            assert "data" in docker.call("ticker", {"symbol": "BTC_USDT"})
    finally:
        sim_module.control.clear_faults()
