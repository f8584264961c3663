"""End to end against the simulator: no credential or signature in any log line or on the
terminal, with python-okx's ``debug`` off and on (it then logs full request headers via loguru)."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from config.credentials import Credentials
from config.schema import ExchangeSettings
from core.clock import SystemClock
from exchange import make_account_client, make_public_client
from exchange.errors import ExchangeAuthError, OrderRejected
from exchange.records import OrderRequest
from simulator.server import RunningSimulator
from tests.plugins.logcapture import Collect

KEY, SECRET, PASSPHRASE = "leak-test-key-4821", "leak-test-secret-93f0a1", "LeakPass7731"


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
def test_no_secret_reaches_a_log_line(
    sim: RunningSimulator, collected: Collect, capfd: pytest.CaptureFixture[str], debug: bool
) -> None:
    sim.control.add_account(KEY, SECRET, PASSPHRASE, name="leak")
    settings = ExchangeSettings(mode="simulator", base_url=sim.base_url, timeout_s=2)
    client = make_account_client(
        settings, Credentials(KEY, SECRET, PASSPHRASE), SystemClock(), account="leak"
    )
    public = make_public_client(settings, SystemClock())
    for api in client._apis:
        api.debug = debug  # product code never does this
    public._exchange().verbose = debug  # ccxt's own request/response dump

    public.candles("BTC-USDT-SWAP", "1m", limit=2)
    client.balance()
    client.place_order(OrderRequest("BTC-USDT-SWAP", "cross", "buy", "market", Decimal(1), "leak1"))
    with pytest.raises(OrderRejected):
        client.place_order(OrderRequest("BTC-USDT-SWAP", "cross", "buy", "market", Decimal("0.015"), "leak2"))
    wrong = make_account_client(settings, Credentials(KEY, SECRET[::-1], PASSPHRASE), SystemClock())
    with pytest.raises(ExchangeAuthError) as info:
        wrong.positions()
    logging.getLogger("test").exception("auth failed: %s", info.value)
    for c in (client, wrong, public):
        c.close()

    out, err = capfd.readouterr()
    text = "\n".join([*collected.lines, out, err])
    for secret in (KEY, SECRET, PASSPHRASE, SECRET[::-1]):
        assert secret not in text
    headers = [line for line in collected.lines if "OK-ACCESS-PASSPHRASE" in line]
    if debug:
        assert len(headers) >= 3  # python-okx did log its headers ...
        assert all("OK-ACCESS-SIGN': '***'" in line for line in headers)  # ... masked
    else:
        assert headers == []
