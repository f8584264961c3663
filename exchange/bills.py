"""Transfer bills of a trading account (``GET /api/v5/account/bills`` with ``type=1``).

Every transfer into or out of the trading account (funding <-> trading, master <-> sub, sub <-> sub,
made by the treasury or by hand) leaves one bill whose ``balChg`` is the signed change (in > 0,
out < 0). The trader nets them out of its risk limits so a transfer never reads as a trading loss.
Pure: OKX dict in, frozen record out; a missing or malformed field raises :class:`BadResponse`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from exchange.fields import bad, item_of, req_dec, req_str, req_time

__all__ = ["BILL_TYPE_TRANSFER", "TransferBill", "parse_transfer_bill"]

BILL_TYPE_TRANSFER = "1"


@dataclass(frozen=True)
class TransferBill:
    bill_id: str
    ccy: str
    bal_chg: Decimal  # signed: > 0 came in, < 0 went out
    ts: datetime

    @property
    def order(self) -> int:
        """OKX bill ids grow with time: the sort key (and the pagination cursor)."""
        return int(self.bill_id)


def parse_transfer_bill(item: Any) -> TransferBill:
    d = item_of(item, "bill")
    kind = req_str(d, "type")
    if kind != BILL_TYPE_TRANSFER:
        raise bad(f"bill type {kind!r} (asked for transfers, type {BILL_TYPE_TRANSFER})", d)
    bill_id = req_str(d, "billId")
    if not bill_id.isdigit():
        raise bad("bill billId", bill_id)
    return TransferBill(bill_id, req_str(d, "ccy"), req_dec(d, "balChg"), req_time(d, "ts"))
