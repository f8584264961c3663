"""Accounts: balances per currency, positions, leverage settings and cross-margin arithmetic.

Model (OKX "futures mode", acctLv 2, everything margined in USDT; test control may set another
``acctLv``: 1 = Spot mode refuses swap orders, 3/4 refuse isolated margin, both with ``51010``):

- ``cashBal`` per currency changes with fees, realised PnL and spot trades.
- A swap position's ``upl = (markPx - avgPx) * pos * ctVal`` (``pos`` signed), its initial margin
  ``imr = |pos| * ctVal * markPx / lever``. USDT ``eq = cashBal + upl``.
- Pending orders freeze margin (swap: opening notional / lever) or funds (spot: the quote amount
  of a buy, the base amount of a sell). ``availEq = eq - imr - frozen``; orders that would need
  more than that are rejected with ``51008``.
- Liquidation and funding payments are not simulated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from simulator.catalogue import Instrument
from simulator.orders import Fill, Order

__all__ = ["DEFAULT_LEVER", "ZERO", "Account", "MarkCache", "Position"]

ZERO = Decimal(0)
DEFAULT_LEVER = 10

PriceFn = Callable[[Instrument], Decimal]


class MarkCache:
    """Mark price per instrument at one instant, memoised (a :data:`PriceFn`)."""

    def __init__(self, price_at: Callable[[Instrument, int], Decimal], now: int) -> None:
        self._price_at = price_at
        self._now = now
        self._memo: dict[str, Decimal] = {}

    def __call__(self, inst: Instrument) -> Decimal:
        px = self._memo.get(inst.inst_id)
        if px is None:
            px = self._price_at(inst, self._now)
            self._memo[inst.inst_id] = px
        return px


@dataclass
class Position:
    """A swap position. ``qty`` is signed (negative = short) in every position mode."""

    inst: Instrument
    pos_side: str  # "net", "long" or "short"
    mgn_mode: str
    qty: Decimal
    avg_px: Decimal
    lever: int
    pos_id: str
    c_time: int
    u_time: int
    realized_pnl: Decimal = ZERO
    pnl: Decimal = ZERO
    fee: Decimal = ZERO
    trade_id: str = ""

    def upl(self, mark: Decimal) -> Decimal:
        return (mark - self.avg_px) * self.qty * self.inst.ct_val

    def notional(self, mark: Decimal) -> Decimal:
        return abs(self.qty) * self.inst.ct_val * mark

    def imr(self, mark: Decimal) -> Decimal:
        return self.notional(mark) / self.lever


@dataclass
class Account:
    """One simulated (sub-)account, addressed by its API key."""

    name: str
    key: str
    secret: str
    passphrase: str
    uid: str
    pos_mode: str  # "net_mode" or "long_short_mode"
    initial_usdt: Decimal
    cash: dict[str, Decimal] = field(default_factory=dict)
    positions: dict[tuple[str, str], Position] = field(default_factory=dict)
    leverage: dict[tuple[str, str, str], int] = field(default_factory=dict)
    orders: list[Order] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    u_time: int = 0
    acct_lv: str = "2"  # 1 Spot, 2 Futures, 3 Multi-currency margin, 4 Portfolio margin

    def __post_init__(self) -> None:
        if not self.cash:
            self.cash["USDT"] = self.initial_usdt

    def __repr__(self) -> str:  # never show secrets
        return f"Account(name={self.name!r}, uid={self.uid}, pos_mode={self.pos_mode})"

    @property
    def long_short(self) -> bool:
        return self.pos_mode == "long_short_mode"

    # -- leverage --------------------------------------------------------------------------
    def _lever_key(self, inst_id: str, mgn_mode: str, pos_side: str) -> tuple[str, str, str]:
        side = pos_side if (mgn_mode == "isolated" and self.long_short) else ""
        return (inst_id, mgn_mode, side)

    def get_lever(self, inst: Instrument, mgn_mode: str, pos_side: str = "") -> int:
        key = self._lever_key(inst.inst_id, mgn_mode, pos_side)
        return self.leverage.get(key, min(DEFAULT_LEVER, inst.max_lever))

    def set_lever(self, inst: Instrument, mgn_mode: str, pos_side: str, lever: int) -> None:
        sides = [pos_side] if (mgn_mode == "isolated" and self.long_short) else [""]
        for side in sides:
            self.leverage[self._lever_key(inst.inst_id, mgn_mode, side)] = lever
        for pos in self.positions.values():
            same = pos.inst.inst_id == inst.inst_id and pos.mgn_mode == mgn_mode
            if same and (not sides[0] or pos.pos_side == sides[0]):
                pos.lever = lever

    # -- funds -----------------------------------------------------------------------------
    def pending(self) -> list[Order]:
        return [o for o in self.orders if o.is_pending]

    def frozen(self, ccy: str) -> Decimal:
        return sum((o.frozen for o in self.pending() if o.frozen_ccy == ccy), ZERO)

    def upl(self, mark: PriceFn) -> Decimal:
        return sum((p.upl(mark(p.inst)) for p in self.positions.values()), ZERO)

    def imr(self, mark: PriceFn) -> Decimal:
        return sum((p.imr(mark(p.inst)) for p in self.positions.values()), ZERO)

    def usdt_eq(self, mark: PriceFn) -> Decimal:
        return self.cash.get("USDT", ZERO) + self.upl(mark)

    def avail_usdt(self, mark: PriceFn) -> Decimal:
        """What new orders may still use: ``eq - imr - frozen``."""
        return self.usdt_eq(mark) - self.imr(mark) - self.frozen("USDT")

    def avail_ccy(self, ccy: str) -> Decimal:
        return self.cash.get(ccy, ZERO) - self.frozen(ccy)

    def position(self, inst: Instrument, pos_side: str) -> Position | None:
        return self.positions.get((inst.inst_id, pos_side))

    def add_cash(self, ccy: str, amount: Decimal) -> None:
        self.cash[ccy] = self.cash.get(ccy, ZERO) + amount
