"""Trading over HTTP: both position modes, resting limits, amend/close, balances, spot."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from simulator.server import RunningSimulator
from simulator.testing import RawOkx
from simulator.testing import ok_data as ok
from tests.integration.conftest import SIM_KEY, SIM_PASSPHRASE, SIM_SECRET

D = Decimal
SWAP = "ETH-USDT-SWAP"


@pytest.fixture
def raw(sim: RunningSimulator) -> Iterator[RawOkx]:
    sim.control.set_rate_limits(False)
    sim.control.set_clock(1_710_499_032_000, mode="frozen")
    client = RawOkx(sim.base_url, SIM_KEY, SIM_SECRET, SIM_PASSPHRASE)
    yield client
    client.close()


def order(raw: RawOkx, **fields: str) -> dict[str, Any]:
    item = {"instId": SWAP, "tdMode": "cross", "ordType": "market", **fields}
    return ok(raw.post("/api/v5/trade/order", item))[0]


def positions(raw: RawOkx) -> dict[str, dict[str, Any]]:
    return {p["posSide"]: p for p in ok(raw.get(f"/api/v5/account/positions?instId={SWAP}"))}


def last(raw: RawOkx, inst_id: str = SWAP) -> Decimal:
    return D(ok(raw.get(f"/api/v5/market/ticker?instId={inst_id}", signed=False))[0]["last"])


def test_net_mode_flip_and_close_position(raw: RawOkx) -> None:
    order(raw, side="buy", sz="3")
    assert positions(raw)["net"]["pos"] == "3"
    order(raw, side="sell", sz="5")
    assert positions(raw)["net"]["pos"] == "-2"
    closed = ok(raw.post("/api/v5/trade/close-position", {"instId": SWAP, "mgnMode": "cross"}))
    assert closed[0]["instId"] == SWAP
    assert positions(raw) == {}
    missing = raw.post("/api/v5/trade/close-position", {"instId": SWAP, "mgnMode": "cross"})
    assert missing.json()["code"] == "1"


def test_long_short_mode(raw: RawOkx) -> None:
    assert ok(raw.post("/api/v5/account/set-position-mode", {"posMode": "long_short_mode"}))
    assert ok(raw.get("/api/v5/account/config"))[0]["posMode"] == "long_short_mode"
    order(raw, side="buy", sz="2", posSide="long")
    order(raw, side="sell", sz="1", posSide="short")
    book = positions(raw)
    assert (book["long"]["pos"], book["short"]["pos"]) == ("2", "1")
    order(raw, side="sell", sz="2", posSide="long")  # close long = sell + long
    assert set(positions(raw)) == {"short"}
    info = ok(raw.get(f"/api/v5/account/leverage-info?instId={SWAP}&mgnMode=cross"))
    assert [r["posSide"] for r in info] == ["long", "short"]
    switch = raw.post("/api/v5/account/set-position-mode", {"posMode": "net_mode"})
    assert switch.json()["code"] == "59000"  # not with an open position


def test_limit_order_rests_then_fills_when_price_crosses(raw: RawOkx, sim: RunningSimulator) -> None:
    px = (last(raw) * D("0.95")).quantize(D("0.01"))
    placed = order(raw, side="buy", sz="1", ordType="limit", px=str(px), clOrdId="rest1")
    query = f"/api/v5/trade/order?instId={SWAP}&ordId={placed['ordId']}"
    assert ok(raw.get(query))[0]["state"] == "live"
    balance = ok(raw.get("/api/v5/account/balance?ccy=USDT"))[0]["details"][0]
    assert D(balance["ordFrozen"]) == px * D("0.1") / 10
    sim.control.advance(60_000)
    assert ok(raw.get(query))[0]["state"] == "live"  # the path did not get there
    sim.control.set_price(SWAP, str(px * D("0.98")))
    filled = ok(raw.get(query))[0]
    assert (filled["state"], D(filled["avgPx"]), filled["accFillSz"]) == ("filled", px, "1")
    assert D(filled["fee"]) == -(px * D("0.1") * D("0.0002"))  # maker
    fills = ok(raw.get(f"/api/v5/trade/fills?instId={SWAP}"))
    assert fills[0]["execType"] == "M"
    assert fills[0]["clOrdId"] == "rest1"
    assert sim.control.orders(cl_ord_id="rest1")[0]["state"] == "filled"


def test_amend_and_batch_cancel(raw: RawOkx) -> None:
    px = (last(raw) * D("0.9")).quantize(D("0.01"))
    a = order(raw, side="buy", sz="1", ordType="limit", px=str(px), clOrdId="am1")
    b = order(raw, side="buy", sz="1", ordType="limit", px=str(px), clOrdId="am2")
    amended = ok(
        raw.post("/api/v5/trade/amend-order", {"instId": SWAP, "clOrdId": "am1", "newSz": "2", "reqId": "r1"})
    )
    assert amended[0]["reqId"] == "r1"
    assert ok(raw.get(f"/api/v5/trade/order?instId={SWAP}&clOrdId=am1"))[0]["sz"] == "2"
    cancelled = ok(
        raw.post(
            "/api/v5/trade/cancel-batch-orders",
            [{"instId": SWAP, "ordId": a["ordId"]}, {"instId": SWAP, "ordId": b["ordId"]}],
        )
    )
    assert [c["sCode"] for c in cancelled] == ["0", "0"]
    assert ok(raw.get("/api/v5/trade/orders-pending")) == []
    history = ok(raw.get("/api/v5/trade/orders-history?instType=SWAP&state=canceled"))
    assert {o["clOrdId"] for o in history} == {"am1", "am2"}


def test_balance_equity_is_cash_plus_upl(raw: RawOkx, sim: RunningSimulator) -> None:
    order(raw, side="buy", sz="10")
    sim.control.set_price(SWAP, str(last(raw) * D("1.05")))
    usdt = ok(raw.get("/api/v5/account/balance"))[0]["details"][0]
    upl = D(positions(raw)["net"]["upl"])
    assert upl > 0
    assert D(usdt["upl"]) == upl
    assert D(usdt["eq"]) == D(usdt["cashBal"]) + upl
    closed = order(raw, side="sell", sz="10")
    after = ok(raw.get("/api/v5/account/balance"))[0]["details"][0]
    assert D(after["upl"]) == 0
    assert D(after["eq"]) == D(after["cashBal"])
    assert D(after["cashBal"]) > D(10000)  # realised profit went to cash
    assert ok(raw.get(f"/api/v5/trade/order?instId={SWAP}&ordId={closed['ordId']}"))[0]["pnl"]


def test_spot_trading_balances_per_currency(raw: RawOkx) -> None:
    item = {
        "instId": "SOL-USDT",
        "tdMode": "cash",
        "side": "buy",
        "ordType": "market",
        "sz": "2",
        "tgtCcy": "base_ccy",
    }
    ok(raw.post("/api/v5/trade/batch-orders", [item]))
    details = {d["ccy"]: d for d in ok(raw.get("/api/v5/account/balance"))[0]["details"]}
    assert D(details["SOL"]["cashBal"]) == D(2) * (1 - D("0.0005"))
    assert D(details["USDT"]["cashBal"]) < D(10000)
    sizes = ok(raw.get("/api/v5/account/max-size?instId=SOL-USDT&tdMode=cash"))[0]
    assert D(sizes["maxSell"]) == D(details["SOL"]["availBal"])


def test_max_size_and_leverage(raw: RawOkx) -> None:
    ok(raw.post("/api/v5/account/set-leverage", {"instId": SWAP, "lever": 20, "mgnMode": "cross"}))
    size = D(ok(raw.get(f"/api/v5/account/max-size?instId={SWAP}&tdMode=cross"))[0]["maxBuy"])
    expected = D(10000) * 20 / (D("0.1") * last(raw))
    assert expected - D("0.01") <= size <= expected
    too_high = raw.post("/api/v5/account/set-leverage", {"instId": SWAP, "lever": "101", "mgnMode": "cross"})
    assert too_high.json()["code"] == "51000"


def test_clock_advance_fills_a_resting_order(raw: RawOkx, sim: RunningSimulator) -> None:
    px = (last(raw) * D("0.998")).quantize(D("0.01"))
    placed = order(raw, side="buy", sz="1", ordType="limit", px=str(px))
    sim.control.advance(86_400_000)  # a day of path; deterministic for the seed and start time
    got = ok(raw.get(f"/api/v5/trade/order?instId={SWAP}&ordId={placed['ordId']}"))[0]
    assert got["state"] == "filled"
    assert D(got["avgPx"]) == px


def test_order_lookup_by_reused_cl_ord_id_returns_the_latest(raw: RawOkx) -> None:
    px = str((last(raw) * D("0.8")).quantize(D("0.01")))
    first = order(raw, side="buy", sz="1", ordType="limit", px=px, clOrdId="again1")
    ok(raw.post("/api/v5/trade/cancel-order", {"instId": SWAP, "clOrdId": "again1"}))
    second = order(raw, side="buy", sz="2", ordType="limit", px=px, clOrdId="again1")
    got = ok(raw.get(f"/api/v5/trade/order?instId={SWAP}&clOrdId=again1"))[0]
    assert got["ordId"] == second["ordId"] != first["ordId"]
    assert got["sz"] == "2"
