"""AccountClient over python-okx against a scripted OKX behind ``httpx.MockTransport``.

Deterministic and fast (a fake clock: rate-limit and backoff waits take no time); the same
behaviour is exercised end to end against the simulator in tests/integration.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from config.credentials import Credentials
from config.schema import ExchangeSettings
from core.clock import FakeClock, to_ms
from exchange import make_account_client
from exchange.errors import (
    ExchangeAuthError,
    ExchangeRateLimited,
    ExchangeUnavailable,
    InsufficientFunds,
    OrderNotFound,
    OrderRejected,
    UnknownOutcome,
)
from exchange.private import AccountClient
from exchange.records import OrderAck, OrderRequest
from exchange.signing import sign

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
CREDS = Credentials("unit-key-123456", "unit-secret-abcdef", "UnitPass99")
Script = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def env(data: list[Any] | None = None, code: str = "0", msg: str = "", status: int = 200) -> httpx.Response:
    body: dict[str, Any] = {"code": code, "msg": msg}
    if data is not None:
        body["data"] = data
    return httpx.Response(status, json=body)


def ack(cl: str, s_code: str = "0", ord_id: str = "1") -> dict[str, str]:
    return {"ordId": ord_id if s_code == "0" else "", "clOrdId": cl, "sCode": s_code, "sMsg": "", "ts": "1"}


def order_row(cl: str = "c1", state: str = "live", ord_id: str = "9") -> dict[str, str]:
    return {"instId": "BTC-USDT-SWAP", "instType": "SWAP", "ordId": ord_id, "clOrdId": cl,
            "state": state, "side": "buy", "posSide": "net", "ordType": "limit", "tdMode": "cross",
            "px": "100", "sz": "2", "accFillSz": "0", "avgPx": "", "fee": "0", "feeCcy": "USDT",
            "reduceOnly": "false", "cTime": "1", "uTime": "1"}  # fmt: skip


class FakeOkx:
    """Checks signatures and skew like OKX; answers from a per-(method, path) script."""

    def __init__(self, clock: FakeClock, skew: timedelta = timedelta(0)) -> None:
        self.clock = clock
        self.skew = skew
        self.script: dict[tuple[str, str], list[Script]] = {}
        self.requests: list[httpx.Request] = []

    def on(self, method: str, path: str, *responses: Script) -> None:
        self.script.setdefault((method, "/api/v5/" + path), []).extend(responses)

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        full = "/api/v5/" + path
        return [r for r in self.requests if r.method == method and r.url.path == full]

    def server_now(self) -> datetime:
        return self.clock.now() + self.skew

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        raw_path = request.url.raw_path.decode()
        bare = request.url.path
        if bare == "/api/v5/public/time":
            return env([{"ts": str(to_ms(self.server_now()))}])
        ts = request.headers.get("OK-ACCESS-TIMESTAMP", "")
        sent = datetime.fromisoformat(ts.replace("Z", "+00:00"))
        if abs((sent - self.server_now()).total_seconds()) > 30:
            return env(code="50102", msg="Timestamp request expired", status=401)
        body = request.content.decode()
        if request.headers.get("OK-ACCESS-SIGN") != sign(CREDS.secret, ts, request.method, raw_path, body):
            return env(code="50113", msg="Invalid Sign", status=401)
        queue = self.script.get((request.method, bare))
        if not queue:
            return env([])
        step = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(step, Exception):
            raise step
        return step(request) if callable(step) else step


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def okx(clock: FakeClock) -> FakeOkx:
    return FakeOkx(clock, skew=timedelta(hours=1))


def connect(okx: FakeOkx, clock: FakeClock, mode: str = "live") -> AccountClient:
    settings = ExchangeSettings(mode=mode, base_url="http://okx.test", timeout_s=3)  # type: ignore[arg-type]
    client = make_account_client(settings, CREDS, clock, account="unit")
    for api in client._apis:
        api._transport = httpx.MockTransport(okx)
    return client


@pytest.fixture
def client(okx: FakeOkx, clock: FakeClock) -> AccountClient:
    return connect(okx, clock)


def req(cl: str = "c1", inst: str = "BTC-USDT-SWAP", sz: str = "1") -> OrderRequest:
    return OrderRequest(inst, "cross", "buy", "limit", Decimal(sz), cl, px=Decimal(100))


def timeout(path: str) -> httpx.ReadTimeout:
    return httpx.ReadTimeout("timed out", request=httpx.Request("POST", "http://okx.test" + path))


@pytest.mark.parametrize(("mode", "flag"), [("live", "0"), ("demo", "1"), ("simulator", "0")])
def test_demo_header_follows_the_mode(okx: FakeOkx, clock: FakeClock, mode: str, flag: str) -> None:
    client = connect(okx, clock, mode)
    okx.on("GET", "account/config", env([{"acctLv": "2", "posMode": "net_mode", "uid": "1"}]))

    client.account_config()

    assert {r.headers["x-simulated-trading"] for r in okx.requests} == {flag}


def test_signs_with_the_measured_server_time_offset(okx: FakeOkx, client: AccountClient) -> None:
    okx.on("GET", "account/balance", env([{"totalEq": "100", "details": []}]))

    bal = client.balance()

    assert bal.total_eq == Decimal(100)
    first, signed = okx.requests
    assert first.url.path == "/api/v5/public/time"
    assert "OK-ACCESS-KEY" not in first.headers
    assert signed.headers["OK-ACCESS-KEY"] == CREDS.api_key
    assert signed.headers["OK-ACCESS-PASSPHRASE"] == CREDS.passphrase
    assert signed.headers["OK-ACCESS-TIMESTAMP"].startswith("2026-03-01T09:00:")  # OKX's clock, +1h


def test_clock_jump_gives_50102_then_resync_and_one_resend(okx: FakeOkx, client: AccountClient) -> None:
    okx.on("GET", "account/balance", env([{"totalEq": "1", "details": []}]))
    client.balance()
    okx.skew = timedelta(hours=2)  # OKX's clock (or ours) jumped

    client.balance()

    paths = [r.url.path.rsplit("/", 1)[-1] for r in okx.requests]
    assert paths == ["time", "balance", "balance", "time", "balance"]


def test_place_order_sends_python_okx_body_and_parses_the_ack(okx: FakeOkx, client: AccountClient) -> None:
    okx.on("POST", "trade/order", env([ack("c1", ord_id="777")]))

    result = client.place_order(req("c1", sz="1.50"))

    body = json.loads(okx.calls("POST", "trade/order")[0].content)
    assert body["sz"] == "1.5"
    assert body["clOrdId"] == "c1"
    assert body["px"] == "100"
    assert "posSide" not in body  # only the fields that are set
    assert result == OrderAck("777", "c1", result.ts, "")


def test_place_order_sends_exp_time_in_server_time(
    okx: FakeOkx, client: AccountClient, clock: FakeClock
) -> None:
    okx.on("POST", "trade/order", env([ack("c1")]))
    exp = clock.now() + timedelta(seconds=5)

    client.place_order(replace(req("c1"), exp_time=exp))

    call = okx.calls("POST", "trade/order")[0]
    offset = client.transport.server_time.offset if client.transport.server_time else None
    assert offset is not None
    assert call.headers["expTime"] == str(to_ms(exp + offset))


@pytest.mark.parametrize(
    ("s_code", "error"), [("51008", InsufficientFunds), ("51121", OrderRejected), ("51016", OrderRejected)]
)
def test_place_order_rejections_raise(okx: FakeOkx, client: AccountClient, s_code: str, error: type) -> None:
    okx.on("POST", "trade/order", env([ack("c1", s_code)], code="1"))

    with pytest.raises(error) as info:
        client.place_order(req())

    assert info.value.code == s_code
    assert len(okx.calls("POST", "trade/order")) == 1


@pytest.mark.parametrize(
    "failure",
    [
        timeout("/api/v5/trade/order"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.Response(502, text="<html>Bad Gateway</html>"),
        env(code="50004", msg="Endpoint request timeout"),
    ],
    ids=["read-timeout", "dropped", "502-page", "50004"],
)
def test_place_order_unknown_outcome_is_never_resent(
    okx: FakeOkx, client: AccountClient, failure: Script
) -> None:
    okx.on("POST", "trade/order", failure, env([ack("c1")]))

    with pytest.raises(UnknownOutcome):
        client.place_order(req())

    assert len(okx.calls("POST", "trade/order")) == 1


@pytest.mark.parametrize(
    "failure",
    [
        env(code="50013", msg="busy"),
        httpx.Response(500, json={"code": "50026", "msg": "System error", "data": []}),
        env(code="50011", msg="Too Many Requests", status=429),
        httpx.Response(401, text="<html>WAF</html>"),
        httpx.ConnectError("refused"),
    ],
    ids=["50013", "500-with-50026", "50011", "html-401", "connect-error"],
)
def test_place_order_is_never_resent_on_a_not_processed_code(
    okx: FakeOkx, client: AccountClient, failure: Script
) -> None:
    # OKX rejects a duplicate clOrdId only among pending orders: a resend of a filled first
    # attempt would be a second order. Only a per-order rejection is definite.
    okx.on("POST", "trade/order", failure, env([ack("c1")]))

    with pytest.raises(UnknownOutcome):
        client.place_order(req())

    assert len(okx.calls("POST", "trade/order")) == 1


def test_reads_are_retried_through_temporary_failures(
    okx: FakeOkx, client: AccountClient, clock: FakeClock
) -> None:
    okx.on(
        "GET", "account/positions",
        env(code="50013", msg="busy"),
        httpx.Response(503, text="Service Unavailable"),
        httpx.ReadTimeout("slow"),
        env([{"instId": "BTC-USDT-SWAP", "posSide": "net", "pos": "-2", "mgnMode": "cross"}]),
    )  # fmt: skip

    positions = client.positions("SWAP")

    assert [p.signed_pos for p in positions] == [Decimal(-2)]
    assert len(okx.calls("GET", "account/positions")) == 4
    assert len([s for s in clock.sleeps if s > 0]) >= 3  # backoff waited through the clock


def test_positions_error_raises_instead_of_empty(okx: FakeOkx, client: AccountClient) -> None:
    okx.on("GET", "account/positions", env(code="50013", msg="busy"))

    with pytest.raises(ExchangeUnavailable):
        client.positions()


def test_rate_limited_429_closes_the_bucket_then_retries(
    okx: FakeOkx, client: AccountClient, clock: FakeClock
) -> None:
    okx.on("GET", "account/balance", httpx.Response(429, text="Too Many Requests"), env([{"totalEq": "5"}]))

    assert client.balance().total_eq == Decimal(5)
    assert sum(clock.sleeps) >= 2.0  # waited out a whole window before resending


def test_wrong_secret_is_an_auth_error_that_is_not_retried(okx: FakeOkx, clock: FakeClock) -> None:
    settings = ExchangeSettings(mode="live", base_url="http://okx.test")
    bad = make_account_client(
        settings, Credentials(CREDS.api_key, "wrong-secret-000", CREDS.passphrase), clock
    )
    for api in bad._apis:
        api._transport = httpx.MockTransport(okx)

    with pytest.raises(ExchangeAuthError) as info:
        bad.balance()

    assert info.value.code == "50113"
    assert len(okx.calls("GET", "account/balance")) == 1


def test_get_order_not_found_and_find_order(okx: FakeOkx, client: AccountClient) -> None:
    okx.on("GET", "trade/order", env([{"sCode": "51603", "sMsg": "Order does not exist"}], code="1"), env([]),
           env([order_row("c9", "filled")]))  # fmt: skip

    with pytest.raises(OrderNotFound):
        client.get_order("BTC-USDT-SWAP", cl_ord_id="c9")
    assert client.find_order("BTC-USDT-SWAP", "c9") is None
    found = client.find_order("BTC-USDT-SWAP", "c9")

    assert found is not None
    assert found.state == "filled"
    assert "clOrdId=c9" in str(okx.calls("GET", "trade/order")[-1].url)


def test_place_orders_chunks_aligns_and_isolates_failures(okx: FakeOkx, client: AccountClient) -> None:
    def batch(request: httpx.Request) -> httpx.Response:
        items = json.loads(request.content)
        rows = [ack(i["clOrdId"], "51008" if i["clOrdId"] == "o3" else "0") for i in items]
        return env(rows, code="2" if any(r["sCode"] != "0" for r in rows) else "0")

    okx.on("POST", "trade/batch-orders", batch, timeout("/api/v5/trade/batch-orders"), batch)
    reqs = [req(f"o{i}") for i in range(45)] + [req("bad-id")]

    results = client.place_orders(reqs)

    sizes = [len(json.loads(r.content)) for r in okx.calls("POST", "trade/batch-orders")]
    assert sizes == [20, 20, 5]  # the invalid id never leaves the process
    assert len(results) == 46
    assert isinstance(results[3], InsufficientFunds)
    assert all(isinstance(r, OrderAck) for i, r in enumerate(results[:20]) if i != 3)
    assert all(isinstance(r, UnknownOutcome) for r in results[20:40])  # that chunk's reply was lost
    assert [r.cl_ord_id for r in results[40:45]] == [f"o{i}" for i in range(40, 45)]  # type: ignore[union-attr]
    assert isinstance(results[45], OrderRejected)  # invalid clOrdId, kept in place


def test_place_orders_of_one_uses_the_single_order_endpoint(okx: FakeOkx, client: AccountClient) -> None:
    okx.on("POST", "trade/order", env([ack("solo")]))

    results = client.place_orders([req("solo")])

    assert [type(r) for r in results] == [OrderAck]
    assert okx.calls("POST", "trade/batch-orders") == []


def test_pending_orders_follow_pages(okx: FakeOkx, client: AccountClient) -> None:
    page1 = [order_row(f"c{i}", ord_id=str(1000 - i)) for i in range(100)]
    okx.on("GET", "trade/orders-pending", env(page1), env([order_row("last", ord_id="1")]))

    orders = client.pending_orders("SWAP")

    assert len(orders) == 101
    assert "after=901" in str(okx.calls("GET", "trade/orders-pending")[1].url)


def test_set_leverage_and_position_mode(okx: FakeOkx, client: AccountClient) -> None:
    okx.on(
        "POST",
        "account/set-leverage",
        env([{"lever": "5", "mgnMode": "cross", "instId": "BTC-USDT-SWAP", "posSide": ""}]),
    )
    okx.on("POST", "account/set-position-mode", env([{"posMode": "long_short_mode"}]))

    info = client.set_leverage("BTC-USDT-SWAP", Decimal("5.0"))
    client.set_position_mode("long_short_mode")

    assert info.lever == Decimal(5)
    assert json.loads(okx.calls("POST", "account/set-leverage")[0].content)["lever"] == "5"
    with pytest.raises(ValueError, match="pos_mode"):
        client.set_position_mode("hedge")


def test_raw_request_passthrough(okx: FakeOkx, client: AccountClient) -> None:
    okx.on("GET", "account/bills", env([{"billId": "1"}]))
    okx.on("POST", "trade/cancel-order", timeout("/api/v5/trade/cancel-order"))

    assert client.request("GET", "/api/v5/account/bills", {"ccy": "USDT"}) == [{"billId": "1"}]
    with pytest.raises(UnknownOutcome):
        client.request("POST", "/api/v5/trade/cancel-order", {"instId": "BTC-USDT-SWAP", "ordId": "1"})
    with pytest.raises(ValueError, match="path"):
        client.request("GET", "/api/v5/account/bills?ccy=USDT")
    assert "ccy=USDT" in str(okx.calls("GET", "account/bills")[0].url)


def test_rate_limit_budget_is_respected_per_account(
    okx: FakeOkx, client: AccountClient, clock: FakeClock
) -> None:
    okx.on("GET", "account/config", env([{"acctLv": "2", "posMode": "net_mode"}]))

    for _ in range(12):
        client.account_config()

    times = [r for r in okx.calls("GET", "account/config")]
    assert len(times) == 12
    assert clock.now() - T0 >= timedelta(seconds=4)  # 5/2s minus margin: 4 per 2.05 s
    assert not isinstance(ExchangeRateLimited, type(None))
