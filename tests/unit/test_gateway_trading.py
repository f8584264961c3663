"""FMZ ``trade`` -> OKX order requests and ``__api_`` path checks (pure parts of gateway.trading)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateway.protocol import BadRequest
from gateway.symbols import parse_symbol
from gateway.trading import api_path, order_request

D = Decimal
CL = "fmz0123456789abcdef0123456789ab"


@pytest.mark.parametrize(
    ("symbol", "kind", "price", "pos_mode", "expected"),
    [
        # spot: price > 0 limit, price <= 0 market (never a limit at -1)
        ("BTC_USDT", "buy", "1000", "net_mode", ("BTC-USDT", "cash", "buy", "limit", D(1000), None, None)),
        ("BTC_USDT", "sell", "-1", "net_mode", ("BTC-USDT", "cash", "sell", "market", None, None, None)),
        ("BTC_USDT", "buy", "0", "net_mode", ("BTC-USDT", "cash", "buy", "market", None, None, None)),
        # swaps, net mode: closes are reduce-only
        (
            "BTC_USDT.swap",
            "buy",
            "50000",
            "net_mode",
            ("BTC-USDT-SWAP", "cross", "buy", "limit", D(50000), None, None),
        ),
        (
            "BTC_USDT.swap",
            "sell",
            "-1",
            "net_mode",
            ("BTC-USDT-SWAP", "cross", "sell", "market", None, None, None),
        ),
        (
            "BTC_USDT.swap",
            "closebuy",
            "-1",
            "net_mode",
            ("BTC-USDT-SWAP", "cross", "sell", "market", None, None, True),
        ),
        (
            "BTC_USDT.swap",
            "closesell",
            "1",
            "net_mode",
            ("BTC-USDT-SWAP", "cross", "buy", "limit", D(1), None, True),
        ),
        # swaps, long/short mode: posSide
        (
            "BTC_USDT.swap",
            "buy",
            "-1",
            "long_short_mode",
            ("BTC-USDT-SWAP", "cross", "buy", "market", None, "long", None),
        ),
        (
            "BTC_USDT.swap",
            "sell",
            "-1",
            "long_short_mode",
            ("BTC-USDT-SWAP", "cross", "sell", "market", None, "short", None),
        ),
        (
            "BTC_USDT.swap",
            "closebuy",
            "-1",
            "long_short_mode",
            ("BTC-USDT-SWAP", "cross", "sell", "market", None, "long", None),
        ),
        (
            "BTC_USDT.swap",
            "closesell",
            "-1",
            "long_short_mode",
            ("BTC-USDT-SWAP", "cross", "buy", "market", None, "short", None),
        ),
    ],
)
def test_order_request(
    symbol: str, kind: str, price: str, pos_mode: str, expected: tuple[object, ...]
) -> None:
    req = order_request(parse_symbol(symbol), kind, D(price), D("0.001"), CL, pos_mode=pos_mode)
    got = (req.inst_id, req.td_mode, req.side, req.ord_type, req.px, req.pos_side, req.reduce_only)
    assert got == expected
    assert (req.sz, req.cl_ord_id, req.tgt_ccy) == (D("0.001"), CL, None)


def test_isolated_margin_mode() -> None:
    req = order_request(parse_symbol("BTC_USDT.swap"), "buy", D(1), D(1), CL, margin_mode="isolated")
    assert req.td_mode == "isolated"
    spot = order_request(parse_symbol("BTC_USDT"), "buy", D(1), D(1), CL, margin_mode="isolated")
    assert spot.td_mode == "cash"


@pytest.mark.parametrize(
    ("symbol", "kind", "amount", "message"),
    [
        ("BTC_USDT", "long", "1", "type must be one of"),
        ("BTC_USDT", "closebuy", "1", "type closebuy is for swaps"),
        ("BTC_USDT", "buy", "0", "amount must be > 0"),
        ("BTC_USDT", "buy", "-0.5", "amount must be > 0"),
    ],
)
def test_bad_trades(symbol: str, kind: str, amount: str, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        order_request(parse_symbol(symbol), kind, D(1), D(amount), CL)


@pytest.mark.parametrize(
    ("path", "params", "expected"),
    [
        ("/api/v5/account/balance", {"ccy": "USDT"}, ("/api/v5/account/balance", {"ccy": "USDT"})),
        ("/api/v5/trade/order-algo_test", {"a": "1"}, ("/api/v5/trade/order-algo_test", {"a": "1"})),
        (
            "/api/v5/trade/orders-pending?instType=SPOT&instId=ETH-USDT",
            {"limit": "5"},
            ("/api/v5/trade/orders-pending", {"instType": "SPOT", "instId": "ETH-USDT", "limit": "5"}),
        ),
    ],
)
def test_api_path(path: str, params: dict[str, str], expected: tuple[str, dict[str, str]]) -> None:
    assert api_path(path, params) == expected


@pytest.mark.parametrize(
    "path",
    ["", "api/v5/x", "/api/v4/x", "/api/v5/../../etc", "/api/v5/a b", "/api/v5/a%2F", "http://evil/api/v5/x",
     "/api/v5/" + "x" * 300],
)  # fmt: skip
def test_bad_api_paths(path: str) -> None:
    with pytest.raises(BadRequest, match="__api_ path"):
        api_path(path, {})
