"""Parsing OKX transfer bills (``GET /api/v5/account/bills``, type 1) at the edge."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from exchange.bills import parse_transfer_bill
from exchange.errors import BadResponse

BILL: dict[str, Any] = {
    "bal": "7000", "balChg": "-3000", "billId": "623950854533513219", "ccy": "USDT", "clOrdId": "",
    "execType": "", "fee": "0", "from": "18", "instId": "", "instType": "", "interest": "0",
    "mgnMode": "", "notes": "", "ordId": "", "pnl": "0", "posBal": "0", "posBalChg": "0", "px": "",
    "subType": "12", "sz": "3000", "tag": "", "to": "6", "tradeId": "", "ts": "1700000000000", "type": "1",
}  # fmt: skip


def test_a_transfer_bill_is_parsed_with_its_signed_change() -> None:
    bill = parse_transfer_bill(BILL)
    assert bill.bal_chg == Decimal(-3000)
    assert bill.ccy == "USDT"
    assert bill.order == 623950854533513219
    assert bill.ts == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"balChg": ""}, "balChg"),
        ({"balChg": "abc"}, "balChg"),
        ({"billId": ""}, "billId"),
        ({"billId": "x1"}, "billId"),
        ({"ts": ""}, "ts"),
        ({"type": "2"}, "bill type"),
    ],
)
def test_a_bad_bill_is_an_error_never_a_zero(change: dict[str, str], message: str) -> None:
    with pytest.raises(BadResponse, match=message):
        parse_transfer_bill({**BILL, **change})
