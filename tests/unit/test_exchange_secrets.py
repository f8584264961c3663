"""No API key, secret, passphrase or signature reaches a log line — python-okx debug off or on.

python-okx logs request headers through loguru when ``debug=True``; the exchange layer routes
loguru into stdlib logging and redacts. Everything a process could print is captured here: the
file descriptors (loguru's default sink is stderr) and every stdlib record, formatted by a plain
(non-redacting) formatter so the test does not lean on core.logs.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from core.clock import FakeClock
from exchange.errors import ExchangeAuthError
from exchange.records import OrderRequest
from tests.plugins.logcapture import Collect
from tests.unit.test_exchange_private import CREDS, FakeOkx, ack, connect, env

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
def test_no_secret_in_any_log_line(
    debug: bool, collected: Collect, capfd: pytest.CaptureFixture[str]
) -> None:
    clock = FakeClock(T0)
    okx = FakeOkx(clock)
    client = connect(okx, clock)
    for api in client._apis:
        api.debug = debug  # product code never does this
    okx.on("GET", "account/balance", env([{"totalEq": "1", "details": []}]))
    okx.on("POST", "trade/order", env([ack("s1")]))
    okx.on(
        "GET", "account/config", env(code="50111", msg=f"Invalid OK-ACCESS-KEY {CREDS.api_key}", status=401)
    )

    client.balance()
    client.place_order(OrderRequest("BTC-USDT-SWAP", "cross", "buy", "market", Decimal(1), "s1"))
    with pytest.raises(ExchangeAuthError) as info:
        client.account_config()
    logging.getLogger("test").error("failed: %s", info.value)

    out, err = capfd.readouterr()
    text = "\n".join([*collected.lines, out, err])
    signatures = [r.headers["OK-ACCESS-SIGN"] for r in okx.requests if "OK-ACCESS-SIGN" in r.headers]
    assert len(signatures) >= 3
    for secret in [CREDS.api_key, CREDS.secret, CREDS.passphrase, *signatures]:
        assert secret not in text
    header_lines = [line for line in collected.lines if "OK-ACCESS-PASSPHRASE" in line]
    if debug:  # python-okx really logged its headers, and they were masked
        assert header_lines
        assert all("***" in line for line in header_lines)
    else:
        assert header_lines == []


def test_credentials_repr_is_masked() -> None:
    assert CREDS.secret not in repr(CREDS)
    assert CREDS.passphrase not in repr(CREDS)


def test_mock_transport_is_what_the_client_uses() -> None:
    clock = FakeClock(T0)
    okx = FakeOkx(clock)
    client = connect(okx, clock)

    assert all(isinstance(api._transport, httpx.MockTransport) for api in client._apis)
