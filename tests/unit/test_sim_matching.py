"""Simulator matching engine and margin arithmetic (pure: no server, fixed time)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from simulator.accounts import Account
from simulator.catalogue import CATALOGUE
from simulator.feed import MarketFeed
from simulator.matching import MAKER_FEE, TAKER_FEE, Engine
from simulator.validation import Rejected, parse_order

NOW = 1_710_499_032_000  # 2024-03-15T10:37:12Z
D = Decimal


def make(mode: str = "net_mode", usdt: str = "10000") -> tuple[Engine, Account]:
    feed = MarketFeed(7, CATALOGUE)
    return Engine(feed), Account("a", "k", "s", "p", "1", mode, D(usdt))


def place(engine: Engine, acct: Account, now: int = NOW, **fields: Any) -> Any:
    item = {"tdMode": "cross", "ordType": "market", **fields}
    req = parse_order(item, CATALOGUE, acct.long_short)
    return engine.place(acct, req, now)


def reject_code(engine: Engine, acct: Account, **fields: Any) -> str:
    with pytest.raises(Rejected) as info:
        place(engine, acct, **fields)
    return info.value.code


def test_market_buy_fills_with_slippage_and_taker_fee() -> None:
    engine, acct = make()
    inst = CATALOGUE["BTC-USDT-SWAP"]
    last = engine.last(inst, NOW)
    order = place(engine, acct, instId=inst.inst_id, side="buy", sz="2")
    assert order.state == "filled"
    assert order.acc_fill_sz == 2
    assert last < order.avg_px <= last * D("1.0002") + inst.tick_sz
    fee = -(D(2) * inst.ct_val * order.avg_px * TAKER_FEE)
    assert order.fee == fee
    assert order.fee_ccy == "USDT"
    assert acct.cash["USDT"] == D(10000) + fee
    pos = acct.positions[(inst.inst_id, "net")]
    assert pos.qty == 2
    assert pos.avg_px == order.avg_px
    assert pos.lever == 10


def test_net_mode_reduce_then_flip_realises_pnl() -> None:
    engine, acct = make()
    inst = CATALOGUE["ETH-USDT-SWAP"]
    buy = place(engine, acct, instId=inst.inst_id, side="buy", sz="3")
    later = NOW + 3_600_000
    sell = place(engine, acct, later, instId=inst.inst_id, side="sell", sz="5")
    pos = acct.positions[(inst.inst_id, "net")]
    assert pos.qty == -2
    assert pos.avg_px == sell.avg_px
    realised = (sell.avg_px - buy.avg_px) * 3 * inst.ct_val
    assert sell.pnl == realised
    assert acct.cash["USDT"] == D(10000) + buy.fee + sell.fee + realised


def test_reduce_only_is_honoured_in_net_mode() -> None:
    engine, acct = make()
    inst = "SOL-USDT-SWAP"
    assert reject_code(engine, acct, instId=inst, side="sell", sz="1", reduceOnly="true") == "51169"
    place(engine, acct, instId=inst, side="buy", sz="1")
    assert reject_code(engine, acct, instId=inst, side="sell", sz="2", reduceOnly=True) == "51112"
    place(engine, acct, instId=inst, side="sell", sz="1", reduceOnly="true")
    assert not acct.positions


def test_long_short_mode_open_and_close_by_side() -> None:
    engine, acct = make("long_short_mode")
    inst = "BTC-USDT-SWAP"
    assert reject_code(engine, acct, instId=inst, side="buy", sz="1") == "51000"  # posSide
    place(engine, acct, instId=inst, side="buy", sz="1", posSide="long")
    place(engine, acct, instId=inst, side="sell", sz="2", posSide="short")
    assert acct.positions[(inst, "long")].qty == 1
    assert acct.positions[(inst, "short")].qty == -2
    assert reject_code(engine, acct, instId=inst, side="sell", sz="3", posSide="long") == "51112"
    place(engine, acct, instId=inst, side="sell", sz="1", posSide="long")  # close long
    assert (inst, "long") not in acct.positions


def test_net_mode_rejects_long_short_pos_side() -> None:
    engine, acct = make()
    assert reject_code(engine, acct, instId="BTC-USDT-SWAP", side="buy", sz="1", posSide="long") == "51000"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"instId": "NOPE-USDT-SWAP"}, "51001"),
        ({"sz": "0.015"}, "51121"),  # lotSz 0.01
        ({"instId": "ADA-USDT-SWAP", "sz": "0.5"}, "51121"),  # lotSz 1
        ({"clOrdId": "has-dash"}, "51000"),
        ({"clOrdId": "x" * 33}, "51000"),
        ({"tdMode": "cash"}, "51000"),
        ({"ordType": "limit"}, "51000"),  # px missing
        ({"ordType": "limit", "px": "100.05"}, "51000"),  # off the 0.1 tick
        ({"side": "hold"}, "51000"),
        ({"sz": "abc"}, "51000"),
    ],
)
def test_parameter_errors(fields: dict[str, str], code: str) -> None:
    engine, acct = make()
    base = {"instId": "BTC-USDT-SWAP", "side": "buy", "sz": "1"}
    assert reject_code(engine, acct, **{**base, **fields}) == code


def test_insufficient_margin() -> None:
    engine, acct = make(usdt="100")
    # 1 contract BTC ~ 0.01 * ~1e5 = ~1000 USDT notional -> 100 USDT margin at 10x
    assert reject_code(engine, acct, instId="BTC-USDT-SWAP", side="buy", sz="2") == "51008"
    acct.set_lever(CATALOGUE["BTC-USDT-SWAP"], "cross", "", 100)
    place(engine, acct, instId="BTC-USDT-SWAP", side="buy", sz="2")


def test_duplicate_pending_cl_ord_id() -> None:
    engine, acct = make()
    inst = CATALOGUE["BTC-USDT-SWAP"]
    low = engine.last(inst, NOW) * D("0.5")
    low -= low % inst.tick_sz
    place(engine, acct, instId=inst.inst_id, side="buy", sz="1", ordType="limit", px=str(low), clOrdId="dup1")
    code = reject_code(
        engine, acct, instId=inst.inst_id, side="buy", sz="1", ordType="limit", px=str(low), clOrdId="dup1"
    )
    assert code == "51016"


def test_limit_order_rests_freezes_margin_then_fills_as_maker() -> None:
    engine, acct = make()
    inst = CATALOGUE["BTC-USDT-SWAP"]
    last = engine.last(inst, NOW)
    px = last - 50 * inst.tick_sz
    order = place(engine, acct, instId=inst.inst_id, side="buy", sz="1", ordType="limit", px=str(px))
    assert order.state == "live"
    assert order.frozen == inst.ct_val * px / 10
    engine.feed.set_price(inst, px - 100 * inst.tick_sz, NOW + 1000)
    assert engine.sync([acct], NOW + 2000) == 1
    assert order.state == "filled"
    assert order.avg_px == px
    assert order.frozen == 0
    assert order.fee == -(inst.ct_val * px * MAKER_FEE)
    assert acct.positions[(inst.inst_id, "net")].avg_px == px


def test_marketable_limit_fills_at_once_no_worse_than_limit() -> None:
    engine, acct = make()
    inst = CATALOGUE["ETH-USDT-SWAP"]
    px = engine.last(inst, NOW) * 2
    order = place(
        engine, acct, instId=inst.inst_id, side="buy", sz="1", ordType="limit", px=str(px - px % inst.tick_sz)
    )
    assert order.state == "filled"
    assert order.avg_px < px


def test_cancel_and_amend() -> None:
    engine, acct = make()
    inst = CATALOGUE["BTC-USDT-SWAP"]
    px = (engine.last(inst, NOW) * D("0.9")).quantize(D("1"))
    order = place(engine, acct, instId=inst.inst_id, side="buy", sz="1", ordType="limit", px=str(px))
    engine.amend(acct, order, D(2), None, NOW)
    assert order.sz == 2
    assert order.frozen == 2 * inst.ct_val * px / 10
    engine.cancel(acct, order, NOW)
    assert order.state == "canceled"
    assert acct.frozen("USDT") == 0
    with pytest.raises(Rejected) as info:
        engine.cancel(acct, order, NOW)
    assert info.value.code == "51400"


def test_spot_trading_moves_balances_per_currency() -> None:
    engine, acct = make()
    inst = CATALOGUE["ETH-USDT"]
    buy = place(engine, acct, instId=inst.inst_id, tdMode="cash", side="buy", sz="100", tgtCcy="quote_ccy")
    assert buy.fee_ccy == "ETH"
    assert buy.req_sz == "100"
    eth = acct.cash["ETH"]
    assert eth == buy.acc_fill_sz + buy.fee
    assert D(9900) <= acct.cash["USDT"] < D(9901)
    sell = place(
        engine,
        acct,
        instId=inst.inst_id,
        tdMode="cash",
        side="sell",
        sz=str(eth.quantize(D("0.000001"), rounding="ROUND_DOWN")),
    )
    assert sell.fee_ccy == "USDT"
    assert sell.state == "filled"
    assert reject_code(engine, acct, instId=inst.inst_id, tdMode="cash", side="sell", sz="1") == "51008"


def test_equity_is_cash_plus_upl() -> None:
    engine, acct = make()
    inst = CATALOGUE["BTC-USDT-SWAP"]
    place(engine, acct, instId=inst.inst_id, side="buy", sz="3")
    marks = engine.mark_fn(NOW + 60_000)
    pos = acct.positions[(inst.inst_id, "net")]
    upl = (marks(inst) - pos.avg_px) * 3 * inst.ct_val
    assert acct.usdt_eq(marks) == acct.cash["USDT"] + upl
    assert acct.avail_usdt(marks) == acct.usdt_eq(marks) - pos.imr(marks(inst))
