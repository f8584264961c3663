"""Typed records -> FMZ data shapes, status mapping, rebuilt OKX ``raw`` (gateway.convert, gateway.raw)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from exchange.records import (
    Balance,
    BalanceDetail,
    BookLevel,
    Candle,
    FundingRate,
    Instrument,
    Order,
    OrderAck,
    OrderBook,
    Position,
    PublicTrade,
    Ticker,
)
from gateway import convert, raw

T0 = datetime(2024, 11, 8, 1, 21, 43, 911000, tzinfo=UTC)
D = Decimal


def ticker() -> Ticker:
    return Ticker(
        inst_id="ETH-USDT", last=D("2922.18"), bid=D("2922.18"), ask=D("2922.19"), bid_sz=D(1),
        ask_sz=D(2), open24h=D("2787.72"), high24h=D("2955"), low24h=D("2775.15"),
        vol24h=D("249400.888156"), vol_ccy24h=D("1.5E+8"), ts=T0,
    )  # fmt: skip


def order(state: str = "live", filled: str = "0", px: str | None = "1005", avg: str | None = None) -> Order:
    return Order(
        inst_id="ETH-USDT", inst_type="SPOT", ord_id="123456", cl_ord_id="fmzabc", state=state,
        side="buy", pos_side="net", ord_type="limit", td_mode="cash",
        px=D(px) if px is not None else None, sz=D("0.25"), acc_fill_sz=D(filled),
        avg_px=D(avg) if avg is not None else None, fee=D("-0.1"), fee_ccy="ETH", pnl=None,
        lever=None, reduce_only=False, c_time=T0, u_time=T0, extra={"category": "normal"},
    )  # fmt: skip


def test_ticker_matches_guide_shape() -> None:
    data = convert.ticker_data(ticker())
    assert data == {
        "symbol": "ETH_USDT", "buy": "2922.18", "sell": "2922.19", "high": "2955", "low": "2775.15",
        "open": "2787.72", "last": "2922.18", "vol": "249400.888156", "time": "1731028903911",
    }  # fmt: skip


def test_numbers() -> None:
    assert convert.num(D("1000")) == 1000
    assert isinstance(convert.num(D("1000.000")), int)
    assert convert.num(D("0.2482982056277609")) == pytest.approx(0.2482982056277609)
    assert convert.num(None) == 0
    assert convert.text(D("1E+3")) == "1000"
    assert convert.text(D("2922.1800")) == "2922.18"
    assert convert.text(D("0.00000100")) == "0.000001"
    assert convert.text(None) == "0"


def test_depth_orders_sides_and_limits() -> None:
    book = OrderBook(
        inst_id="ETH-USDT",
        asks=(
            BookLevel(D(1001), D("0.23"), 1),
            BookLevel(D(1000), D("0.5"), 2),
            BookLevel(D(1004), D("2.1"), 1),
        ),
        bids=(
            BookLevel(D(995), D("1.4"), 1),
            BookLevel(D(999), D("0.25"), 1),
            BookLevel(D(998), D("0.8"), 1),
        ),
        ts=T0,
    )
    assert convert.depth_data(book) == {
        "time": 1731028903911,
        "asks": [[1000, 0.5], [1001, 0.23], [1004, 2.1]],
        "bids": [[999, 0.25], [998, 0.8], [995, 1.4]],
    }
    assert convert.depth_data(book, 2)["asks"] == [[1000, 0.5], [1001, 0.23]]
    rebuilt = raw.okx_object(book)
    assert rebuilt["asks"][0] == ["1001", "0.23", "0", "1"]
    assert rebuilt["ts"] == "1731028903911"


def test_trades_oldest_first() -> None:
    trades = [
        PublicTrade("ETH-USDT", "12545664", D(1001), D(1), "sell", T0),
        PublicTrade("ETH-USDT", "12232153", D(1000), D("0.5"), "buy", T0 - timedelta(milliseconds=68)),
    ]
    assert convert.trade_rows(trades) == [
        {"id": "12232153", "time": 1731028903843, "price": 1000, "amount": 0.5, "type": "buy"},
        {"id": "12545664", "time": 1731028903911, "price": 1001, "amount": 1, "type": "sell"},
    ]


def candle(hour: int, close: str = "4.4", confirmed: bool = True) -> Candle:
    return Candle(
        inst_id="ETH-USDT", bar="1H", ts=datetime(2024, 1, 1, hour, tzinfo=UTC), open=D("1.1"),
        high=D("5.5"), low=D("1.0"), close=D(close), vol=D("5.5"), vol_ccy=D(6), vol_quote=D(7),
        confirmed=confirmed,
    )  # fmt: skip


def test_records_seconds_ascending_unique_limited() -> None:
    candles = [candle(2, confirmed=False), candle(0), candle(1), candle(1, close="4.5")]
    rows = convert.record_rows(candles)
    assert [r[0] for r in rows] == [1704067200, 1704070800, 1704074400]
    assert rows[0] == [1704067200, 1.1, 5.5, 1, 4.4, 5.5]
    assert all(len(r) == 6 for r in rows)
    assert [r[0] for r in convert.record_rows(candles, 2)] == [1704070800, 1704074400]
    assert raw.okx_object(candles[0]) == ["1704074400000", "1.1", "5.5", "1.0", "4.4", "5.5", "6", "7", "0"]


def test_account_rows() -> None:
    balance = Balance(
        total_eq=D(3000), upl=None, ts=T0,
        details=(
            BalanceDetail("TUSD", D(3000), D(3000), D(3000), D(3000), D(0), None, None),
            BalanceDetail("BTC", D("0.25"), D("0.25"), D("0.2482982056277609"), None, D("0.0017"), None,
                          None),
            BalanceDetail("ETH", D(1), D(1), None, None, None, None, None),
        ),
    )  # fmt: skip
    assert convert.account_rows(balance) == [
        {"currency": "TUSD", "free": "3000", "frozen": "0"},
        {"currency": "BTC", "free": "0.2482982056277609", "frozen": "0.0017"},
        {"currency": "ETH", "free": "1", "frozen": "0"},
    ]
    rebuilt = raw.envelope(balance)
    assert rebuilt["code"] == "0"
    assert rebuilt["data"][0]["details"][1]["availBal"] == "0.2482982056277609"
    assert rebuilt["data"][0]["details"][1]["availEq"] == ""
    assert rebuilt["data"][0]["totalEq"] == "3000"


@pytest.mark.parametrize(
    ("state", "filled", "status"),
    [
        ("live", "0", "pending"),
        ("partially_filled", "0.1", "partial-filled"),
        ("filled", "0.25", "filled"),
        ("canceled", "0", "canceled"),
        ("canceled", "0.1", "partial-canceled"),
        ("mmp_canceled", "0", "canceled"),
        ("mmp_canceled", "0.1", "partial-canceled"),
        ("something_new", "0", "something_new"),
    ],
)
def test_order_status(state: str, filled: str, status: str) -> None:
    assert convert.order_status(state, D(filled)) == status


def test_order_data() -> None:
    assert convert.order_data(order()) == {
        "id": "ETH-USDT,123456", "symbol": "ETH_USDT", "amount": 0.25, "price": 1005,
        "deal_amount": 0, "avg_price": 0, "type": "buy", "status": "pending", "time": 1731028903911,
    }  # fmt: skip
    done = convert.order_data(order("filled", "0.25", px=None, avg="1000.5"))
    assert (done["price"], done["avg_price"], done["deal_amount"], done["status"]) == (
        0,
        1000.5,
        0.25,
        "filled",
    )


def test_order_raw_uses_okx_names_and_encoding() -> None:
    rebuilt = raw.okx_object(order())
    assert rebuilt["instId"] == "ETH-USDT"
    assert rebuilt["ordId"] == "123456"
    assert rebuilt["clOrdId"] == "fmzabc"
    assert rebuilt["accFillSz"] == "0"
    assert rebuilt["avgPx"] == ""
    assert rebuilt["reduceOnly"] == "false"
    assert rebuilt["cTime"] == "1731028903911"
    assert rebuilt["category"] == "normal"  # Order.extra merged back
    assert "extra" not in rebuilt
    ack = raw.envelope(OrderAck("123456", "fmzabc", T0, "Order placed"))
    assert ack["data"] == [
        {"ordId": "123456", "clOrdId": "fmzabc", "ts": "1731028903911", "sMsg": "Order placed"}
    ]
    json.dumps(raw.envelope([order(), order("filled")]))  # JSON-serialisable throughout


def test_ticker_raw() -> None:
    rebuilt = raw.okx_object(ticker())
    assert rebuilt["bidPx"] == "2922.18"
    assert rebuilt["askPx"] == "2922.19"
    assert rebuilt["vol24h"] == "249400.888156"
    assert rebuilt["volCcy24h"] == "150000000"
    assert rebuilt["ts"] == "1731028903911"


def position(pos: str, pos_side: str = "net", avail: str | None = None) -> Position:
    return Position(
        inst_id="BTC-USDT-SWAP", inst_type="SWAP", mgn_mode="cross", pos_side=pos_side,  # type: ignore[arg-type]
        pos=D(pos), avail_pos=D(avail) if avail is not None else None, avg_px=D(50000),
        mark_px=D(51000), upl=D("10.5"), lever=D(10), liq_px=None, ccy="USDT", u_time=T0,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("pos", "side", "avail", "kind", "amount", "frozen"),
    [
        ("3", "net", "3", 0, 3, 0),
        ("-3", "net", "-1", 1, 3, 2),
        ("2", "long", "1", 0, 2, 1),
        ("2", "short", None, 1, 2, 0),
    ],
)
def test_position_row(pos: str, side: str, avail: str | None, kind: int, amount: int, frozen: int) -> None:
    row = convert.position_row(position(pos, side, avail), D("0.01"))
    assert row["symbol"] == "BTC_USDT.swap"
    assert row["contract_type"] == "swap"
    assert (row["type"], row["amount"], row["frozen_amount"]) == (kind, amount, frozen)
    assert (row["price"], row["profit"], row["margin_level"]) == (50000, 10.5, 10)
    assert row["margin"] == pytest.approx(amount * 0.01 * 51000 / 10)


def test_funding_row() -> None:
    f = FundingRate("BTC-USDT-SWAP", D("0.0001"), T0, T0 + timedelta(hours=4))
    assert convert.funding_row(f) == {
        "symbol": "BTC_USDT.swap", "time": 1731028903911, "rate": 0.0001, "interval": 4 * 3600 * 1000,
    }  # fmt: skip
    assert convert.funding_row(FundingRate("BTC-USDT-SWAP", D(0), T0, None))["interval"] == 8 * 3600 * 1000


def test_market_row() -> None:
    inst = Instrument(
        inst_id="BTC-USDT-SWAP", inst_type="SWAP", base_ccy="", quote_ccy="", settle_ccy="USDT",
        ct_val=D("0.01"), ct_mult=D(1), ct_val_ccy="BTC", ct_type="linear", lot_sz=D("0.1"),
        min_sz=D("0.1"), tick_sz=D("0.1"), max_lever=D(100), state="live", max_lmt_sz=D(10000),
    )  # fmt: skip
    row = convert.market_row(inst)
    assert row["symbol"] == "BTC_USDT.swap"
    assert (row["base_asset"], row["quote_asset"]) == ("BTC", "USDT")
    assert (row["tick_size"], row["price_precision"], row["amount_precision"]) == (0.1, 1, 1)
    assert (row["ct_val"], row["min_qty"], row["max_qty"]) == (0.01, 0.1, 10000)
