"""The trader against the simulator: open, close, reverse (both position modes), lot-size
rounding, min-size skips, insufficient margin, spot."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from exchange.records import OrderRequest
from notify.events import BarReport, OrderRejected
from simulator.server import RunningSimulator
from tests.integration.test_trader_helpers import T0, TraderRig, rig_pool
from trader.alerts import recent_alerts
from trader.clordid import make_cl_ord_id
from trader.sizing import SizingSpec, equity_share, size_target

MINUTE = timedelta(minutes=1)
BTC = "BTC-USDT-SWAP"


@pytest.fixture
def rig_factory(sim_module: RunningSimulator, tmp_path: Path) -> Iterator[Any]:
    with rig_pool(sim_module, tmp_path, "a") as make:
        yield make


def orders_sent(rig: TraderRig) -> list[dict[str, Any]]:
    return [o["request"] for o in rig.sim_orders()]


@pytest.mark.parametrize("pos_mode", ["net", "long_short"])
def test_open_reverse_close_keep(rig_factory: Any, pos_mode: str) -> None:
    rig: TraderRig = rig_factory(pos_mode=pos_mode)
    hedge = pos_mode == "long_short"

    rig.publish(T0, {BTC: 1})
    first = rig.run(T0)
    long_size = rig.position(BTC)
    assert first.status == "done"
    assert long_size > 0
    assert [o.filled for o in first.outcomes] == [long_size]

    bar2 = T0 + MINUTE
    rig.publish(bar2, {BTC: -1})
    second = rig.run(bar2)
    short_size = -rig.position(BTC)
    assert short_size > 0
    assert [o.leg_order.leg.kind for o in second.outcomes] == ["close", "open"]
    assert second.outcomes[0].filled == long_size  # the whole long, never the old size reused
    assert second.outcomes[1].filled == short_size

    bar3 = T0 + 2 * MINUTE
    rig.publish(bar3, {BTC: 0})
    rig.run(bar3)
    assert rig.position(BTC) == 0

    bar4 = T0 + 3 * MINUTE
    rig.publish(bar4, {BTC: None})
    keep = rig.run(bar4)
    assert keep.outcomes == []

    sent = orders_sent(rig)
    assert [(o["side"], o.get("posSide") or None, o.get("reduceOnly") or None) for o in sent] == (
        [("buy", "long", None), ("sell", "long", None), ("sell", "short", None), ("buy", "short", None)]
        if hedge
        else [("buy", None, None), ("sell", None, True), ("sell", None, None), ("buy", None, True)]
    )
    ids = [o["clOrdId"] for o in sent]
    assert len(set(ids)) == len(ids) == 4
    assert ids[0] == make_cl_ord_id(rig.account, BTC, T0, "open", 0)
    assert ids[1:3] == [
        make_cl_ord_id(rig.account, BTC, bar2, "close", 0),
        make_cl_ord_id(rig.account, BTC, bar2, "open", 0),
    ]
    reports = rig.events(BarReport)
    assert [len(r.orders) for r in reports] == [1, 2, 1, 0]
    assert reports[1].signals == ((BTC, -1),)


def test_same_target_again_orders_nothing(rig_factory: Any) -> None:
    rig: TraderRig = rig_factory()
    rig.publish(T0, {BTC: 1})
    rig.run(T0)
    held = rig.position(BTC)
    rig.publish(T0 + MINUTE, {BTC: 1})
    again = rig.run(T0 + MINUTE)
    assert again.outcomes == []
    assert rig.position(BTC) == held
    assert len(rig.sim_orders()) == 1


@pytest.mark.parametrize(
    "inst",
    ["ADA-USDT-SWAP", "DOGE-USDT-SWAP", "LINK-USDT-SWAP", "ETH-USDT-SWAP"],
)
def test_lot_size_rounding(rig_factory: Any, inst: str) -> None:
    rig: TraderRig = rig_factory(insts={inst: 2, "DOT-USDT-SWAP": 2}, balance="2345.67")
    rig.publish(T0, {inst: 1, "DOT-USDT-SWAP": -1})
    result = rig.run(T0)
    spec = rig.ctx.instruments[inst]
    journal_equity = rig.ctx.journal.cycle(T0).equity  # type: ignore[union-attr]
    signal = rig.ctx.journal.signals(T0)[inst]
    expected = size_target(
        SizingSpec(inst, True, spec.contract_value, spec.lot_sz, spec.min_sz),
        share=equity_share(journal_equity, 2),
        leverage=Decimal(2),
        volatility_ratio=Decimal("0.98"),
        price=signal.signal_px * Decimal("1.002"),  # type: ignore[operator]
    )
    sent = {o["instId"]: Decimal(o["sz"]) for o in orders_sent(rig)}
    assert sent[inst] == expected.size == signal.desired
    assert sent[inst] % spec.lot_sz == 0
    assert expected.raw - sent[inst] < spec.lot_sz
    assert sent[inst] >= spec.min_sz
    assert rig.position(inst) == sent[inst]
    assert rig.position("DOT-USDT-SWAP") == -sent["DOT-USDT-SWAP"]
    assert {o.leg_order.inst_id for o in result.outcomes} == {inst, "DOT-USDT-SWAP"}


def test_below_min_size_is_skipped_with_a_warning(rig_factory: Any) -> None:
    rig: TraderRig = rig_factory(balance="1")
    rig.publish(T0, {BTC: 1})
    result = rig.run(T0)
    assert result.outcomes == []
    assert rig.sim_orders() == []
    assert any("minSz" in s for s in result.skipped)
    assert rig.events(BarReport)[0].skipped == tuple(result.skipped)


def test_insufficient_margin_is_skipped_and_notified(rig_factory: Any) -> None:
    rig: TraderRig = rig_factory(balance="1000")
    # A manual ETH position (not one of the account's instruments) ties up most of the margin.
    eth = rig.client.place_order(
        OrderRequest("ETH-USDT-SWAP", "cross", "buy", "market", Decimal(25), cl_ord_id="manual1")
    )
    assert eth.ord_id
    rig.publish(T0, {BTC: 1})
    result = rig.run(T0)
    assert rig.position(BTC) == 0
    rejections = rig.events(OrderRejected)
    assert [(r.code, r.inst_id) for r in rejections] == [("51008", BTC)]
    assert rejections[0].cl_ord_id == make_cl_ord_id(rig.account, BTC, T0, "open", 0)
    assert any("51008" in s for s in result.skipped)
    row = rig.ctx.journal.order(rejections[0].cl_ord_id)
    assert row is not None
    assert (row.status, row.error_code) == ("rejected", "51008")
    assert result.status == "done"
    shortfalls = [a for a in recent_alerts(rig.ctx.journal) if a.kind == "margin_shortfall"]
    assert [(a.inst_id, "51008" in a.message) for a in shortfalls] == [(BTC, True)]  # journaled at once


def test_spot_buys_base_units_and_never_shorts(rig_factory: Any) -> None:
    rig: TraderRig = rig_factory(insts={"SOL-USDT": 1}, balance="1000")
    rig.publish(T0, {"SOL-USDT": 1})
    rig.run(T0)
    bought = rig.client.balance().detail("SOL")
    assert bought is not None
    assert bought.cash_bal > 0
    first = orders_sent(rig)[0]
    assert (first["side"], first["tdMode"]) == ("buy", "cash")
    assert Decimal(first["sz"]) % rig.ctx.instruments["SOL-USDT"].lot_sz == 0

    rig.publish(T0 + MINUTE, {"SOL-USDT": -1})  # spot cannot go short: sell what is held
    result = rig.run(T0 + MINUTE)
    after = rig.client.balance().detail("SOL")
    sold = Decimal(orders_sent(rig)[1]["sz"])
    assert orders_sent(rig)[1]["side"] == "sell"
    assert len(orders_sent(rig)) == 2
    assert after is None or after.cash_bal < rig.ctx.instruments["SOL-USDT"].min_sz
    assert sold > 0
    assert [o.leg_order.leg.kind for o in result.outcomes] == ["close"]
