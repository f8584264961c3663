"""Parsers pinned by real OKX payloads (OKX docs examples and ccxt's recorded replies)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from exchange import parse as p
from exchange.errors import (
    BadResponse,
    ExchangeAuthError,
    ExchangeError,
    InsufficientFunds,
    OrderRejected,
)

_CANDIDATES = [
    os.environ.get("OKXFLEET_OKX_FIXTURES", ""),
    str(Path(__file__).resolve().parents[1] / "fixtures" / "okx"),
    str(Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "okx"),
]
FIXTURES = next((Path(c) for c in _CANDIDATES if c and Path(c).is_dir()), Path(_CANDIDATES[-1]))


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def test_every_response_fixture_has_a_test() -> None:
    covered = {
        "ccxt_src_candles_btc_usd_swap.json", "ccxt_src_error_examples.json",
        "ccxt_static_batch_orders_response.json", "ccxt_static_createorder_requests.json",
        "ccxt_static_order_ltc_usdt_filled.json", "ccxt_static_position_btc_usd_swap_inverse.json",
        "ccxt_static_position_ltc_usdt_swap.json", "ccxt_static_ticker_btc_usdt.json",
        "ccxt_static_trades_btc_usdt.json", "okx_doc_account_config.json",
        "okx_doc_instruments_spot.json", "okx_doc_leverage_info_response.json",
        "okx_doc_market_candles.json", "okx_doc_place_order_response.json",
        "okx_doc_public_time.json", "okx_doc_set_leverage_response.json",
        "okx_doc_subaccount_list.json", "okx_doc_ws_candle_push.json",
        "probe_captured_library_requests.json",
    }  # fmt: skip
    assert {f.name for f in FIXTURES.glob("*.json")} <= covered


def test_candles_inverse_swap_ascending_with_forming_bar() -> None:
    data = p.check_envelope(load("ccxt_src_candles_btc_usd_swap.json"), "market/candles")

    candles = p.parse_candles(data, "BTC-USD-SWAP", "1m")

    assert [c.ts for c in candles] == [ms(1678928640000), ms(1678928700000), ms(1678928760000)]
    assert [c.confirmed for c in candles] == [True, True, False]
    last = candles[-1]
    assert (last.open, last.high, last.low, last.close) == (
        Decimal("24341.4"), Decimal("24344"), Decimal("24313.2"), Decimal("24323"),
    )  # fmt: skip
    assert (last.vol, last.vol_ccy, last.vol_quote) == (Decimal(628), Decimal("2.5819"), Decimal(62800))
    assert last.inst_id == "BTC-USD-SWAP"
    assert last.bar == "1m"


def test_candles_doc_example_same_ts_keeps_the_confirmed_row() -> None:
    data = p.check_envelope(load("okx_doc_market_candles.json"))

    candles = p.parse_candles(data, "BTC-USDT", "1m")

    assert len(candles) == 1
    assert candles[0].confirmed is True
    assert candles[0].close == Decimal("3.72")


def test_ws_candle_push_row_parses_like_rest() -> None:
    push = load("okx_doc_ws_candle_push.json")

    candle = p.parse_candle(push["data"][0], push["arg"]["instId"], "1D")

    assert candle.ts == ms(1629993600000)
    assert candle.confirmed is False
    assert candle.vol == Decimal("3587.41204591")


@pytest.mark.parametrize(
    "row",
    [
        ["1", "2", "3", "4", "5", "6", "7", "8"],  # no confirm
        ["1", "2", "3", "4", "5", "6", "7", "8", "x"],  # bad confirm
        ["1", "2", "", "4", "5", "6", "7", "8", "1"],  # empty price
        ["1", "2", "NaN", "4", "5", "6", "7", "8", "1"],
        ["x", "2", "3", "4", "5", "6", "7", "8", "1"],
        {"ts": "1"},
    ],
)
def test_malformed_candle_rows_raise_bad_response(row: Any) -> None:
    with pytest.raises(BadResponse):
        p.parse_candle(row, "BTC-USDT", "1m")


def test_instrument_spot_doc_example() -> None:
    data = p.check_envelope(load("okx_doc_instruments_spot.json"))

    inst = p.parse_instrument(data[0])

    assert inst.inst_id == "BTC-USDT"
    assert inst.inst_type == "SPOT"
    assert (inst.base_ccy, inst.quote_ccy, inst.settle_ccy) == ("BTC", "USDT", "")
    assert inst.ct_val is None
    assert inst.ct_mult is None
    assert inst.lot_sz == Decimal("0.00000001")
    assert inst.min_sz == Decimal("0.00001")
    assert inst.tick_sz == Decimal("0.1")
    assert inst.max_lever == Decimal(10)
    assert inst.max_mkt_sz is None
    assert inst.is_live
    assert inst.contract_value == Decimal(1)


def test_instrument_swap_row_and_preopen_minimal_row() -> None:
    swap = {
        "instId": "BTC-USDT-SWAP", "instType": "SWAP", "baseCcy": "", "quoteCcy": "",
        "settleCcy": "USDT", "ctVal": "0.01", "ctMult": "1", "ctValCcy": "BTC", "ctType": "linear",
        "lotSz": "0.01", "minSz": "0.01", "tickSz": "0.1", "lever": "100", "state": "live",
        "instIdCode": 10000, "futureSettlement": False,
    }  # fmt: skip

    inst = p.parse_instrument(swap)
    preopen = p.parse_instrument({"instId": "NEW-USDT-SWAP", "instType": "SWAP", "state": "preopen"})

    assert (inst.base_ccy, inst.quote_ccy) == ("BTC", "USDT")
    assert inst.contract_value == Decimal("0.01")
    assert inst.is_contract
    assert preopen.state == "preopen"
    assert not preopen.is_live
    assert preopen.lot_sz == 0
    assert preopen.max_lever is None


def test_ticker_and_trades() -> None:
    ticker = p.parse_ticker(p.check_envelope(load("ccxt_static_ticker_btc_usdt.json"))[0])
    trade = p.parse_public_trade(p.check_envelope(load("ccxt_static_trades_btc_usdt.json"))[0])

    assert ticker.inst_id == "BTC-USDT"
    assert ticker.last == Decimal("73384.8")
    assert (ticker.bid, ticker.ask) == (Decimal("73384.7"), Decimal("73384.8"))
    assert ticker.vol24h == Decimal("21266.19145051")
    assert ticker.ts == ms(1710328243709)
    assert trade.trade_id == "497859870"
    assert trade.side == "sell"
    assert trade.px == Decimal("73239.3")
    assert trade.sz == Decimal("0.0009478")


def test_position_linear_long_short_mode() -> None:
    pos = p.parse_position(p.check_envelope(load("ccxt_static_position_ltc_usdt_swap.json"))[0])

    assert (pos.inst_id, pos.inst_type, pos.mgn_mode, pos.pos_side) == (
        "LTC-USDT-SWAP", "SWAP", "cross", "long",
    )  # fmt: skip
    assert pos.pos == Decimal(2)
    assert pos.signed_pos == Decimal(2)
    assert pos.avg_px == Decimal("82.675")
    assert pos.lever == Decimal(10)
    assert pos.liq_px is None  # "" in the payload
    assert pos.ccy == "USDT"
    assert pos.u_time == ms(1712390404547)


def test_position_inverse_and_net_mode_sign() -> None:
    inverse = p.parse_position(p.check_envelope(load("ccxt_static_position_btc_usd_swap_inverse.json"))[0])
    net_short = p.parse_position({"instId": "ETH-USDT-SWAP", "posSide": "net", "pos": "-3"})
    ls_short = p.parse_position({"instId": "ETH-USDT-SWAP", "posSide": "short", "pos": "3"})

    assert inverse.ccy == "BTC"
    assert inverse.liq_px == Decimal("89.11497615226264")
    assert net_short.signed_pos == Decimal(-3)
    assert ls_short.signed_pos == Decimal(-3)
    with pytest.raises(BadResponse):
        p.parse_position({"instId": "ETH-USDT-SWAP", "posSide": "sideways", "pos": "1"})


def test_order_filled_spot() -> None:
    order = p.parse_order(p.check_envelope(load("ccxt_static_order_ltc_usdt_filled.json"))[0])

    assert order.ord_id == "1339107111507525632"
    assert order.cl_ord_id == "e847386590ce4dBC6f7ae74854f6a617"
    assert order.state == "filled"
    assert order.is_terminal
    assert order.acc_fill_sz == Decimal("0.1")
    assert order.remaining == 0
    assert order.avg_px == Decimal("101.58")
    assert order.fee == Decimal("-0.0001")
    assert order.fee_ccy == "LTC"
    assert order.px is None
    assert order.lever is None
    assert order.reduce_only is False
    assert order.extra["tag"] == "e847386590ce4dBC"
    assert order.extra["fillPx"] == "101.58"
    assert "attachAlgoOrds" not in order.extra  # not a string


def test_order_ack_single_and_batch() -> None:
    single = p.check_envelope(load("okx_doc_place_order_response.json"), "trade/order")
    batch = p.check_batch(load("ccxt_static_batch_orders_response.json"), "trade/batch-orders", 1)

    ack = p.parse_order_ack(single[0])
    batch_ack = p.parse_order_ack(batch[0])

    assert (ack.ord_id, ack.cl_ord_id, ack.ts) == ("312269865356374016", "oktswap6", ms(1695190491421))
    assert batch_ack.ord_id == "2896576259728695296"
    assert batch_ack.s_msg == "Order placed"


def test_account_config_with_json_booleans() -> None:
    cfg = p.parse_account_config(p.check_envelope(load("okx_doc_account_config.json"))[0])

    assert cfg.acct_lv == "2"
    assert cfg.pos_mode == "long_short_mode"
    assert cfg.uid == cfg.main_uid == "44705892343619584"
    assert cfg.perm == "read_only,withdraw,trade"
    assert cfg.label == "v5 test"
    assert cfg.can_trade_contracts


def test_leverage_replies() -> None:
    echo = p.parse_leverage_info(p.check_envelope(load("okx_doc_set_leverage_response.json"))[0])
    rows = [p.parse_leverage_info(d) for d in p.check_envelope(load("okx_doc_leverage_info_response.json"))]

    assert (echo.inst_id, echo.mgn_mode, echo.pos_side, echo.lever) == (
        "BTC-USDT-SWAP", "isolated", "long", Decimal(30),
    )  # fmt: skip
    assert [(r.pos_side, r.lever) for r in rows] == [("long", Decimal(10)), ("short", Decimal(10))]


def test_server_time_and_subaccount_envelope() -> None:
    ts = p.parse_server_time(p.check_envelope(load("okx_doc_public_time.json"))[0])
    subs = p.check_envelope(load("okx_doc_subaccount_list.json"))

    assert ts == ms(1597026383085)
    assert subs[0]["subAcct"] == "D456DDDL"


def test_balance_doc_shape() -> None:
    item = {
        "totalEq": "10012.5", "adjEq": "", "upl": "", "uTime": "1700000000000",
        "details": [{"ccy": "USDT", "eq": "10012.5", "cashBal": "10000", "availBal": "9800",
                     "availEq": "9800", "frozenBal": "200", "upl": "12.5", "eqUsd": "10012.9"}],
    }  # fmt: skip

    bal = p.parse_balance(item)

    assert bal.total_eq == Decimal("10012.5")
    assert bal.upl is None
    assert bal.equity("USDT") == Decimal("10012.5")
    assert bal.equity("BTC") == 0
    assert bal.detail("USDT") is not None
    assert bal.ts == ms(1700000000000)


def test_fill_max_size_mark_price_funding_book() -> None:
    fill = p.parse_fill({
        "instId": "BTC-USDT-SWAP", "tradeId": "7", "ordId": "1", "clOrdId": "a1", "fillPx": "100",
        "fillSz": "2", "side": "buy", "posSide": "net", "fee": "-0.1", "feeCcy": "USDT",
        "fillTime": "1700000000000", "ts": "1700000000001",
    })  # fmt: skip
    size = p.parse_max_size({"instId": "BTC-USDT-SWAP", "ccy": "USDT", "maxBuy": "12", "maxSell": ""})
    mark = p.parse_mark_price({"instId": "BTC-USDT-SWAP", "markPx": "95000.1", "ts": "1700000000000"})
    funding = p.parse_funding_rate({
        "instId": "BTC-USDT-SWAP", "fundingRate": "0.0001", "fundingTime": "1700006400000",
        "nextFundingTime": "",
    })  # fmt: skip
    book = p.parse_order_book(
        {"asks": [["101", "2", "0", "3"]], "bids": [["99", "1", "0", "1"]], "ts": "1700000000000"},
        "BTC-USDT",
    )

    assert (fill.fill_px, fill.fill_sz, fill.ts) == (Decimal(100), Decimal(2), ms(1700000000000))
    assert (size.max_buy, size.max_sell) == (Decimal(12), Decimal(0))
    assert mark.mark_px == Decimal("95000.1")
    assert funding.next_funding_time is None
    assert book.asks[0].px == Decimal(101)
    assert book.asks[0].orders == 3
    assert book.bids[0].sz == Decimal(1)


@pytest.mark.parametrize(
    ("index", "error", "code"),
    [
        (0, ExchangeAuthError, "51010"),  # account mode: configuration
        (1, OrderRejected, "51155"),  # compliance
        (2, OrderRejected, "51000"),  # tdMode
        (3, OrderRejected, "51000"),  # posSide
        (4, ExchangeAuthError, "50103"),  # no data field at all
        (5, InsufficientFunds, "51119"),
        (6, ExchangeError, "58001"),
    ],
)
def test_real_error_envelopes_map_to_reactions(index: int, error: type[ExchangeError], code: str) -> None:
    reply = load("ccxt_src_error_examples.json")[index]["response"]

    with pytest.raises(error) as info:
        p.check_envelope(reply, "x")

    assert info.value.code == code
    assert type(info.value) is error


def test_missing_required_fields_raise_bad_response() -> None:
    with pytest.raises(BadResponse, match="ordId"):
        p.parse_order({"instId": "BTC-USDT", "state": "live", "sz": "1"})
    with pytest.raises(BadResponse, match="last"):
        p.parse_ticker({"instId": "BTC-USDT", "last": "", "ts": "1"})
    with pytest.raises(BadResponse, match="posMode"):
        p.parse_account_config({"acctLv": "2", "posMode": "hedge"})
    with pytest.raises(BadResponse):
        p.parse_balance("not an object")


def test_funding_history_row_takes_the_realised_rate_and_requires_its_fields() -> None:
    # the shape of OKX's public/funding-rate-history example (docs: get-funding-rate-history)
    row = {"fundingRate": "0.0000746", "fundingTime": "1703059200000", "instId": "BTC-USD-SWAP",
           "instType": "SWAP", "method": "next_period", "realizedRate": "0.0000744"}  # fmt: skip

    settled = p.parse_funding_settlement(row)
    blank = p.parse_funding_settlement({**row, "realizedRate": ""})

    assert (settled.inst_id, settled.funding_time) == ("BTC-USD-SWAP", ms(1703059200000))
    assert settled.rate == Decimal("0.0000744")
    assert blank.rate == Decimal("0.0000746")
    for field in ("fundingRate", "fundingTime", "instId"):
        with pytest.raises(BadResponse, match=field):
            p.parse_funding_settlement({k: v for k, v in row.items() if k != field} | {"realizedRate": ""})
