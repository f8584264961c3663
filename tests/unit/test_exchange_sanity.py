"""Sanity at the edge (issue 12, item 11): impossible candles are a named error, and a position,
balance or order whose required number is missing, empty or unparsable is an error, never a zero
(a positions reply with ``pos`` "" was read as flat, and the trader doubled the position)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from exchange import parse as p
from exchange.errors import BadCandle, BadResponse

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "okx"
GOOD = ["1700000040000", "100", "101", "99", "100.5", "12", "0.12", "1206", "1"]


def load(name: str) -> Any:
    return p.check_envelope(json.loads((FIXTURES / name).read_text(encoding="utf-8")))[0]


def row(**changes: str) -> list[str]:
    out = list(GOOD)
    for name, value in changes.items():
        out[["ts", "o", "h", "l", "c", "vol", "volCcy", "volCcyQuote", "confirm"].index(name)] = value
    return out


def test_a_sane_candle_and_okx_real_rows_parse() -> None:
    assert p.parse_candle(row(), "BTC-USDT-SWAP", "1m").high == 101
    real = json.loads((FIXTURES / "ccxt_src_candles_btc_usd_swap.json").read_text(encoding="utf-8"))
    assert len(p.parse_candles(p.check_envelope(real), "BTC-USD-SWAP", "1m")) == 3
    flat = row(o="8.282", h="8.282", l="8.282", c="8.282", vol="0", volCcy="0", volCcyQuote="0")
    assert p.parse_candle(flat, "LINK-USDT-SWAP", "1m").vol == 0  # a trade-less minute is fine


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"h": "98"}, "high 98 < low 99"),
        ({"o": "0"}, "open 0 is not a positive price"),
        ({"l": "-1"}, "low -1 is not a positive price"),
        ({"c": "0", "l": "0"}, "low 0 is not a positive price"),
        ({"c": "102"}, "outside low 99 .. high 101"),
        ({"vol": "-5"}, "negative vol -5"),
        ({"volCcyQuote": "-0.01"}, "negative volCcyQuote -0.01"),
    ],
)
def test_impossible_candles_are_a_named_error(changes: dict[str, str], message: str) -> None:
    with pytest.raises(BadCandle, match=message) as info:
        p.parse_candles([row(ts="1700000100000"), row(**changes)], "BTC-USDT-SWAP", "1m")
    assert "BTC-USDT-SWAP 1m candle at 2023-11-14T22:14:00+00:00" in str(info.value)
    assert isinstance(info.value, BadResponse)


POSITION = "ccxt_static_position_ltc_usdt_swap.json"
ORDER = "ccxt_static_order_ltc_usdt_filled.json"
BALANCE = {
    "totalEq": "10012.5", "upl": "", "uTime": "1700000000000",
    "details": [{"ccy": "USDT", "eq": "10012.5", "cashBal": "10000", "availBal": "9800"}],
}  # fmt: skip
FILL = {
    "instId": "BTC-USDT-SWAP", "tradeId": "7", "ordId": "1", "clOrdId": "a1", "fillPx": "100",
    "fillSz": "2", "side": "buy", "posSide": "net", "fee": "-0.1", "feeCcy": "USDT",
    "fillTime": "1700000000000",
}  # fmt: skip


def _set(item: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """``item`` with ``key`` removed (``value`` None) or set to ``value``."""
    if value is None:
        del item[key]
    else:
        item[key] = value
    return item


def _variants(key: str) -> list[Any]:
    return [pytest.param(key, None, id=f"{key}-missing"), pytest.param(key, "", id=f"{key}-empty"),
            pytest.param(key, "n/a", id=f"{key}-garbage")]  # fmt: skip


@pytest.mark.parametrize(("key", "value"), _variants("pos"))
def test_a_position_without_a_readable_pos_is_an_error(key: str, value: Any) -> None:
    with pytest.raises(BadResponse, match="'pos'"):
        p.parse_position(_set(copy.deepcopy(load(POSITION)), key, value))


@pytest.mark.parametrize(("key", "value"), _variants("accFillSz") + _variants("fee"))
def test_an_order_without_a_readable_fill_size_or_fee_is_an_error(key: str, value: Any) -> None:
    with pytest.raises(BadResponse, match=repr(key)):
        p.parse_order(_set(copy.deepcopy(load(ORDER)), key, value))


@pytest.mark.parametrize(("key", "value"), _variants("fee"))
def test_a_fill_without_a_readable_fee_is_an_error(key: str, value: Any) -> None:
    with pytest.raises(BadResponse, match=repr(key)):
        p.parse_fill(_set(dict(FILL), key, value))


@pytest.mark.parametrize(
    ("where", "key", "value"),
    [(w, k, v) for w, k in [("top", "totalEq"), ("detail", "eq"), ("detail", "cashBal")]
     for v in (None, "", "n/a")],
)
def test_a_balance_without_readable_equity_is_an_error(where: str, key: str, value: Any) -> None:
    item = copy.deepcopy(BALANCE)
    _set(item if where == "top" else item["details"][0], key, value)
    with pytest.raises(BadResponse, match=repr(key)):
        p.parse_balance(item)
