"""Records and parsers of the master account's endpoints: sub-accounts, funding balances,
withdrawable amounts and transfers (issue #16). Pure: OKX dict in, frozen record out, ``Decimal``
money; a missing or malformed field raises :class:`BadResponse`, never reads as zero."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from exchange.fields import bad, item_of, opt_dec, req_dec, req_str, text
from exchange.parse import parse_balance

__all__ = [
    "FUNDING",
    "TRADING",
    "FundingBalance",
    "SubAccount",
    "SubTradingBalance",
    "TransferAck",
    "TransferState",
    "parse_funding_balance",
    "parse_max_withdrawal",
    "parse_sub_account",
    "parse_sub_trading_balance",
    "parse_transfer_ack",
    "parse_transfer_state",
]

FUNDING, TRADING = "6", "18"  # OKX account types in transfers


@dataclass(frozen=True)
class SubAccount:
    name: str  # subAcct
    uid: str
    enabled: bool
    can_trans_out: bool


@dataclass(frozen=True)
class SubTradingBalance:
    """One currency of a trading account, with the margin its open positions hold."""

    ccy: str
    eq: Decimal
    cash_bal: Decimal
    imr: Decimal  # initial margin of open positions plus margin frozen for open orders (0 if none)
    total_eq: Decimal  # OKX totalEq: the whole trading account (every coin) in USD


@dataclass(frozen=True)
class FundingBalance:
    ccy: str
    bal: Decimal
    avail_bal: Decimal


@dataclass(frozen=True)
class TransferAck:
    trans_id: str
    client_id: str


@dataclass(frozen=True)
class TransferState:
    trans_id: str
    client_id: str
    state: str  # success | pending | failed
    ccy: str
    amt: Decimal
    src: str
    dst: str

    @property
    def succeeded(self) -> bool:
        return self.state == "success"


def _flag(d: Any, key: str) -> bool:
    value = d.get(key)
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise bad(f"missing or malformed boolean {key!r}", value)


def parse_sub_account(item: Any) -> SubAccount:
    d = item_of(item, "sub-account")
    return SubAccount(req_str(d, "subAcct"), req_str(d, "uid"), _flag(d, "enable"), _flag(d, "canTransOut"))


def parse_sub_trading_balance(item: Any, ccy: str) -> SubTradingBalance:
    """The ``ccy`` line of ``account/subaccount/balances`` (absent = the account holds none).
    Margin in use = the positions' ``imr`` (USDT-margined) + the detail's ``ordFrozen``."""
    balance = parse_balance(item)
    d = item_of(item, "balance")
    imr = (opt_dec(d, "imr") if ccy == "USDT" else None) or Decimal(0)
    raw = next((x for x in d.get("details") or [] if isinstance(x, dict) and x.get("ccy") == ccy), None)
    frozen = (opt_dec(raw, "ordFrozen") if raw is not None else None) or Decimal(0)
    detail = balance.detail(ccy)
    if detail is None:
        return SubTradingBalance(ccy, Decimal(0), Decimal(0), imr + frozen, balance.total_eq)
    return SubTradingBalance(ccy, detail.eq, detail.cash_bal, imr + frozen, balance.total_eq)


def parse_funding_balance(item: Any) -> FundingBalance:
    d = item_of(item, "funding balance")
    return FundingBalance(req_str(d, "ccy"), req_dec(d, "bal"), req_dec(d, "availBal"))


def parse_max_withdrawal(item: Any) -> tuple[str, Decimal]:
    d = item_of(item, "max withdrawal")
    return req_str(d, "ccy"), req_dec(d, "maxWd")


def parse_transfer_ack(item: Any) -> TransferAck:
    d = item_of(item, "transfer")
    return TransferAck(req_str(d, "transId"), text(d, "clientId"))


def parse_transfer_state(item: Any) -> TransferState:
    d = item_of(item, "transfer state")
    return TransferState(
        req_str(d, "transId"), text(d, "clientId"), req_str(d, "state"), req_str(d, "ccy"),
        req_dec(d, "amt"), req_str(d, "from"), req_str(d, "to"),
    )  # fmt: skip
