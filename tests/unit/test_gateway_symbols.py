"""FMZ symbols, order ids and periods <-> OKX (gateway.symbols)."""

from __future__ import annotations

import pytest

from gateway.protocol import BadRequest
from gateway.symbols import Market, fmz_symbol, format_order_id, parse_order_id, parse_symbol, period_to_bar


@pytest.mark.parametrize(
    ("text", "inst_id", "inst_type", "symbol"),
    [
        ("BTC_USDT", "BTC-USDT", "SPOT", "BTC_USDT"),
        ("btc_usdt", "BTC-USDT", "SPOT", "BTC_USDT"),
        (" eth_usdt ", "ETH-USDT", "SPOT", "ETH_USDT"),
        ("LTC_USDT", "LTC-USDT", "SPOT", "LTC_USDT"),
        ("BTC_USDT.swap", "BTC-USDT-SWAP", "SWAP", "BTC_USDT.swap"),
        ("btc_usdt.SWAP", "BTC-USDT-SWAP", "SWAP", "BTC_USDT.swap"),
        ("BTC_USD.swap", "BTC-USD-SWAP", "SWAP", "BTC_USD.swap"),
        ("BTC-USDT", "BTC-USDT", "SPOT", "BTC_USDT"),
        ("BTC-USDT-SWAP", "BTC-USDT-SWAP", "SWAP", "BTC_USDT.swap"),
        ("1INCH_USDT", "1INCH-USDT", "SPOT", "1INCH_USDT"),
    ],
)
def test_parse_symbol(text: str, inst_id: str, inst_type: str, symbol: str) -> None:
    market = parse_symbol(text)
    assert (market.inst_id, market.inst_type, market.symbol) == (inst_id, inst_type, symbol)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("USDT", "invalid symbol"),
        ("", "invalid symbol"),
        ("BTC_", "invalid symbol"),
        ("_USDT", "invalid symbol"),
        ("BTC/USDT", "invalid symbol"),
        ("BTC_USDT_X", "invalid symbol"),
        ("BTC-USDT-250627", "invalid symbol"),
        ("BTC_USDT.quarter", "contract type 'quarter' not supported"),
        ("BTC_USDT.this_week", "contract type 'this_week' not supported"),
        ("BTC USDT", "invalid symbol"),
    ],
)
def test_bad_symbols(text: str, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        parse_symbol(text)


@pytest.mark.parametrize(
    ("inst_id", "symbol"),
    [("BTC-USDT", "BTC_USDT"), ("BTC-USDT-SWAP", "BTC_USDT.swap"), ("BTC-USD-250627", "BTC-USD-250627")],
)
def test_fmz_symbol(inst_id: str, symbol: str) -> None:
    assert fmz_symbol(inst_id) == symbol


def test_order_id_round_trip() -> None:
    oid = format_order_id("BTC-USDT", "123456")
    assert oid == "BTC-USDT,123456"
    assert parse_order_id(oid) == (Market("BTC", "USDT"), "123456")


@pytest.mark.parametrize(
    ("order_id", "symbol", "inst_id", "ord_id"),
    [
        ("BTC-USDT,123456", "ETH_USDT", "BTC-USDT", "123456"),  # the id's instrument wins
        ("BTC_USDT,123456", None, "BTC-USDT", "123456"),
        ("BTC_USDT,BTC-USDT,123456", "BTC_USDT", "BTC-USDT", "123456"),
        ("BTC-USDT-SWAP,987", None, "BTC-USDT-SWAP", "987"),
        ("BTC_USDT.swap,987", None, "BTC-USDT-SWAP", "987"),
        ("123456", "BTC_USDT", "BTC-USDT", "123456"),
        ("999999999999", "BTC_USDT", "BTC-USDT", "999999999999"),
        ("abc-DEF_123", "BTC_USDT", "BTC-USDT", "abc-DEF_123"),  # opaque: never int()
        ("20000000000000000000000001", "BTC_USDT", "BTC-USDT", "20000000000000000000000001"),
    ],
)
def test_parse_order_id(order_id: str, symbol: str | None, inst_id: str, ord_id: str) -> None:
    market, got = parse_order_id(order_id, symbol)
    assert (market.inst_id, got) == (inst_id, ord_id)


@pytest.mark.parametrize(
    ("order_id", "symbol", "message"),
    [
        ("", "BTC_USDT", "id is empty"),
        ("BTC-USDT,", "BTC_USDT", "id is empty"),
        ("123", None, "symbol is missing"),
        ("NOPE,123", None, "invalid symbol"),
        ("BTC-USDT,12 3", None, "invalid order id"),
        ("BTC-USDT,a/b", None, "invalid order id"),
    ],
)
def test_bad_order_ids(order_id: str, symbol: str | None, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        parse_order_id(order_id, symbol)


@pytest.mark.parametrize(
    ("minutes", "tz", "bar"),
    [
        (1, "Asia/Shanghai", "1m"),
        (3, "Asia/Shanghai", "3m"),
        (5, "Asia/Shanghai", "5m"),
        (15, "Asia/Shanghai", "15m"),
        (30, "Asia/Shanghai", "30m"),
        (60, "Asia/Shanghai", "1H"),
        (120, "Asia/Shanghai", "2H"),
        (240, "Asia/Shanghai", "4H"),
        (240, "UTC", "4H"),
        (360, "Asia/Shanghai", "6H"),
        (360, "UTC", "6Hutc"),
        (720, "Asia/Shanghai", "12H"),
        (1440, "Asia/Shanghai", "1D"),
        (1440, "UTC", "1Dutc"),
        (2880, "Asia/Shanghai", "2D"),
        (4320, "UTC", "3Dutc"),
        (10080, "Asia/Shanghai", "1W"),
    ],
)
def test_period_to_bar(minutes: int, tz: str, bar: str) -> None:
    assert period_to_bar(minutes, tz) == bar


@pytest.mark.parametrize("minutes", [0, 2, 7, 90, 3600, 86400])
def test_unsupported_periods(minutes: int) -> None:
    with pytest.raises(BadRequest, match=f"period {minutes} not supported"):
        period_to_bar(minutes)
