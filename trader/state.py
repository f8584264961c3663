"""The account as OKX reports it, reduced to what the trader decides on.

:func:`build_state` is pure: positions and balance -> per-instrument :class:`~trader.diff.Holding`
(contracts in our margin mode; spot = the base currency balance), entry prices and equity.
:func:`fetch_state` reads positions and balance (both at once) and builds it. Positions are never
assumed empty on an error: the exchange layer raises, and the cycle skips the bar.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal

from exchange.records import Balance, Instrument, Position
from trader.diff import Holding
from trader.ports import AccountPort

__all__ = ["AccountState", "build_state", "fetch_state"]

log = logging.getLogger(__name__)
ZERO = Decimal(0)


@dataclass(frozen=True)
class AccountState:
    holdings: dict[str, Holding]
    entries: dict[str, Decimal | None]  # average entry price of the net position
    positions: tuple[Position, ...]  # our instruments, our margin mode
    foreign: tuple[Position, ...]  # other instruments or margin modes (reported, never traded)
    balance: Balance
    equity_ccy: str

    def holding(self, inst_id: str) -> Holding:
        return self.holdings.get(inst_id, Holding())

    def equity(self, prices: Mapping[str, Decimal], instruments: Mapping[str, Instrument]) -> Decimal:
        """Equity in the margin currency, spot holdings of our instruments valued at ``prices``."""
        total = self.balance.equity(self.equity_ccy)
        for inst_id, inst in instruments.items():
            if inst.is_contract:
                continue
            held = self.holding(inst_id).long
            px = prices.get(inst_id)
            if held > 0 and px is not None:
                total += held * px
        return total


def build_state(
    positions: list[Position],
    balance: Balance,
    instruments: Mapping[str, Instrument],
    margin_mode: str,
    equity_ccy: str,
) -> AccountState:
    longs: dict[str, Decimal] = {}
    shorts: dict[str, Decimal] = {}
    entries: dict[str, Decimal | None] = {}
    ours: list[Position] = []
    foreign: list[Position] = []
    for pos in positions:
        inst = instruments.get(pos.inst_id)
        if inst is None or not inst.is_contract or pos.mgn_mode != margin_mode or pos.pos == 0:
            if pos.pos != 0:
                foreign.append(pos)
            continue
        ours.append(pos)
        signed = pos.signed_pos
        if signed > 0:
            longs[pos.inst_id] = longs.get(pos.inst_id, ZERO) + signed
        else:
            shorts[pos.inst_id] = shorts.get(pos.inst_id, ZERO) - signed
    holdings: dict[str, Holding] = {}
    for inst_id, inst in instruments.items():
        if inst.is_contract:
            holdings[inst_id] = Holding(longs.get(inst_id, ZERO), shorts.get(inst_id, ZERO))
        else:
            detail = balance.detail(inst.base_ccy)
            held = detail.cash_bal if detail is not None else ZERO
            holdings[inst_id] = Holding(long=max(held, ZERO))
    for pos in ours:
        direction = holdings[pos.inst_id].direction
        if (direction > 0 and pos.signed_pos > 0) or (direction < 0 and pos.signed_pos < 0):
            entries[pos.inst_id] = pos.avg_px
    return AccountState(holdings, entries, tuple(ours), tuple(foreign), balance, equity_ccy)


def fetch_state(
    client: AccountPort,
    instruments: Mapping[str, Instrument],
    margin_mode: str,
    equity_ccy: str,
    pool: ThreadPoolExecutor | None = None,
) -> AccountState:
    """Positions and balance, read concurrently when a ``pool`` is given."""
    if pool is not None:
        fut_pos = pool.submit(client.positions)
        fut_bal = pool.submit(client.balance)
        positions, balance = fut_pos.result(), fut_bal.result()
    else:
        positions, balance = client.positions(), client.balance()
    return build_state(positions, balance, instruments, margin_mode, equity_ccy)
