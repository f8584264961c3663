"""Which bars an account can sit through without an order: the trader's re-size check, vectorised.

Between two *events* (a new standing target, a run-time check of a vectorised form, a funding
settlement, a journaled sizing equity) nothing in the account changes but the prices: cash,
positions and standing targets are constant, so the equity at bar ``k`` is
``cash + sum(pos x ctVal x (close[k] - entry))`` and each lane's wanted size is
``size_target``'s raw size ``equity / n x leverage x vr / (close[k] x (1 + slippage) x ctVal)``
rounded down to the lot. The trader orders only when that wanted size leaves the band around the
held position (:func:`trader.diff.plan_legs`), or, flat, once it reaches ``minSz``.

:func:`quiet_band` turns a lane's holding into the raw sizes that cannot give an order (exact
``Decimal`` lot multiples); :class:`Scanner` evaluates the raw sizes of a stretch of bars with
numpy and returns the first bar that may leave them. Floats only *pick* bars: the tolerance is far
wider than their rounding error, so a bar near a boundary is always handed to the engine's exact
``Decimal`` step, which sizes and diffs it through the trader's own functions and decides. A bar
picked needlessly costs one exact step that orders nothing; a bar skipped is provably quiet.
"""

from __future__ import annotations

import bisect
import functools
import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from backtest.data import Window
from trader.sizing import ceil_to_step, floor_to_step

__all__ = ["FlatLane", "QuietBand", "Scanner", "quiet_band"]

ONE = Decimal(1)
REL_TOL = 1e-9  # relative safety margin of the float evaluation (its error is ~1e-15)
CHUNK = 4096  # bars evaluated at a time on long stretches
FEW = 64  # up to this many bars with a given target are evaluated one by one (else with numpy)


@dataclass(frozen=True)
class QuietBand:
    """Raw sizes (before lot rounding) that give no order: ``raw < below`` (not sizeable: under
    ``minSz``) or ``lo <= raw < hi`` (inside the band around the held position; empty if lo >= hi)."""

    below: float
    lo: float
    hi: float


def _inside(desired: Decimal, held: Decimal, band: Decimal) -> bool:
    """``plan_legs``' band test for a held position (``held > 0``)."""
    return abs(desired - held) <= band * desired


@functools.lru_cache(maxsize=4096)
def quiet_band(held: Decimal, lot: Decimal, min_sz: Decimal, band: Decimal) -> QuietBand:
    """The quiet raw sizes of a lane holding ``held`` (>= 0) on its target's side."""
    smallest = max(ceil_to_step(min_sz, lot), lot)  # the smallest size size_target returns
    if held <= 0:
        return QuietBand(float(smallest), math.inf, -math.inf)
    lo = ceil_to_step(held / (ONE + band), lot)
    for _ in range(3):  # the Decimal quotient may round across a lot boundary: settle exactly
        if lo > lot and _inside(lo - lot, held, band):
            lo -= lot
        elif not _inside(lo, held, band):
            lo += lot
    no_band = QuietBand(float(smallest), math.inf, -math.inf)
    if not _inside(lo, held, band):
        return no_band  # not settled: no band, the exact step decides every bar
    if band >= 1:
        return QuietBand(float(smallest), float(lo), math.inf)
    hi = floor_to_step(held / (ONE - band), lot)
    for _ in range(3):
        if _inside(hi + lot, held, band):
            hi += lot
        elif hi > lo and not _inside(hi, held, band):
            hi -= lot
    if hi < lo or not _inside(hi, held, band):
        return no_band
    return QuietBand(float(smallest), float(lo), float(hi + lot))


@dataclass(frozen=True)
class _Active:
    lane: int
    factor: float  # raw size = factor x equity / close
    band: QuietBand


