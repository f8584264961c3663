"""Every conformance vector of the FMZ reference (§11), replayed against the gateway + simulator.

Vector ids from ``shared/reference/fmz-protocol.md`` §11 are in each test's docstring. Requests carry
``access_key = "ak_test"``, ``secret_key = "sk_test,pp_test"`` and ``nonce = 1730275031047002000``
unless the vector says otherwise; every reply is checked against the envelope rule.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

import pytest

from gateway.server import RunningGateway
from simulator.server import RunningSimulator
from tests.integration.test_gateway_support import (
    AK,
    FmzDocker,
    gateway_for,
    is_int,
    is_num,
    register_vector_account,
)

GUIDE_OPEN = {"pending", "pre-submitted", "submitting", "submitted", "partial-filled"}
GUIDE_ALL = GUIDE_OPEN | {"filled", "closed", "finished", "partial-canceled", "canceled"}


@pytest.fixture(scope="module")
def gw(sim_module: RunningSimulator) -> Iterator[RunningGateway]:
    register_vector_account(sim_module)
    with gateway_for(sim_module.base_url) as running:
        yield running


@pytest.fixture(scope="module")
def docker(gw: RunningGateway) -> FmzDocker:
    return FmzDocker(gw.url)


@pytest.fixture(scope="module")
def limit_id(docker: FmzDocker) -> str:
    """<ID>: the id returned by trade-limit-buy."""
    data = docker.data("trade", {"symbol": "BTC_USDT", "type": "buy", "price": "1000", "amount": "0.001"})
    assert isinstance(data["id"], str)
    return str(data["id"])


# ---- 11.1 market data ----------------------------------------------------------------------


def test_ticker_ok(docker: FmzDocker) -> None:
    """ticker-ok (+ NONCE-large: the 19-digit nonce parses)."""
    data = docker.data("ticker", {"symbol": "BTC_USDT"})
    assert isinstance(data, dict)
    for key in ("buy", "sell", "last", "high", "low", "vol", "open"):
        assert is_num(data[key]), key
        assert float(data[key]) > 0, key
    assert is_int(data["time"])
    assert len(str(data["time"])) == 13
    assert data["symbol"] == "BTC_USDT"
    assert float(data["sell"]) >= float(data["buy"])


def test_ticker_raw_carries_okx_reply(docker: FmzDocker) -> None:
    reply = docker.call("ticker", {"symbol": "BTC_USDT"})
    okx = reply["raw"]
    assert okx["code"] == "0"
    assert okx["data"][0]["instId"] == "BTC-USDT"
    assert okx["data"][0]["bidPx"] == reply["data"]["buy"]


@pytest.mark.parametrize("params", [{"symbol": "BTC_USDT"}, {"symbol": "BTC_USDT", "limit": "30"}])
def test_depth_ok(docker: FmzDocker, params: dict[str, str]) -> None:
    """depth-ok (and the guide's ``"limit": "30"`` variant)."""
    data = docker.data("depth", params)
    assert is_int(data["time"])
    asks, bids = data["asks"], data["bids"]
    assert asks
    assert bids
    for row in asks + bids:
        assert len(row) == 2
        assert is_num(row[0])
        assert is_num(row[1])
    assert [a[0] for a in asks] == sorted(a[0] for a in asks)
    assert [b[0] for b in bids] == sorted((b[0] for b in bids), reverse=True)
    assert bids[0][0] < asks[0][0]
    if "limit" in params:
        assert len(asks) <= 30
        assert len(bids) <= 30


@pytest.mark.parametrize("symbol", ["BTC_USDT", "btc_usdt"])
def test_trades_ok(docker: FmzDocker, symbol: str) -> None:
    """trades-ok (and the guide's lower-case symbol)."""
    data = docker.data("trades", {"symbol": symbol})
    assert isinstance(data, list)
    assert data
    for tr in data:
        assert isinstance(tr["id"], str | int)
        assert is_num(tr["price"])
        assert is_num(tr["amount"])
        assert tr["type"] in {"buy", "sell", "bid", "ask"}
        assert is_int(tr["time"])


def check_records(rows: list[list[float]]) -> None:
    assert rows
    for row in rows:
        assert len(row) == 6
        assert all(is_num(v) for v in row)
        t, o, h, low, c, _ = row
        assert len(str(int(t))) in (10, 13)
        assert low <= o <= h
        assert low <= c <= h
    times = [r[0] for r in rows]
    assert times == sorted(set(times))  # strictly ascending


@pytest.mark.parametrize("period", ["60", 60, "1", "1440"])
def test_records_ok(docker: FmzDocker, period: str | int) -> None:
    """records-ok and records-period-as-number-tolerated."""
    rows = docker.data("records", {"symbol": "BTC_USDT", "period": period})
    check_records(rows)
    step = int(period) * 60
    assert all(b[0] - a[0] == step for a, b in itertools.pairwise(rows))


def test_records_with_limit(docker: FmzDocker) -> None:
    """records-with-limit (11.7): at most 500 rows, oldest first, pages beyond 300."""
    rows = docker.data("records", {"symbol": "BTC_USDT", "period": "1", "limit": "500"})
    check_records(rows)
    assert len(rows) == 500
    rows = docker.data("records", {"symbol": "BTC_USDT.swap", "period": "15", "limit": "5"})
    check_records(rows)
    assert len(rows) == 5


# ---- 11.2 account and trading ----------------------------------------------------------------


def check_balances(data: object) -> None:
    assert isinstance(data, list)
    assert data
    for item in data:
        assert isinstance(item, dict)
        assert set(item) == {"currency", "free", "frozen"}
        assert isinstance(item["currency"], str)
        assert item["currency"]
        assert is_num(item["free"])
        assert is_num(item["frozen"])


def test_accounts_ok(docker: FmzDocker) -> None:
    """accounts-ok (and PASSPHRASE-split: the simulator verified sk_test / pp_test)."""
    data = docker.data("accounts", {})
    check_balances(data)
    assert any(d["currency"] == "USDT" and float(d["free"]) > 0 for d in data)


def test_assets_ok(docker: FmzDocker) -> None:
    """assets-ok."""
    check_balances(docker.data("assets", {}))


def test_trade_limit_buy(limit_id: str, sim_module: RunningSimulator) -> None:
    """trade-limit-buy: the guide's composite id ``BTC-USDT,<ordId>``."""
    inst, _, ord_id = limit_id.partition(",")
    assert inst == "BTC-USDT"
    assert ord_id
    placed = [o for o in sim_module.control.orders(inst_id="BTC-USDT") if o["ordId"] == ord_id]
    assert len(placed) == 1
    assert placed[0]["request"]["ordType"] == "limit"
    assert placed[0]["request"]["px"] == "1000"


def test_trade_market_sell(docker: FmzDocker, sim_module: RunningSimulator) -> None:
    """trade-market-sell: price -1 is a market order, never a limit at -1."""
    bought = docker.data("trade", {"symbol": "BTC_USDT", "type": "buy", "price": "-1", "amount": "200"})
    reply = docker.call("trade", {"symbol": "BTC_USDT", "type": "sell", "price": "-1", "amount": "0.001"})
    assert "data" in reply, reply
    for oid in (bought["id"], reply["data"]["id"]):
        ord_id = oid.split(",")[1]
        (placed,) = [o for o in sim_module.control.orders(inst_id="BTC-USDT") if o["ordId"] == ord_id]
        assert placed["request"]["ordType"] == "market"
        assert placed["request"].get("px", "") in ("", None)
    done = docker.data("order", {"id": reply["data"]["id"], "symbol": "BTC_USDT"})
    assert done["status"] == "filled"
    assert done["deal_amount"] == 0.001
    assert done["avg_price"] > 0


def test_orders_ok(docker: FmzDocker, limit_id: str) -> None:
    """orders-ok: the guide's open-order statuses."""
    data = docker.data("orders", {"symbol": "BTC_USDT"})
    assert isinstance(data, list)
    assert limit_id in [o["id"] for o in data]
    for o in data:
        assert isinstance(o["id"], str)
        assert is_num(o["price"])
        assert is_num(o["amount"])
        assert is_num(o["deal_amount"])
        assert o["type"] in {"buy", "sell"}
        assert o["status"] in GUIDE_OPEN
        assert o["symbol"] == "BTC_USDT"


def test_order_ok(docker: FmzDocker, limit_id: str) -> None:
    """order-ok."""
    data = docker.data("order", {"id": limit_id, "symbol": "BTC_USDT"})
    assert data["id"] == limit_id
    assert data["status"] in GUIDE_ALL
    assert is_num(data["deal_amount"])
    assert is_num(data["avg_price"])
    assert data["type"] == "buy"
    assert (data["price"], data["amount"]) == (1000, 0.001)


@pytest.mark.parametrize("prefix", ["BTC_USDT,", ""])
def test_order_id_with_symbol_prefix_tolerated(docker: FmzDocker, limit_id: str, prefix: str) -> None:
    """order-id-with-symbol-prefix tolerated: ``BTC_USDT,<ID>``; also the bare ordId + symbol."""
    order_id = prefix + limit_id if prefix else limit_id.split(",")[1]
    data = docker.data("order", {"id": order_id, "symbol": "BTC_USDT"})
    assert data["id"] == limit_id


def test_cancel_ok(docker: FmzDocker) -> None:
    """cancel-ok: ``data`` is ``true``; the order then reads canceled."""
    oid = docker.data("trade", {"symbol": "BTC_USDT", "type": "buy", "price": "1000", "amount": "0.001"})[
        "id"
    ]
    assert docker.data("cancel", {"id": oid, "symbol": "BTC_USDT"}) is True
    assert docker.data("order", {"id": oid, "symbol": "BTC_USDT"})["status"] == "canceled"
    assert oid not in [o["id"] for o in docker.data("orders", {"symbol": "BTC_USDT"})]


def test_order_not_found(docker: FmzDocker) -> None:
    """order-not-found: an error naming OKX's code."""
    error = docker.error("order", {"id": "999999999999", "symbol": "BTC_USDT"})
    assert "OKX 51603" in error


def test_cancel_non_numeric_id(docker: FmzDocker) -> None:
    """cancel-non-numeric-id: an error from the exchange, never an int() crash."""
    error = docker.error("cancel", {"id": "abc-DEF_123", "symbol": "BTC_USDT"})
    assert "OKX" in error


@pytest.mark.parametrize(
    "params",
    [
        {"symbol": "BTC_USDT"},
        {"symbol": "BTC_USDT", "since": 0, "limit": 0},
        {"symbol": "BTC_USDT", "limit": "5"},
    ],
)
def test_historyorders(docker: FmzDocker, params: dict[str, object]) -> None:
    """historyorders and historyorders-numeric-params (11.7)."""
    sell = {"symbol": "BTC_USDT", "type": "sell", "price": "900000", "amount": "0.0001"}
    docker.data("cancel", {"id": docker.data("trade", sell)["id"]})
    data = docker.data("historyorders", params)
    assert isinstance(data, list)
    assert data
    assert len(data) <= int(str(params.get("limit") or 100))
    for o in data:
        assert o["status"] in GUIDE_ALL - GUIDE_OPEN
        assert o["symbol"] == "BTC_USDT"
        assert o["type"] in {"buy", "sell"}
    times = [o["time"] for o in data]
    assert times == sorted(times)


def test_historyorders_since_filters(docker: FmzDocker) -> None:
    newest = docker.data("historyorders", {"symbol": "BTC_USDT"})[-1]
    data = docker.data("historyorders", {"symbol": "BTC_USDT", "since": newest["time"], "limit": 0})
    assert data
    assert all(o["time"] >= newest["time"] for o in data)


# ---- 11.3 raw passthrough --------------------------------------------------------------------


def test_io_passthrough_get(docker: FmzDocker, sim_module: RunningSimulator) -> None:
    """io-passthrough-get: the upstream receives ``GET /api/v5/account/balance?ccy=USDT``."""
    data = docker.data("__api_/api/v5/account/balance", {"ccy": "USDT"}, http_method="GET")
    assert data["code"] == "0"
    assert data["data"][0]["details"][0]["ccy"] == "USDT"
    seen = sim_module.control.requests(path="/api/v5/account/balance")
    assert seen[-1]["method"] == "GET"
    assert seen[-1]["path"] == "/api/v5/account/balance?ccy=USDT"
    assert seen[-1]["account"] == "fmz-vectors"


def test_io_path_with_underscores(docker: FmzDocker, sim_module: RunningSimulator) -> None:
    """io-path-with-underscores: prefix stripped exactly once, no split on ``_``."""
    reply = docker.call("__api_/api/v5/trade/order-algo_test", {"a": "1"}, http_method="POST")
    assert "error" in reply  # the simulator has no such endpoint: OKX's 404 comes back as an error
    seen = sim_module.control.requests(path="order-algo")
    assert seen[-1]["method"] == "POST"
    assert seen[-1]["path"] == "/api/v5/trade/order-algo_test"


def test_io_error_code(docker: FmzDocker) -> None:
    """io-error-code (11.7): an OKX error code comes back in the error string."""
    error = docker.error("__api_/api/v5/trade/order", {"instId": "BTC-USDT", "ordId": "1"}, http_method="GET")
    assert "51603" in error


def test_io_post_places_an_order(docker: FmzDocker) -> None:
    body = {
        "instId": "BTC-USDT",
        "tdMode": "cash",
        "side": "buy",
        "ordType": "limit",
        "px": "1000",
        "sz": "0.001",
    }
    data = docker.data("__api_/api/v5/trade/order", body, http_method="POST")
    assert data["code"] == "0"
    assert data["data"][0]["sCode"] == "0"
    assert docker.data("cancel", {"id": "BTC-USDT," + data["data"][0]["ordId"]}) is True


# ---- 11.4 futures and market-wide methods -----------------------------------------------------


def test_futures_positions(docker: FmzDocker) -> None:
    """futures-positions: open a long of 2 contracts, read it back."""
    docker.data("trade", {"symbol": "BTC_USDT.swap", "type": "buy", "price": "-1", "amount": "2"})
    data = docker.data("positions", {"symbol": "BTC_USDT.swap"})
    (pos,) = data
    assert pos["symbol"] == "BTC_USDT.swap"
    assert pos["type"] == 0
    assert pos["amount"] == 2
    assert is_num(pos["price"])
    assert pos["price"] > 0
    assert is_num(pos["profit"])
    assert pos["margin_level"] >= 1
    assert pos["margin"] > 0
    assert docker.data("positions", {}) == data
    docker.data("trade", {"symbol": "BTC_USDT.swap", "type": "closebuy", "price": "-1", "amount": "2"})
    assert docker.data("positions", {"symbol": "BTC_USDT.swap"}) == []


def test_futures_marginlevel(docker: FmzDocker) -> None:
    """futures-marginlevel: ``true``, and OKX reports the new leverage."""
    assert docker.data("marginlevel", {"symbol": "BTC_USDT.swap", "marginLevel": "7"}) is True
    info = docker.data("__api_/api/v5/account/leverage-info", {"instId": "BTC-USDT-SWAP", "mgnMode": "cross"},
                       http_method="GET")  # fmt: skip
    assert info["data"][0]["lever"] == "7"


def test_futures_fundings(docker: FmzDocker) -> None:
    """futures-fundings."""
    (row,) = docker.data("fundings", {"symbol": "BTC_USDT.swap"})
    assert row["symbol"] == "BTC_USDT.swap"
    assert is_int(row["time"])
    assert is_num(row["rate"])
    assert row["interval"] > 0


@pytest.mark.parametrize("method", ["markets", "tickers"])
def test_markets_and_tickers(docker: FmzDocker, method: str) -> None:
    """markets / tickers."""
    data = docker.data(method, {})
    symbols = set(data) if method == "markets" else {t["symbol"] for t in data}
    assert {"BTC_USDT", "BTC_USDT.swap"} <= symbols


# ---- 11.5 error handling and robustness -------------------------------------------------------


def test_err_unknown_method(docker: FmzDocker) -> None:
    """ERR-unknown-method."""
    assert docker.error("foo", {}) == "foo not support"


def test_err_bad_json(docker: FmzDocker) -> None:
    """ERR-bad-json: an error reply, and the server still serves ticker-ok afterwards."""
    assert docker.post_raw(b"{not json") == {"error": "invalid JSON"}
    assert "data" in docker.call("ticker", {"symbol": "BTC_USDT"})


def test_err_json_with_apostrophe(docker: FmzDocker) -> None:
    """ERR-json-with-apostrophe: unknown params are ignored."""
    assert "data" in docker.call("ticker", {"symbol": "BTC_USDT", "note": "it's"})


def test_err_missing_method(docker: FmzDocker) -> None:
    """ERR-missing-method."""
    reply = docker.post_raw(b'{"access_key":"ak_test","secret_key":"sk_test","nonce":1,"params":{}}')
    assert "method" in reply["error"]


def test_err_missing_params(docker: FmzDocker) -> None:
    """ERR-missing-params: body ``{"method":"ticker"}`` only."""
    assert "missing required parameters" in docker.post_raw(b'{"method":"ticker"}')["error"]
    assert docker.error("ticker", {}) == "symbol required"


def test_err_params_not_object(docker: FmzDocker) -> None:
    """ERR-params-not-object."""
    assert "params must be an object" in docker.error("ticker", "BTC_USDT")


def test_err_missing_keys_private(gw: RunningGateway, sim_module: RunningSimulator) -> None:
    """ERR-missing-keys-private: no call to the exchange with an empty signature."""
    before = len(sim_module.control.requests())
    error = FmzDocker(gw.url, access_key="", secret_key="").error("accounts", {})
    assert "credentials missing" in error
    assert len(sim_module.control.requests()) == before


@pytest.mark.parametrize("symbol", ["NOPE_XXX", "USDT"])
def test_err_invalid_symbol(docker: FmzDocker, symbol: str) -> None:
    """ERR-invalid-symbol and ticker-incomplete-pair (11.7)."""
    error = docker.error("ticker", {"symbol": symbol})
    assert ("OKX 51001" in error) if symbol == "NOPE_XXX" else error.startswith("invalid symbol")


def test_err_empty_body(docker: FmzDocker) -> None:
    """ERR-empty-body: a non-empty message, no hang."""
    assert docker.post_raw(b"", {"Content-Length": "0"})["error"].startswith("empty request body")


def test_err_get(gw: RunningGateway) -> None:
    """ERR-GET: 200 with an error, at once."""
    import requests

    resp = requests.get(gw.url, timeout=2)
    assert resp.status_code == 200
    assert resp.json() == {"error": "GET not supported: FMZ calls plugins with POST"}


def test_err_wrong_path(docker: FmzDocker, gw: RunningGateway) -> None:
    """ERR-wrong-path."""
    body = json.dumps(
        {
            "access_key": "ak_test",
            "secret_key": "sk_test,pp_test",
            "method": "ticker",
            "params": {"symbol": "BTC_USDT"},
        }
    ).encode()
    reply = docker.post_raw(body, url=gw.url.replace("/OKX", "/WRONG"))
    assert reply["error"].startswith("unknown path '/WRONG'")
    assert "data" in docker.post_raw(body, url=gw.url.replace("/OKX", "/okx"))


def test_passphrase_split_signs_with_both_parts(docker: FmzDocker, sim_module: RunningSimulator) -> None:
    """PASSPHRASE-split: the simulator authenticated the request as the ak_test account."""
    docker.data("accounts", {})
    assert sim_module.control.requests(path="/api/v5/account/balance")[-1]["account"] == "fmz-vectors"
    wrong_pass = FmzDocker(docker.url, secret_key="sk_test,pp_wrong").error("accounts", {})
    assert "OKX 50105" in wrong_pass  # OKX: passphrase incorrect
    wrong_secret = FmzDocker(docker.url, secret_key="sk_wrong,pp_test").error("accounts", {})
    assert "OKX 50113" in wrong_secret  # OKX: invalid signature
    assert AK not in wrong_pass + wrong_secret
