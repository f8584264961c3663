"""The simulated account: cash, net positions, fills, fees, funding — all ``Decimal``.

Linear contracts and spot are booked alike: a position of ``pos`` units (contracts x
``contract_value`` base units) at an average entry price; closing realises
``(exit - entry) x units``; fees and funding come out of cash (a spot buy's fee is taken from the
bought coins, as OKX takes it). Equity is cash plus every open
position marked at a price. Each strategy trades its own instrument, so its P&L is the P&L of
that instrument's book. :class:`LaneResult` and :class:`RunResult` are what a run leaves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

import numpy as np

from backtest.model import StrategyRun
from trader.diff import Holding, Leg

__all__ = ["Book", "Fill", "LaneResult", "Refusal", "RunResult", "Trip"]

ZERO = Decimal(0)


class Fill(NamedTuple):
    """One executed leg (a row of ``trades.csv``)."""

    time: datetime  # the bar close the order was placed at
    inst_id: str
    strategy: str
    kind: str  # close | reduce | open
    side: str  # buy | sell
    sz: Decimal  # contracts (spot: base units)
    price: Decimal
    fee: Decimal  # paid (negative = rebate)
    pnl: Decimal  # realised by this fill, before fees
    position: Decimal  # signed position after the fill
    target: int  # the standing target the order moved towards


class Refusal(NamedTuple):
    """An open the margin check refused."""

    time: datetime
    inst_id: str
    sz: Decimal
    needed: Decimal
    available: Decimal


class Trip(NamedTuple):
    """A round trip: from flat to flat; ``net`` includes fees and funding."""

    inst_id: str
    opened: datetime
    closed: datetime
    net: Decimal


@dataclass(slots=True)
class Book:
    """One instrument's position and its running P&L."""

    inst_id: str
    strategy: str
    units: Decimal  # base units per contract (1 for spot)
    spot: bool = False
    pos: Decimal = ZERO  # signed contracts
    entry: Decimal = ZERO
    realised: Decimal = ZERO
    fees: Decimal = ZERO
    funding: Decimal = ZERO  # paid (negative = received)
    trips: list[Trip] = field(default_factory=list)
    _trip_start: datetime | None = None
    _trip_base: Decimal = ZERO
    _held: tuple[Decimal, Holding] | None = None  # the holding of ``pos``, built once per change

    @property
    def holding(self) -> Holding:
        held = self._held
        if held is None or held[0] is not self.pos:
            held = self._held = (self.pos, Holding.from_signed(self.pos))
        return held[1]

    def upl(self, price: Decimal) -> Decimal:
        return (price - self.entry) * self.pos * self.units if self.pos else ZERO

    @property
    def settled(self) -> Decimal:
        """P&L without the open position: realised - fees - funding."""
        return self.realised - self.fees - self.funding

    def value(self, price: Decimal) -> Decimal:
        """P&L so far: realised + unrealised at ``price`` - fees - funding."""
        return self.settled + self.upl(price)

    def notional(self, price: Decimal) -> Decimal:
        return abs(self.pos) * self.units * price

    def pay_funding(self, amount: Decimal) -> None:
        self.funding += amount

    def fill(
        self, time: datetime, leg: Leg, price: Decimal, fee_rate: Decimal, target: int
    ) -> tuple[Fill, Decimal]:
        """Book one leg; returns the fill and the cash it moved (realised P&L - fee).

        A spot buy pays its fee in the bought currency, as OKX charges it: the holding grows by
        ``sz x (1 - rate)`` (the fee's value is still reported in quote currency)."""
        signed = leg.sz if leg.side == "buy" else -leg.sz
        fee = leg.sz * self.units * price * fee_rate
        if self.spot and signed > 0:
            signed -= leg.sz * fee_rate
        pnl = ZERO
        if self.pos and (self.pos > 0) != (signed > 0):  # reduces (never flips: closes come first)
            closed = min(abs(signed), abs(self.pos))
            direction = 1 if self.pos > 0 else -1
            pnl = (price - self.entry) * closed * self.units * direction
        elif self.pos == 0:
            self._trip_start, self._trip_base = time, self.value(price)
        if self.pos == 0 or (self.pos > 0) == (signed > 0):
            total = self.pos + signed
            self.entry = (self.entry * abs(self.pos) + price * abs(signed)) / abs(total)
        self.pos += signed
        self.realised += pnl
        self.fees += fee
        if self.pos == 0:
            self.entry = ZERO
            if self._trip_start is not None:
                net = self.value(price) - self._trip_base
                self.trips.append(Trip(self.inst_id, self._trip_start, time, net))
                self._trip_start = None
        fill = Fill(
            time, self.inst_id, self.strategy, leg.kind, leg.side, leg.sz, price, fee, pnl, self.pos, target
        )
        return fill, pnl - fee


@dataclass
class LaneResult:
    run: StrategyRun
    method: str  # vectorised | replay
    checked: int  # bars where the vectorised form was checked against the per-bar function
    raw: np.ndarray  # strategy output per bar (NaN = None or skipped)
    standing: np.ndarray  # standing target per bar (NaN = none yet)
    value: np.ndarray  # start share + P&L so far, per bar (float, for metrics and charts)
    exposed: np.ndarray  # bool: a position was held after the bar's orders
    fills: list[Fill] = field(default_factory=list)
    trips: list[Trip] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    skips: list[str] = field(default_factory=list)
    fees: Decimal = ZERO
    funding: Decimal = ZERO
    final_pnl: Decimal = ZERO


@dataclass
class RunResult:
    closes: np.ndarray  # bar close times, epoch seconds
    equity: np.ndarray  # account equity per bar (float)
    initial: Decimal
    final: Decimal
    lanes: list[LaneResult]
    sizing_equity: dict[int, Decimal] = field(default_factory=dict)  # per bar close with orders

    @property
    def fills(self) -> list[Fill]:
        return sorted((f for lane in self.lanes for f in lane.fills), key=lambda f: f.time)
