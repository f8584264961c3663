"""The account's state after each exact step, and the per-bar curves it implies.

The engine visits only the bars where something can happen (:mod:`backtest.quiet`); between two
visits cash, positions and standing targets are constant. :class:`Tape` records that state after
each visit and, at the end, expands it into the per-bar arrays of a run with numpy: the account's
equity, each strategy's value (its starting share + P&L so far) and whether it
was exposed. These curves are **floats** (for metrics and charts: returns, drawdown, Sharpe);
every order's size, price, fee, funding, the final equity and the P&L stay ``Decimal``. A value is
``float(share + realised - fees - funding) + float(pos x ctVal) x (close - float(entry))`` with
the bar's close as parsed by the loader: the replay and the vectorised run give the same floats.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from backtest.ledger import Book

__all__ = ["Curves", "Tape"]


@dataclass
class Curves:
    equity: np.ndarray  # the account, per bar
    values: list[np.ndarray]  # per lane: share + P&L so far
    exposed: list[np.ndarray]  # per lane: a position was held after the bar's orders


@dataclass
class Tape:
    lanes: int
    starts: list[int] = field(default_factory=list)
    cash: list[float] = field(default_factory=list)
    # per record, one value per lane (flat: record r, lane i at r x lanes + i)
    units: list[float] = field(default_factory=list)  # signed base units held
    entry: list[float] = field(default_factory=list)
    settled: list[float] = field(default_factory=list)  # share + realised - fees - funding

    def record(self, k: int, cash: Decimal, books: Sequence[Book], share: Decimal) -> None:
        """The state from bar ``k`` on (after its orders), until the next record."""
        self.starts.append(k)
        self.cash.append(float(cash))
        for b in books:
            self.units.append(float(b.pos * b.units) if b.pos else 0.0)
            self.entry.append(float(b.entry))
            self.settled.append(float(share + b.settled))

    def curves(self, closes: Sequence[np.ndarray], count: int) -> Curves:
        """Every bar's figures, from the records and each lane's closes (floats)."""
        starts = np.asarray([*self.starts, count], dtype=np.int64)
        reps = (starts[1:] - starts[:-1]).astype(np.int64)

        def per_bar(flat: list[float]) -> np.ndarray:  # records x lanes -> bars x lanes
            return np.repeat(np.asarray(flat, dtype=np.float64).reshape(-1, self.lanes), reps, axis=0)

        units, entry, settled = per_bar(self.units), per_bar(self.entry), per_bar(self.settled)
        equity = np.repeat(np.asarray(self.cash, dtype=np.float64), reps)
        values, exposed = [], []
        for i, px in enumerate(closes):
            upl = units[:, i] * (px - entry[:, i])
            equity = equity + upl
            values.append(settled[:, i] + upl)
            exposed.append(units[:, i] != 0)
        return Curves(equity, values, exposed)
