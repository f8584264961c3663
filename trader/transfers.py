"""Money moved into or out of the trading account since the risk state was saved (I/O half of
the transfer netting in :func:`trader.risk.evaluate`), read from OKX's transfer bills."""

from __future__ import annotations

from decimal import Decimal

from trader.ports import AccountPort

__all__ = ["NO_BILLS", "transfers_since"]

NO_BILLS = "0"  # the cursor when the account had no transfer bill yet (bill ids are > 0)


def transfers_since(client: AccountPort, ccy: str, seen: str | None) -> tuple[str, Decimal]:
    """(the newest transfer bill id now seen, net ``ccy`` moved in by the bills newer than ``seen``).

    ``seen`` None (first look, or after ``--resume``): what was moved before is already in the
    equity the peak starts from, so nothing is netted; only the cursor is set."""
    bills = client.transfer_bills(ccy, "" if seen in (None, NO_BILLS) else seen)
    newest = bills[-1].bill_id if bills else (seen or NO_BILLS)
    if seen is None:
        return newest, Decimal(0)
    return newest, sum((b.bal_chg for b in bills if b.ccy == ccy), Decimal(0))