class Scanner:
    """The lanes' closes as floats, for evaluating stretches of bars (see the module docstring)."""

    def __init__(self, windows: Sequence[Window], fresh: Sequence[np.ndarray]) -> None:
        self.px = [w.frame["close"].to_numpy(dtype=np.float64)[w.first : w.first + w.count] for w in windows]
        # per lane, the bars where its strategy gives a target (the trader sizes it afresh there;
        # a None keeps the stored size): only those bars can re-size a standing target
        self.fresh = [np.asarray(f, dtype=bool) for f in fresh]
        self.fresh_list = [f.tobytes() for f in self.fresh]
        self.given_rows = [np.flatnonzero(f).tolist() for f in self.fresh]
        self.inv = [1.0 / p for p in self.px]
        self.px_max = [float(p.max()) for p in self.px]
        self.inv_max = [float(v.max()) for v in self.inv]
        # plain float arrays for the bar-by-bar loop (not lists: the garbage collector would walk them)
        self.px_list = [array("d", p.tobytes()) for p in self.px]
        self.inv_list = [array("d", v.tobytes()) for v in self.inv]
        self.active: list[_Active] = []
        self.cash = 0.0
        self.units: list[float] = []  # signed base units held per lane
        self.entry: list[float] = []

    def set_state(self, cash: float, units: Sequence[float], entry: Sequence[float]) -> None:
        self.cash, self.units, self.entry = cash, list(units), list(entry)
        self.active = []

    def watch(self, lane: int, factor: float, band: QuietBand) -> None:
        """Lane ``lane`` stands at 1 or -1 with a stored size that orders nothing: a bar where it
        is sized afresh is quiet only if its raw size stays in ``band``."""
        self.active.append(_Active(lane, factor, band))

    def first_active(self, start: int, stop: int) -> int:
        """The first bar in ``[start, stop)`` that may need an order (``stop`` if none)."""
        if not self.active:
            return stop
        scale = abs(self.cash) + sum(
            abs(u) * (m + abs(e)) for u, m, e in zip(self.units, self.px_max, self.entry, strict=True)
        )
        base = self.cash - sum(u * e for u, e in zip(self.units, self.entry, strict=True))
        held = [(u, lane) for lane, u in enumerate(self.units) if u]
        tests = []
        for act in self.active:
            tol = REL_TOL * act.factor * scale * self.inv_max[act.lane]
            q = act.band
            tests.append((act.lane, act.factor, q.below - tol, q.lo + tol, q.hi - tol))
        bars = self._given(start, stop)
        if bars is not None:
            return self._loop(bars, stop, base, held, tests)
        a = start
        while a < stop:
            b = min(stop, a + CHUNK)
            equity = np.full(b - a, base)
            for u, lane in held:
                equity += u * self.px[lane][a:b]
            quiet = np.ones(b - a, dtype=bool)
            for lane, factor, below, lo, hi in tests:
                raw = factor * equity * self.inv[lane][a:b]
                quiet &= ~self.fresh[lane][a:b] | (raw < below) | ((raw >= lo) & (raw < hi))
            loud = np.flatnonzero(~quiet)
            if len(loud):
                return a + int(loud[0])
            a = b
        return stop

    def _given(self, start: int, stop: int) -> list[int] | None:
        """The bars in ``[start, stop)`` where a watched lane is given a target (sorted), or
        ``None`` if there are more than :data:`FEW` (numpy evaluates the stretch then)."""
        bars: list[int] = []
        for act in self.active:
            rows = self.given_rows[act.lane]
            a, b = bisect.bisect_left(rows, start), bisect.bisect_left(rows, stop)
            if b - a > FEW:
                return None
            bars.extend(rows[a:b])
        return sorted(set(bars)) if len(self.active) > 1 else bars

    def _loop(
        self, bars: list[int], stop: int, base: float, held: list[tuple[float, int]],
        tests: list[tuple[int, float, float, float, float]],
    ) -> int:  # fmt: skip
        """:meth:`first_active` on the few bars where a target is given: cheaper than numpy's
        set-up (only those bars can re-size)."""
        px, inv, fresh = self.px_list, self.inv_list, self.fresh_list
        for j in bars:
            equity = base
            for u, lane in held:
                equity += u * px[lane][j]
            for lane, factor, below, lo, hi in tests:
                if not fresh[lane][j]:
                    continue
                raw = factor * equity * inv[lane][j]
                if not (raw < below or lo <= raw < hi):
                    return j
        return stop

    def first_opening(self, start: int, stop: int, cash: float, flat: Sequence[FlatLane]) -> int:
        """With every lane flat (equity = ``cash``): the first bar in ``[start, stop)`` where a lane
        standing at 1 or -1 may size an open (``stop`` if none). Flat, a lane's raw size is
        ``factor x cash / close``: it reaches ``minSz`` when the close falls to a threshold."""
        if cash <= 0:
            return stop  # no equity, nothing is sizeable
        end = stop
        for lane in flat:
            tol = REL_TOL * lane.factor * cash * self.inv_max[lane.lane]
            limit = lane.factor * cash / (lane.below - tol) * (1 + REL_TOL)  # close <= limit: may open
            rows, px = lane.rows, self.px_list[lane.lane]
            at = bisect.bisect_left(rows, start)
            for j in rows[at : at + FEW]:  # mostly the first bar that wants a position opens
                if j >= end:
                    break
                if px[j] <= limit:
                    end = j
                    break
            else:
                at += FEW
                while at < len(rows) and rows[at] < end:  # not sizeable for a while: numpy
                    some = lane.rows_np[at : at + CHUNK]
                    hit = np.flatnonzero((self.px[lane.lane][some] <= limit) & (some < end))
                    if len(hit):
                        end = int(some[hit[0]])
                        break
                    at += CHUNK
        return end


@dataclass(frozen=True)
class FlatLane:
    """A lane seen while flat: the bars where its vectorised form gives 1 or -1 (spot: 1); only a
    bar that sizes a target afresh can open (on a ``None`` the trader keeps the size it stored,
    which opened nothing)."""

    lane: int
    factor: float
    below: float
    rows: list[int]
    rows_np: np.ndarray

    @staticmethod
    def of(lane: int, factor: float, below: float, values: np.ndarray, spot: bool) -> FlatLane:
        wants = np.flatnonzero(values == 1 if spot else np.abs(values) == 1)
        return FlatLane(lane, factor, below, wants.tolist(), wants)
