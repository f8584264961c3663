"""Partial fills over HTTP: order rows, trade/fills, positions, balances, cancels, controls."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from simulator.control import SimControlError
from simulator.server import RunningSimulator, start_background
from simulator.testing import RawOkx
from simulator.testing import ok_data as ok
from tests.integration.conftest import SIM_KEY, SIM_PASSPHRASE, SIM_SECRET

D = Decimal
SWAP = "ETH-USDT-SWAP"
T = 1_710_499_032_000


@pytest.fixture
def raw(sim: RunningSimulator) -> Iterator[RawOkx]:
    sim.control.set_rate_limits(False)
    sim.control.set_clock(T, mode="frozen")
    client = RawOkx(sim.base_url, SIM_KEY, SIM_SECRET, SIM_PASSPHRASE)
    yield client
    client.close()


def place(raw: RawOkx, **fields: str) -> dict[str, Any]:
    item = {"instId": SWAP, "tdMode": "cross", "ordType": "limit", **fields}
    return ok(raw.post("/api/v5/trade/order", item))[0]


def order(raw: RawOkx, cl: str) -> dict[str, Any]:
    return ok(raw.get(f"/api/v5/trade/order?instId={SWAP}&clOrdId={cl}"))[0]


def fills(raw: RawOkx, ord_id: str) -> list[dict[str, Any]]:
    return ok(raw.get(f"/api/v5/trade/fills?ordId={ord_id}"))


def usdt(raw: RawOkx) -> dict[str, Any]:
    return next(d for d in ok(raw.get("/api/v5/account/balance"))[0]["details"] if d["ccy"] == "USDT")


def test_limit_order_fills_in_parts_as_the_clock_moves(sim: RunningSimulator, raw: RawOkx) -> None:
    ctl = sim.control
    assert ctl.set_liquidity(SWAP, "0.3") == {SWAP: D("0.3")}
    px = (ctl.price(SWAP) * D("1.01")).quantize(D("0.01"))
    ack = place(raw, side="buy", sz="1", px=str(px), clOrdId="part1")
    first = order(raw, "part1")
    assert (first["state"], first["accFillSz"], first["fillSz"]) == ("partially_filled", "0.3", "0.3")
    assert D(first["avgPx"]) == D(first["fillPx"]) < px  # took the book as taker
    assert D(usdt(raw)["ordFrozen"]) == D("0.7") * D("0.1") * px / 10  # margin of the rest only
    ctl.advance(400)
    assert order(raw, "part1")["accFillSz"] == "0.3"  # same simulated second
    ctl.advance(600)
    second = order(raw, "part1")
    assert (second["state"], second["accFillSz"], second["fillSz"], D(second["fillPx"])) == (
        "partially_filled", "0.6", "0.3", px,
    )
    assert second["tradeId"] != first["tradeId"]
    assert D(second["avgPx"]) == (D(first["fillPx"]) + px) / 2
    positions = ok(raw.get(f"/api/v5/account/positions?instId={SWAP}"))
    assert positions[0]["pos"] == "0.6"
    assert [o["clOrdId"] for o in ok(raw.get("/api/v5/trade/orders-pending"))] == ["part1"]
    ctl.advance(5000)
    done = order(raw, "part1")
    assert (done["state"], done["accFillSz"], done["fillSz"]) == ("filled", "1", "0.4")
    rows = fills(raw, ack["ordId"])
    assert [(r["fillSz"], r["execType"]) for r in reversed(rows)] == [
        ("0.3", "T"), ("0.3", "M"), ("0.4", "M"),
    ]
    assert sum(D(r["fee"]) for r in rows) == D(done["fee"])
    assert D(usdt(raw)["ordFrozen"]) == 0


def test_cancelled_partial_fill_stays_in_history(sim: RunningSimulator, raw: RawOkx) -> None:
    sim.control.set_liquidity(SWAP, "0.25")
    px = (sim.control.price(SWAP) * D("1.01")).quantize(D("0.01"))
    place(raw, side="buy", sz="1", px=str(px), clOrdId="cx1")
    sim.control.advance(1000)
    reply = ok(raw.post("/api/v5/trade/cancel-order", {"instId": SWAP, "clOrdId": "cx1"}))
    assert reply[0]["sCode"] == "0"
    row = order(raw, "cx1")
    assert (row["state"], row["accFillSz"]) == ("canceled", "0.5")
    sim.control.advance(3 * 3_600_000)  # unfilled cancels age out after 2 h; this one has fills
    history = ok(raw.get("/api/v5/trade/orders-history?instType=SWAP"))
    assert [(h["clOrdId"], h["state"], h["accFillSz"]) for h in history] == [("cx1", "canceled", "0.5")]
    assert ok(raw.get(f"/api/v5/account/positions?instId={SWAP}"))[0]["pos"] == "0.5"
    assert D(usdt(raw)["ordFrozen"]) == 0


def test_market_order_fills_what_is_available_and_cancels_the_rest(
    sim: RunningSimulator, raw: RawOkx
) -> None:
    sim.control.set_liquidity(SWAP, "0.5")
    ack = ok(raw.post("/api/v5/trade/order", {"instId": SWAP, "tdMode": "cross", "side": "sell",
                                               "ordType": "market", "sz": "2", "clOrdId": "mk1"}))[0]
    assert ack["sCode"] == "0"
    row = order(raw, "mk1")
    assert (row["state"], row["accFillSz"]) == ("canceled", "0.5")
    assert len(fills(raw, ack["ordId"])) == 1
    assert ok(raw.get(f"/api/v5/account/positions?instId={SWAP}"))[0]["pos"] == "-0.5"
    sim.control.clear_liquidity(SWAP)
    ok(raw.post("/api/v5/trade/order", {"instId": SWAP, "tdMode": "cross", "side": "sell",
                                         "ordType": "market", "sz": "2", "clOrdId": "mk2"}))
    assert order(raw, "mk2")["state"] == "filled"  # unlimited again: all at once


def test_liquidity_control_api(sim: RunningSimulator) -> None:
    ctl = sim.control
    assert ctl.liquidity() == {}
    ctl.set_liquidity("BTC-USDT-SWAP", "0.05")
    ctl.set_liquidity(SWAP, 1)
    assert ctl.liquidity() == {"BTC-USDT-SWAP": D("0.05"), SWAP: D(1)}
    assert ctl.status()["venue"]["liquidity"] == {"BTC-USDT-SWAP": "0.05", SWAP: "1"}
    for bad in ("0.001", "0", "-1", "abc"):
        with pytest.raises(SimControlError):
            ctl.set_liquidity("BTC-USDT-SWAP", bad)
    with pytest.raises(SimControlError):
        ctl.set_liquidity("NOPE-USDT-SWAP", "1")
    assert ctl.clear_liquidity(SWAP) == {"BTC-USDT-SWAP": D("0.05")}
    assert ctl.clear_liquidity() == {}
    ctl.set_liquidity(SWAP, "0.5")
    ctl.reset()
    assert ctl.liquidity() == {}


def test_startup_liquidity_survives_reset() -> None:
    with start_background(liquidity={"BTC-USDT-SWAP": "0.02"}) as sim:
        assert sim.control.liquidity() == {"BTC-USDT-SWAP": D("0.02")}
        sim.control.clear_liquidity()
        sim.control.reset()
        assert sim.control.liquidity() == {"BTC-USDT-SWAP": D("0.02")}
    with pytest.raises(ValueError, match="lotSz"):
        start_background(liquidity={"BTC-USDT-SWAP": "0.001"})
