"""The master account's view of its sub-accounts: funding accounts, transfers, transfer rules.

Model (OKX "sub-account" and "funding" APIs, issue #16):

- One registered account is the **master** (``SimOptions.master`` or ``/__sim/treasury``); every
  other account is one of its sub-accounts, named by its account name (``subAcct``).
- Each account has a **trading** account (``Account.cash``, type ``18``) and a **funding** account
  (this book, type ``6``). Transfers move cash between them; nothing else touches funding.
- What may leave a trading account (``maxWd``) is ``min(cashBal, eq) - imr - frozen`` in USDT:
  open positions keep their margin. A funding account's is its balance.
- Errors, checked in this order: ``58111`` during a funding-settlement window (switch),
  ``55000``/``58117`` forced on an account (switch, e.g. "just after delivery"), ``58119`` a
  sub-account without transfer-out permission sends, ``58117`` the sender has a negative balance,
  ``58116`` more than the sender's maximum.
- Each trading-account leg leaves a transfer bill (:mod:`simulator.bills`).
- ``clientId`` is idempotent per caller: a repeated id returns the first transfer, moving nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from simulator.accounts import ZERO, Account, PriceFn
from simulator.bills import BillBook
from simulator.errors import OkxError

__all__ = ["FUNDING", "TRADING", "Leg", "Transfer", "TreasuryBook", "max_withdrawal"]

FUNDING, TRADING = "6", "18"
_CLIENT_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")


@dataclass(frozen=True)
class Leg:
    """One side of a transfer: an account and which of its two accounts (``6`` or ``18``)."""

    acct: Account
    kind: str  # FUNDING | TRADING


@dataclass(frozen=True)
class Transfer:
    trans_id: str
    client_id: str
    type: str
    ccy: str
    amt: Decimal
    src: str  # from: 6 | 18
    dst: str  # to: 6 | 18
    sub_acct: str
    from_name: str
    to_name: str
    ts: int
    state: str = "success"

    def state_row(self) -> dict[str, str]:
        return {
            "amt": str(self.amt),
            "ccy": self.ccy,
            "clientId": self.client_id,
            "from": self.src,
            "instId": "",
            "state": self.state,
            "subAcct": self.sub_acct,
            "to": self.dst,
            "toInstId": "",
            "transId": self.trans_id,
            "type": self.type,
        }


def max_withdrawal(acct: Account, ccy: str, marks: PriceFn) -> Decimal:
    """What may leave the trading account: positions keep their margin, orders their funds."""
    cash = acct.cash.get(ccy, ZERO)
    if ccy == "USDT":
        avail = min(cash, acct.usdt_eq(marks)) - acct.imr(marks) - acct.frozen(ccy)
    else:
        avail = cash - acct.frozen(ccy)
    return max(avail, ZERO)


@dataclass
class TreasuryBook:
    master: str | None = None
    funding: dict[str, dict[str, Decimal]] = field(default_factory=dict)  # account name -> ccy -> bal
    transfers: list[Transfer] = field(default_factory=list)
    by_client: dict[tuple[str, str], Transfer] = field(default_factory=dict)
    settlement: bool = False  # a funding-settlement window: every transfer gets 58111
    forced: dict[str, str] = field(default_factory=dict)  # account name -> error code (55000...)
    no_trans_out: set[str] = field(default_factory=set)  # sub-accounts without the permission
    bills: BillBook = field(default_factory=BillBook)  # each trading-account leg's transfer bill

    def is_master(self, acct: Account) -> bool:
        return self.master is not None and acct.name == self.master

    def require_master(self, acct: Account) -> None:
        if not self.is_master(acct):
            raise OkxError("50030")

    def fund(self, name: str, ccy: str) -> Decimal:
        return self.funding.get(name, {}).get(ccy, ZERO)

    def add_fund(self, name: str, ccy: str, amount: Decimal) -> None:
        bucket = self.funding.setdefault(name, {})
        bucket[ccy] = bucket.get(ccy, ZERO) + amount

    def available(self, leg: Leg, ccy: str, marks: PriceFn) -> Decimal:
        if leg.kind == FUNDING:
            return max(self.fund(leg.acct.name, ccy), ZERO)
        return max_withdrawal(leg.acct, ccy, marks)

    def previous(self, caller: Account, client_id: str) -> Transfer | None:
        if client_id and not _CLIENT_ID.fullmatch(client_id):
            raise OkxError("51000", "clientId")
        return self.by_client.get((caller.uid, client_id)) if client_id else None

    def find(self, caller: Account, trans_id: str, client_id: str) -> Transfer | None:
        if client_id:
            return self.by_client.get((caller.uid, client_id))
        return next((t for t in self.transfers if t.trans_id == trans_id), None)

    def move(
        self, caller: Account, src: Leg, dst: Leg, ccy: str, amt: Decimal, *, type_: str,
        client_id: str, now: int, marks: PriceFn, sub_acct: str = "",
    ) -> Transfer:  # fmt: skip
        """Check OKX's rules, move ``amt`` and record the transfer (see the module docstring)."""
        if self.settlement:
            raise OkxError("58111")
        for leg in (src, dst):
            code = self.forced.get(leg.acct.name)
            if code:
                raise OkxError(code)
        leaves = src.acct.name != dst.acct.name
        if leaves and not self.is_master(src.acct) and src.acct.name in self.no_trans_out:
            raise OkxError("58119", src.acct.name)
        if any(v < 0 for v in src.acct.cash.values()) or any(
            v < 0 for v in self.funding.get(src.acct.name, {}).values()
        ):
            raise OkxError("58117")
        if amt > self.available(src, ccy, marks):
            raise OkxError("58116")
        self._apply(src, ccy, -amt)
        self._apply(dst, ccy, amt)
        for leg, change in ((src, -amt), (dst, amt)):
            if leg.kind == TRADING:
                self.bills.transfer(leg.acct, ccy, change, src.kind, dst.kind, now)
        transfer = Transfer(
            str(len(self.transfers) + 1_000_001), client_id, type_, ccy, amt, src.kind, dst.kind,
            sub_acct, src.acct.name, dst.acct.name, now,
        )  # fmt: skip
        self.transfers.append(transfer)
        if client_id:
            self.by_client[(caller.uid, client_id)] = transfer
        return transfer

    def _apply(self, leg: Leg, ccy: str, amount: Decimal) -> None:
        if leg.kind == FUNDING:
            self.add_fund(leg.acct.name, ccy, amount)
        else:
            leg.acct.add_cash(ccy, amount)

    def to_json(self, names: Callable[[], list[str]]) -> dict[str, object]:
        return {
            "master": self.master,
            "settlement": self.settlement,
            "forced": dict(self.forced),
            "no_trans_out": sorted(self.no_trans_out),
            "funding": {n: {c: str(v) for c, v in b.items()} for n, b in sorted(self.funding.items())},
            "accounts": names(),
            "transfers": [
                {**t.state_row(), "fromAccount": t.from_name, "toAccount": t.to_name, "ts": t.ts}
                for t in self.transfers
            ],
        }
