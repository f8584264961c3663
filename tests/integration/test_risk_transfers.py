"""Transfers are not trading (QA defect 2): money moved out of a sub-account (a treasury
rebalance, a manual transfer) must not read as a drawdown or a daily loss, and money moved in
must not hide a real loss. The trader nets OKX transfer bills (``account/bills`` type 1)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from exchange.bills import TransferBill
from tests.integration.test_trader_helpers import T0, TraderRig
from tests.integration.test_trader_risk import BTC, MINUTE, alerts, halted, make_rig

SOL = "SOL-USDT"
__all__ = ["make_rig"]  # the fixture, re-exported for pytest


def _own_transfer(rig: TraderRig, amt: str, src: str, dst: str, client_id: str, ccy: str = "USDT") -> None:
    """A transfer inside the rig's account (type 0: funding 6 <-> trading 18), by its own key."""
    body = {"ccy": ccy, "amt": amt, "from": src, "to": dst, "type": "0", "clientId": client_id}
    rig.client.request("POST", "/api/v5/asset/transfer", body, idempotent=False)


def test_a_transfer_out_is_not_a_drawdown_nor_a_daily_loss(make_rig: Any) -> None:
    rig: TraderRig = make_rig(risk={"max_drawdown": "0.2", "daily_loss": "0.05"})
    rig.publish(T0, {BTC: None})
    rig.run(T0)
    _own_transfer(rig, "3000", "18", "6", "out1")  # 30% of 10,000 leaves the trading account
    bar2 = T0 + MINUTE
    rig.publish(bar2, {BTC: 1})
    assert rig.run(bar2).status == "done"
    assert not halted(rig), "a capital transfer was taken for a trading loss"
    assert not alerts(rig, "risk_daily_loss")
    assert rig.position(BTC) > 0  # the daily-loss limit did not block the open either


def test_a_transfer_in_does_not_hide_a_real_loss(make_rig: Any) -> None:
    rig: TraderRig = make_rig(risk={"max_drawdown": "0.1"})
    rig.control.treasury(funding={rig.account: "3000"})
    rig.publish(T0, {BTC: 1})
    assert rig.run(T0).status == "done"
    rig.control.set_price(BTC, "46500")  # about -20% of equity on ~3x leverage
    _own_transfer(rig, "3000", "6", "18", "in1")  # ... and 3,000 moved in: equity ~11,000 > 10,000
    bar2 = T0 + MINUTE
    rig.publish(bar2, {BTC: None})
    assert rig.run(bar2).status == "halted"
    assert "max drawdown" in alerts(rig, "risk_halt")[0].detail


def test_coins_of_a_traded_spot_instrument_moved_out_are_not_a_loss(make_rig: Any) -> None:
    rig: TraderRig = make_rig(insts={SOL: 1}, risk={"max_drawdown": "0.2"})
    rig.publish(T0, {SOL: 1})
    assert rig.run(T0).status == "done"
    held = rig.client.balance().detail("SOL")
    assert held is not None
    assert held.eq > 0
    _own_transfer(rig, str(held.eq / 2), "18", "6", "sol1", ccy="SOL")  # half the equity leaves
    bar2 = T0 + MINUTE
    rig.publish(bar2, {SOL: None})
    assert rig.run(bar2).status == "done"
    assert not halted(rig)


def test_every_transfer_leg_on_a_trading_account_leaves_an_okx_bill(make_rig: Any) -> None:
    rig: TraderRig = make_rig()
    assert rig.client.transfer_bills("USDT") == []
    rig.control.treasury(funding={rig.account: "50"})
    _own_transfer(rig, "20", "6", "18", "b1")
    _own_transfer(rig, "7.5", "18", "6", "b2")
    _own_transfer(rig, "5", "6", "18", "b3")
    bills = rig.client.transfer_bills("USDT")
    assert [b.bal_chg for b in bills] == [Decimal(20), Decimal("-7.5"), Decimal(5)]
    assert all(isinstance(b, TransferBill) and b.ccy == "USDT" for b in bills)
    assert [b.bal_chg for b in rig.client.transfer_bills("USDT", bills[0].bill_id)] == [Decimal("-7.5"), 5]
    assert rig.client.transfer_bills("BTC") == []
    raw = rig.client.request("GET", "/api/v5/account/bills", {"type": "1", "limit": "1"})
    assert len(raw) == 1
    assert (raw[0]["balChg"], raw[0]["subType"]) == ("5", "11")
    assert {"bal", "billId", "ts", "from", "to", "sz", "instId", "pnl", "fee"} <= set(raw[0])
