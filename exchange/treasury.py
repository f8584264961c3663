"""The master account's client (issue #16): sub-accounts, their balances, transfers.

One method per endpoint over :meth:`AccountClient.request` (the signed transport: server time,
rate budgets, envelope and ``sCode`` checks). Reads are retried; transfers are not idempotent by
themselves, so they carry a ``clientId`` and a transfer whose reply was lost raises
:class:`UnknownOutcome`: look it up with :meth:`MasterClient.transfer_state` before sending again.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from config.credentials import Credentials
from config.schema import ExchangeSettings
from core.clock import Clock
from exchange.asset import (
    FUNDING,
    TRADING,
    FundingBalance,
    SubAccount,
    SubTradingBalance,
    TransferAck,
    TransferState,
    parse_funding_balance,
    parse_max_withdrawal,
    parse_sub_account,
    parse_sub_trading_balance,
    parse_transfer_ack,
    parse_transfer_state,
)
from exchange.errors import BadResponse, ExchangeUnavailable, UnknownOutcome
from exchange.factory import make_account_client, make_market_client
from exchange.orders import decimal_str
from exchange.private import AccountClient
from exchange.public import PublicClient
from exchange.retry import NOT_PROCESSED_CODES

__all__ = ["MASTER", "MasterClient", "TransferRequest", "make_master_client"]

MASTER = ""  # the master account in a TransferRequest (sub-accounts by their subAcct name)
_PAGE = 100


@dataclass(frozen=True)
class TransferRequest:
    """Move ``amt`` of ``ccy`` from (account, 6|18) to (account, 6|18); MASTER = the master."""

    client_id: str
    ccy: str
    amt: Decimal
    src: str
    src_kind: str
    dst: str
    dst_kind: str

    def __post_init__(self) -> None:
        if not (1 <= len(self.client_id) <= 32 and self.client_id.isascii() and self.client_id.isalnum()):
            raise ValueError(f"clientId must be 1-32 letters or digits, got {self.client_id!r}")
        if self.src_kind not in (FUNDING, TRADING) or self.dst_kind not in (FUNDING, TRADING):
            raise ValueError("account types must be 6 (funding) or 18 (trading)")
        if self.amt <= 0:
            raise ValueError(f"transfer amount must be > 0, got {self.amt}")
        if self.src == self.dst and self.src_kind == self.dst_kind:
            raise ValueError("a transfer needs two different accounts")

    def params(self) -> tuple[str, dict[str, str]]:
        """(path, body) of the OKX call that performs this transfer."""
        base = {"ccy": self.ccy, "amt": decimal_str(self.amt), "from": self.src_kind,
                "to": self.dst_kind, "clientId": self.client_id}  # fmt: skip
        if self.src != MASTER and self.dst != MASTER and self.src != self.dst:
            body = {**base, "fromSubAccount": self.src, "toSubAccount": self.dst}
            return "/api/v5/asset/subaccount/transfer", body
        if self.src == self.dst:
            if self.src != MASTER:
                raise ValueError("moves inside a sub-account need the sub-account's own key")
            return "/api/v5/asset/transfer", {**base, "type": "0"}
        if self.src == MASTER:
            return "/api/v5/asset/transfer", {**base, "type": "1", "subAcct": self.dst}
        return "/api/v5/asset/transfer", {**base, "type": "2", "subAcct": self.src}


class MasterClient:
    """Private REST of the master account for the treasury."""

    def __init__(self, client: AccountClient, market: PublicClient | None = None) -> None:
        self.client = client
        self.market = market  # tickers, to value coins other than the treasury's currency

    def price(self, ccy: str, quote: str) -> Decimal:
        """The last price of ``ccy`` in ``quote`` (the ``<ccy>-<quote>`` spot ticker)."""
        if self.market is None:
            raise ValueError(f"valuing {ccy} in {quote} needs a market client")
        return self.market.ticker(f"{ccy}-{quote}").last

    def sub_accounts(self) -> list[SubAccount]:
        out: dict[str, SubAccount] = {}
        after = ""
        while True:
            page = self.client.request(
                "GET", "/api/v5/users/subaccount/list", {"limit": str(_PAGE), "after": after}
            )
            subs = [parse_sub_account(item) for item in page]
            fresh = [s for s in subs if s.name not in out]
            out.update((s.name, s) for s in fresh)
            if len(page) < _PAGE or not fresh:
                return list(out.values())
            after = str(page[-1].get("ts", "")) if isinstance(page[-1], dict) else ""

    def trading_balance(self, sub: str, ccy: str) -> SubTradingBalance:
        data = self.client.request("GET", "/api/v5/account/subaccount/balances", {"subAcct": sub})
        if not data:
            raise BadResponse("", f"no trading balance for sub-account {sub!r}")
        return parse_sub_trading_balance(data[0], ccy)

    def funding_balances(self, sub: str, ccy: str = "") -> list[FundingBalance]:
        """The funding account's balances (every currency it holds, or only ``ccy``)."""
        path = "/api/v5/asset/subaccount/balances" if sub != MASTER else "/api/v5/asset/balances"
        params = {**({"ccy": ccy} if ccy else {}), **({"subAcct": sub} if sub != MASTER else {})}
        return [parse_funding_balance(item) for item in self.client.request("GET", path, params)]

    def funding_available(self, sub: str, ccy: str) -> Decimal:
        return sum((r.avail_bal for r in self.funding_balances(sub, ccy) if r.ccy == ccy), Decimal(0))

    def max_withdrawal(self, sub: str, ccy: str) -> Decimal:
        """What may leave ``sub``'s trading account now (OKX ``maxWd``)."""
        path = (
            "/api/v5/account/subaccount/max-withdrawal" if sub != MASTER else "/api/v5/account/max-withdrawal"
        )
        params = {"ccy": ccy, **({"subAcct": sub} if sub != MASTER else {})}
        for item in self.client.request("GET", path, params):
            row_ccy, max_wd = parse_max_withdrawal(item)
            if row_ccy == ccy:
                return max_wd
        raise BadResponse("", f"max-withdrawal of {sub or 'the master'!r} has no {ccy} row", endpoint=path)

    def transfer(self, req: TransferRequest) -> TransferAck:
        """Send one transfer. No reply -> :class:`UnknownOutcome` (look it up by clientId)."""
        path, body = req.params()
        try:
            data = self.client.request("POST", path, body, idempotent=False)
        except ExchangeUnavailable as exc:
            if exc.code in NOT_PROCESSED_CODES:
                raise
            raise UnknownOutcome(
                exc.code, f"{exc.msg}: look transfer {req.client_id} up by clientId", endpoint=path
            ) from exc
        if not data:
            raise BadResponse("", "transfer reply has no data", endpoint=path)
        return parse_transfer_ack(data[0])

    def transfer_state(self, *, client_id: str = "", trans_id: str = "") -> TransferState | None:
        """The transfer with that clientId (or transId), or None if OKX has none."""
        if not client_id and not trans_id:
            raise ValueError("transfer_state needs client_id or trans_id")
        params = {"clientId": client_id} if client_id else {"transId": trans_id}
        data = self.client.request("GET", "/api/v5/asset/transfer-state", params)
        return parse_transfer_state(data[0]) if data else None

    def close(self) -> None:
        if self.market is not None:
            self.market.close()
        self.client.close()


def make_master_client(settings: ExchangeSettings, credentials: Credentials, clock: Clock) -> MasterClient:
    """The master account's client (its own rate budget and server-time offset)."""
    client = make_account_client(settings, credentials, clock, account="master")
    return MasterClient(client, make_market_client(client, clock))
