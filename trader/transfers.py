"""Money moved into or out of the trading account since the risk state was saved (I/O half of
the transfer netting in :func:`trader.risk.evaluate`), read from OKX's transfer bills.

Valued as :meth:`trader.state.AccountState.equity` values the account: the margin currency at 1,
the base coin of each traded spot instrument at its price; other coins are not in that equity,
so their transfers are not either."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal

from exchange.records import Instrument
from trader.ports import AccountPort

__all__ = ["NO_BILLS", "coin_values", "transfers_since"]

log = logging.getLogger(__name__)
NO_BILLS = "0"  # the cursor when the account had no transfer bill yet (bill ids are > 0)


def coin_values(
    equity_ccy: str, instruments: Mapping[str, Instrument], prices: Mapping[str, Decimal]
) -> dict[str, Decimal]:
    """What one unit of each coin counted in the equity is worth in ``equity_ccy``."""
    out = {equity_ccy: Decimal(1)}
    for inst_id, inst in instruments.items():
        px = prices.get(inst_id)
        if not inst.is_contract and inst.quote_ccy == equity_ccy and px is not None:
            out[inst.base_ccy] = px
    return out


def transfers_since(
    client: AccountPort, values: Mapping[str, Decimal], seen: str | None
) -> tuple[str, Decimal]:
    """(the newest transfer bill id now seen, net value moved in by the bills newer than ``seen``).

    ``seen`` None (first look, or after ``--resume``): what was moved before is already in the
    equity the peak starts from, so nothing is netted; only the cursor is set."""
    bills = client.transfer_bills("", "" if seen in (None, NO_BILLS) else seen)
    newest = bills[-1].bill_id if bills else (seen or NO_BILLS)
    if seen is None:
        return newest, Decimal(0)
    net = sum((b.bal_chg * values[b.ccy] for b in bills if b.ccy in values), Decimal(0))
    if bills:
        log.info("%d transfer(s) since the last bar, net %s: not profit or loss", len(bills), net)
    return newest, net
