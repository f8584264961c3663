"""Partial fills (liquidity per order and simulated second), instrument state and account level,
on the matching engine directly (no server, fixed times)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from simulator.accounts import Account
from simulator.catalogue import CATALOGUE
from simulator.feed import MarketFeed
from simulator.fills import MAKER_FEE, TAKER_FEE
from simulator.matching import Engine
from simulator.orders import Order
from simulator.validation import Rejected, parse_order
from simulator.venue import Venue

NOW = 1_710_499_032_000  # 2024-03-15T10:37:12Z, a whole second
D = Decimal
ETH = CATALOGUE["ETH-USDT-SWAP"]
SOL_SPOT = CATALOGUE["SOL-USDT"]


def make(rate: str | None = "0.5", inst: Any = ETH, mode: str = "net_mode") -> tuple[Engine, Account]:
    engine = Engine(MarketFeed(7, CATALOGUE))
    if rate is not None:
        engine.venue.set_liquidity(inst, D(rate))
    return engine, Account("a", "k", "s", "p", "1", mode, D(10000))


def place(engine: Engine, acct: Account, now: int = NOW, **fields: Any) -> Order:
    item = {"instId": ETH.inst_id, "tdMode": "cross", "ordType": "limit", **fields}
    req = parse_order(item, CATALOGUE, acct.long_short)
    return engine.place(acct, req, now)


def above(engine: Engine, pct: str = "1.01", inst: Any = ETH) -> str:
    """A buy limit price that is marketable now and stays so for a while."""
    return str((engine.last(inst, NOW) * D(pct)).quantize(inst.tick_sz))


def test_marketable_limit_fills_one_allowance_per_simulated_second() -> None:
    engine, acct = make("0.5")
    px = D(above(engine))
    order = place(engine, acct, side="buy", sz="2", px=str(px))
    assert (order.state, order.acc_fill_sz, order.fill_sz) == ("partially_filled", D("0.5"), D("0.5"))
    taker_px = order.avg_px
    assert taker_px is not None
    assert taker_px < px  # the first fill takes the book (capped at the limit)
    assert order.fee == -(D("0.5") * ETH.ct_val * taker_px * TAKER_FEE)
    assert acct.positions[(ETH.inst_id, "net")].qty == D("0.5")
    full = D(2) * ETH.ct_val * px / 10
    assert order.frozen == full * D("1.5") / 2  # margin of the unfilled part only

    assert engine.sync([acct], NOW + 999) == 0  # same simulated second: nothing more
    assert order.acc_fill_sz == D("0.5")
    assert engine.sync([acct], NOW + 1000) == 1  # next second: one more allowance, as maker
    assert (order.acc_fill_sz, order.fill_sz, order.fill_px) == (D(1), D("0.5"), px)
    assert order.avg_px == (taker_px + px) / 2
    assert engine.sync([acct], NOW + 3000) == 1  # two seconds later: two allowances in one fill
    assert (order.state, order.acc_fill_sz, order.fill_sz) == ("filled", D(2), D(1))
    assert order.frozen == 0
    maker = D("1.5") * ETH.ct_val * px * MAKER_FEE
    assert order.fee == -(D("0.5") * ETH.ct_val * taker_px * TAKER_FEE) - maker
    assert [(f.sz, f.maker) for f in acct.fills] == [(D("0.5"), False), (D("0.5"), True), (D(1), True)]
    assert sum(f.fee for f in acct.fills) == order.fee
    pos = acct.positions[(ETH.inst_id, "net")]
    assert pos.qty == 2
    assert pos.avg_px == order.avg_px
    assert acct.cash["USDT"] == D(10000) + order.fee


def test_cancel_of_a_partially_filled_order_keeps_its_fills() -> None:
    engine, acct = make("0.3")
    order = place(engine, acct, side="buy", sz="1", px=above(engine))
    engine.sync([acct], NOW + 1000)
    assert order.acc_fill_sz == D("0.6")
    engine.cancel(acct, order, NOW + 1200)
    assert (order.state, order.acc_fill_sz, order.frozen) == ("canceled", D("0.6"), D(0))
    assert acct.frozen("USDT") == 0
    assert acct.positions[(ETH.inst_id, "net")].qty == D("0.6")
    assert engine.sync([acct], NOW + 5000) == 0
    with pytest.raises(Rejected) as info:
        engine.cancel(acct, order, NOW + 6000)
    assert info.value.code == "51400"


@pytest.mark.parametrize(
    ("ord_type", "sz", "state", "filled"),
    [
        ("market", "2", "canceled", "0.5"),  # IOC-style: what the book has, the rest cancelled
        ("ioc", "2", "canceled", "0.5"),
        ("optimal_limit_ioc", "2", "canceled", "0.5"),
        ("fok", "2", "canceled", "0"),  # all or nothing
        ("fok", "0.5", "filled", "0.5"),
        ("market", "0.4", "filled", "0.4"),
    ],
)
def test_orders_that_never_rest(ord_type: str, sz: str, state: str, filled: str) -> None:
    engine, acct = make("0.5")
    fields: dict[str, Any] = {"side": "buy", "sz": sz, "ordType": ord_type}
    if ord_type in {"ioc", "fok"}:
        fields["px"] = above(engine)
    order = place(engine, acct, **fields)
    assert (order.state, order.acc_fill_sz) == (state, D(filled))
    assert order.frozen == 0
    assert len(acct.fills) == (1 if D(filled) else 0)
    assert engine.sync([acct], NOW + 5000) == 0


def test_resting_limit_fills_only_while_the_path_reaches_it() -> None:
    engine, acct = make("0.2")
    last = engine.last(ETH, NOW)
    px = str((last * D("0.99")).quantize(ETH.tick_sz))
    order = place(engine, acct, side="buy", sz="1", px=px)
    assert (order.state, order.acc_fill_sz) == ("live", D(0))
    engine.sync([acct], NOW + 5000)
    assert order.acc_fill_sz == 0  # never reached: its idle seconds are not credited
    engine.feed.set_price(ETH, last * D("0.98"), NOW + 5000)
    engine.sync([acct], NOW + 5200)
    assert (order.state, order.acc_fill_sz, order.fill_px) == ("partially_filled", D("0.2"), D(px))
    engine.sync([acct], NOW + 5700)
    assert order.acc_fill_sz == D("0.2")
    engine.sync([acct], NOW + 7000)
    assert order.acc_fill_sz == D("0.6")
    assert all(f.maker for f in acct.fills)


def test_amend_to_a_marketable_price_takes_one_allowance() -> None:
    engine, acct = make("0.5")
    low = str((engine.last(ETH, NOW) * D("0.9")).quantize(ETH.tick_sz))
    order = place(engine, acct, side="buy", sz="2", px=low)
    engine.amend(acct, order, None, D(above(engine)), NOW + 1000)
    assert (order.state, order.acc_fill_sz) == ("partially_filled", D("0.5"))
    assert not acct.fills[-1].maker


def test_spot_partial_fills_move_funds_and_release_frozen_quote() -> None:
    engine, acct = make("0.5", inst=SOL_SPOT)
    px = D(above(engine, inst=SOL_SPOT))
    item = {"instId": SOL_SPOT.inst_id, "tdMode": "cash", "ordType": "limit", "side": "buy",
            "sz": "2", "px": str(px)}
    order = engine.place(acct, parse_order(item, CATALOGUE, False), NOW)
    assert order.acc_fill_sz == D("0.5")
    assert acct.frozen("USDT") == D("1.5") * px
    assert acct.cash["SOL"] == D("0.5") * (1 - TAKER_FEE)
    engine.sync([acct], NOW + 1000)
    assert acct.frozen("USDT") == D(1) * px
    assert [(f.sz, f.maker) for f in acct.fills] == [(D("0.5"), False), (D("0.5"), True)]
    spent = sum((f.sz * f.px for f in acct.fills), D(0))
    assert acct.cash["USDT"] == D(10000) - spent
    assert acct.cash["SOL"] == sum((f.sz + f.fee for f in acct.fills), D(0))


def test_reduce_only_resting_order_checks_only_what_is_left() -> None:
    engine, acct = make(None)
    place(engine, acct, side="buy", sz="1", ordType="market")
    engine.venue.set_liquidity(ETH, D("0.4"))
    low = engine.last(ETH, NOW) * D("0.99")
    order = place(engine, acct, side="sell", sz="1", px=str(low.quantize(ETH.tick_sz)), reduceOnly="true")
    assert order.acc_fill_sz == D("0.4")
    engine.sync([acct], NOW + 1000)
    engine.sync([acct], NOW + 2000)
    assert (order.state, order.acc_fill_sz) == ("filled", D(1))
    assert not acct.positions


def test_suspended_instrument_refuses_orders_and_stops_matching() -> None:
    engine, acct = make(None)
    last = engine.last(ETH, NOW)
    resting = place(engine, acct, side="buy", sz="1", px=str((last * D("0.99")).quantize(ETH.tick_sz)))
    far = place(engine, acct, side="buy", sz="1", px=str((last * D("0.5")).quantize(ETH.tick_sz)))
    engine.venue.set_state(ETH, "suspend")
    with pytest.raises(Rejected) as info:
        place(engine, acct, side="buy", sz="1", ordType="market")
    assert info.value.code == "51001"
    assert "suspend" in info.value.msg
    with pytest.raises(Rejected):
        engine.amend(acct, resting, D(2), None, NOW)
    engine.feed.set_price(ETH, last * D("0.97"), NOW + 1000)
    assert engine.sync([acct], NOW + 2000) == 0  # no matching while suspended
    assert engine.cancel(acct, far, NOW + 2000).state == "canceled"  # cancels still work
    engine.venue.set_state(ETH, "live")
    assert engine.venue.to_json()["states"] == {}
    engine.feed.set_price(ETH, engine.last(ETH, NOW + 3000) * D("0.97"), NOW + 3000)
    assert engine.sync([acct], NOW + 3000) == 1
    assert resting.state == "filled"


@pytest.mark.parametrize(
    ("level", "inst_id", "td_mode", "code"),
    [
        ("1", "ETH-USDT-SWAP", "cross", "51010"),  # Spot mode trades no swaps
        ("1", "SOL-USDT", "cash", None),
        ("3", "ETH-USDT-SWAP", "isolated", "51010"),
        ("3", "ETH-USDT-SWAP", "cross", None),
        ("2", "ETH-USDT-SWAP", "isolated", None),
    ],
)
def test_account_level_limits_what_can_be_traded(
    level: str, inst_id: str, td_mode: str, code: str | None
) -> None:
    engine, acct = make(None)
    acct.acct_lv = level
    item = {"instId": inst_id, "tdMode": td_mode, "ordType": "market", "side": "buy", "sz": "1"}
    if td_mode == "cash":
        item["tgtCcy"] = "base_ccy"
    req = parse_order(item, CATALOGUE, False)
    if code is None:
        assert engine.place(acct, req, NOW).state == "filled"
    else:
        with pytest.raises(Rejected) as info:
            engine.place(acct, req, NOW)
        assert info.value.code == code


def test_venue_validation() -> None:
    venue = Venue()
    with pytest.raises(ValueError, match="lotSz"):
        venue.set_liquidity(ETH, D("0.005"))
    with pytest.raises(ValueError, match="positive"):
        venue.set_liquidity(ETH, D(0))
    with pytest.raises(ValueError, match="state"):
        venue.set_state(ETH, "halted")
    venue.set_liquidity(ETH, D("0.03"))
    assert venue.available(ETH, NOW // 1000 - 1, NOW, D(1)) == D("0.03")
    assert venue.available(ETH, NOW // 1000 - 4, NOW + 999, D("0.1")) == D("0.1")
    assert venue.available(ETH, NOW // 1000, NOW + 999, D(1)) == 0
    venue.clear_liquidity(ETH)
    assert venue.available(ETH, NOW // 1000, NOW, D(7)) == D(7)
