"""The bar loop: the trader's cycle, replayed on history with simulated fills.

For every bar, in the trader's order (:mod:`trader.cycle`):

1. funding settled since the previous bar is paid on the positions held (swaps);
2. each strategy's target: its vectorised form's value for the bar (checked against the per-bar
   function on a sample, see :mod:`backtest.targets`), or the per-bar function itself through the
   trader's guard on the ``lookback`` rows ending at the bar; a failing strategy is skipped for
   the bar, exactly as the trader skips it;
3. the *standing* target: the last non-``None`` target (``None`` keeps it standing, with the size
   it was sized at, as the trader's targets table keeps it; a non-``None`` target is sized afresh);
4. phase 1: the closes :func:`trader.diff.plan_legs` asks for;
5. phase 2: equity re-read (cash + positions marked at the signal price), split equally, each
   ``1``/``-1`` standing target without a stored size sized by :func:`backtest.model.open_size`
   (weight, :func:`trader.sizing.size_target` at the trader's sizing price, risk clip), diffed
   by :func:`trader.diff.plan_legs` (with its band) into opens and adjustments;
   an open the account cannot margin is refused;
6. equity marked at the bar's close.

Steps 1-5 run exactly, in ``Decimal`` (:meth:`backtest.account.Account.step`), on every bar where
something can happen; the others are passed in bulk. A bar must be stepped when a strategy is
replayed (every bar), a vectorised form's standing target changes or is checked, a funding
settlement falls on a position, the run sizes from journaled equity, or the sizing may leave the
band around the position on a bar where a strategy gives its target again (:mod:`backtest.quiet`:
a float pre-screen with a wide margin; the exact step decides; with risk limits set only
"not sizeable" is screened, the clip is left to the step), or a stored size still orders (an open
refused for margin is retried every bar). On a ``None`` bar the stored size orders nothing more.
A new ``1``/``-1`` target is always stepped (the trader sizes and stores it there); a standing
target that changes to ``0`` without a close is taken without a step; with every book flat, a
whole flat stretch is screened at once for the first bar whose fresh target may open. After a
stretch passed without a step, each lane's stored size is the exact ``Decimal`` size of its last
fresh target in it (:meth:`backtest.account.Account.size_at`, computed from the stretch's state
when it is first read: often never, as the next step gives a fresh target), so the next step
sizes as the trader does.
Between stepped bars nothing but the prices changes, so the per-bar curves of step 6 are computed
at the end with numpy, as floats (:mod:`backtest.tape`); the standing target per bar is the
strategy's outputs carried forward.

Fills: ``limit`` orders fill at the trader's first limit price (signal price moved by the
slippage, rounded to the tick: :func:`trader.sizing.limit_price`); ``market`` and
``optimal_limit_ioc`` orders at the next bar's open (the last bar: its close).
"""

from __future__ import annotations

import bisect
import gc
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal

import numpy as np
import pandas as pd

from backtest.account import Account, Lane
from backtest.ledger import LaneResult, RunResult
from backtest.model import RunSettings
from backtest.quiet import FlatLane, QuietBand, Scanner, quiet_band
from backtest.tape import Tape
from backtest.targets import TargetSource, VectorisedSource

__all__ = ["Lane", "LaneResult", "RunResult", "run_backtest"]

ZERO = Decimal(0)
ONE = Decimal(1)


class _Cursor:
    """The next of a sorted set of bars, for ``k`` that only grows."""

    def __init__(self, rows: np.ndarray, none: int) -> None:
        self.rows, self.at, self.none = [int(r) for r in rows], 0, none

    def next(self, k: int) -> int:
        rows = self.rows
        at = self.at = bisect.bisect_left(rows, k, self.at)
        return rows[at] if at < len(rows) else self.none


class _Loop:
    """Which bar to step next (see the module docstring)."""

    def __init__(
        self, acct: Account, closes: np.ndarray, override: Mapping[int, Decimal], bar_s: int
    ) -> None:
        self.acct, self.count = acct, acct.count
        settings = acct.settings
        hours = settings.costs.funding_hours * 3600
        self.funding_bars = np.flatnonzero(closes // hours > (closes - bar_s) // hours)
        self.override_bars = np.flatnonzero(np.isin(closes, np.fromiter(override, np.int64, len(override))))
        self.swaps = acct.swaps
        self.factor = [
            float(ln.run.leverage * ln.run.weight_factor * settings.volatility_ratio
                  / ((ONE + settings.slippage) * ln.run.instrument.contract_value)) / acct.n
            for ln in acct.lanes
        ]  # fmt: skip
        # the risk clip only shrinks a size: with limits set, only "not sizeable" is screened
        risk = settings.risk
        self.clipped = risk.max_notional is not None or risk.max_total_leverage is not None
        vectorised = [s for s in acct.sources if isinstance(s, VectorisedSource)]
        self.values = [s.values[s.window.first : s.window.first + self.count] for s in vectorised]
        fresh = [~np.isnan(v) for v in self.values] if len(vectorised) == acct.n else []
        # per lane and bar, the last bar at or before it where the strategy gave a target (-1: none)
        self.given = [np.maximum.accumulate(np.where(f, np.arange(self.count), -1)) for f in fresh]
        self.scanner = Scanner([ln.window for ln in acct.lanes], fresh)
        self.every = len(vectorised) < acct.n  # a replayed strategy: every bar is stepped
        static = [s.changes for s in vectorised]
        self.events = _Cursor(np.union1d(self.override_bars, np.concatenate([*static, []])), self.count)
        self.settle = _Cursor(self.funding_bars, self.count)
        self.checks = set().union(*(s.checks for s in vectorised))
        self.overrides = set(self.override_bars.tolist())
        self.share0 = settings.initial_equity / acct.n
        # all flat: the standing targets follow the vectorised forms (no skipped check yet), and
        # only a check, a journaled equity or an open can need a step
        self.hard = _Cursor(np.union1d(self.override_bars, np.fromiter(self.checks, np.int64)), self.count)
        self.static = [s.filled for s in vectorised]
        self.flat = [] if self.every else [self._flat_lane(i) for i in range(acct.n)]

    def _flat_lane(self, i: int) -> FlatLane:
        inst, settings = self.acct.lanes[i].run.instrument, self.acct.settings
        below = quiet_band(ZERO, inst.lot_sz, inst.min_sz, settings.band).below
        spot = self.acct.lanes[i].run.mode == "spot"
        return FlatLane.of(i, self.factor[i], below, self.values[i], spot)

    def catch_up(self, k: int, j: int) -> None:
        """Bars ``[k, j)`` were passed without a step: each lane's stored size becomes what the
        trader stored on its last fresh target there (the exact size; it ordered nothing)."""
        acct = self.acct
        if j <= k:
            return
        for i, values in enumerate(self.values):
            f = int(self.given[i][j - 1])
            if f < k:
                continue  # no target given in the stretch: the stored size stands
            value = int(values[f])
            spot_short = value == -1 and acct.spot[i]
            acct.defer_size(i, f if value in (1, -1) and not spot_short else None)

    def next_step(self, k: int, tape: Tape) -> int:
        """The next bar from ``k`` to step (``count``: none); the bars before it are passed."""
        count, acct = self.count, self.acct
        forced = False  # k is a forced bar with a position held: flat_until does not apply
        while k < count:
            if forced:
                stop = k  # next_forced(k) is k: it gave k from an earlier bar, nothing changed since
            else:
                j, opens = self.flat_until(k)
                if opens:
                    return j
                if j > k:
                    k = j  # a forced bar (or the end)
                    continue
                stop = self.next_forced(k)
            if stop == k and not self.every and self.soft(k):
                stop = self.next_forced(k + 1)
            if stop <= k:
                return k
            j = self.first_active(k, stop, tape)
            if j < stop:
                return j
            k, forced = stop, acct.holds()
        return count

    def flat_until(self, k: int) -> tuple[int, bool]:
        """With every book flat: the next bar to look at from ``k`` and whether it opens (then
        step it); the standing targets are brought to the bar before it. ``(k, False)`` if this
        shortcut does not apply."""
        acct = self.acct
        if self.every or acct.holds() or any(acct.skipped):
            return k, False
        if self.orders_left():
            return k, False  # a stored size still orders (refused for margin): step
        stop = self.hard.next(k)
        if stop == k:
            return k, False
        cash = float(acct.cash)
        j = self.scanner.first_opening(k, stop, cash, self.flat)
        if j > 0:
            for i, st in enumerate(self.static):
                v = st[j - 1]
                acct.standing[i] = None if v != v else int(v)
            self.catch_up(k, j)
        return j, j < stop

    def orders_left(self) -> bool:
        for i in range(self.acct.n):  # noqa: SIM110 (a loop: any() on a generator is slower, a hot path)
            if self.acct.plans_order(i):
                return True
        return False

    def next_forced(self, k: int) -> int:
        """The first bar >= ``k`` that must be stepped whatever the prices do."""
        acct = self.acct
        if self.every:
            return k
        end = self.events.next(k)
        for i, source in enumerate(acct.sources):
            if acct.skipped[i]:  # a skipped check left the standing target off its static course
                assert isinstance(source, VectorisedSource)
                end = min(end, source.next_event(k, acct.standing[i]))
        if acct.holds_swap():
            end = min(end, self.settle.next(k))
        return end

    def soft(self, k: int) -> bool:
        """Take forced bar ``k`` without a step if it only changes standing targets and closes
        nothing (its sizing is then screened like any bar's); ``False``: step it."""
        acct = self.acct
        if k in self.checks or k in self.overrides or any(acct.skipped):
            return False
        values = [v[k] for v in self.values]
        for value in values:
            if value == 1 or value == -1:
                return False  # a fresh 1/-1 target: the trader sizes and stores it on this bar
        if acct.holds_swap() and self.settle.next(k) == k:
            return False
        for i, value in enumerate(values):
            if value == value:  # not NaN: the new standing target (0)
                acct.standing[i] = int(value)
                acct.defer_size(i, None)
        for i, book in enumerate(acct.books):
            target = acct.standing[i]
            off = book.pos and target is not None and target != (1 if book.pos > 0 else -1)
            if off and (not acct.spot[i] or acct.closes_pending()):
                return False  # a close (net mode always closes what it holds)
        return True

    def first_active(self, k: int, stop: int, tape: Tape) -> int:
        """The first bar in ``[k, stop)`` whose sizing may order (``stop`` if none); the stored
        sizes are brought to the bar before it."""
        j = self._first_active(k, stop, tape)
        self.catch_up(k, j)
        return j

    def _first_active(self, k: int, stop: int, tape: Tape) -> int:
        acct, scanner = self.acct, self.scanner
        watched = [
            i for i, t in enumerate(acct.standing) if (t == 1 or t == -1) and not (t == -1 and acct.spot[i])
        ]  # fmt: skip
        if not watched:
            return stop  # no lane to size: nothing can order before the next forced bar
        if self.orders_left():
            return k  # a stored size still orders (or none is stored yet): step
        for i in watched:
            if self.given[i][stop - 1] >= k:
                break
        else:
            return stop  # no watched lane is sized afresh in the stretch: its stored size stands
        n = acct.n
        scanner.set_state(tape.cash[-1], tape.units[-n:], tape.entry[-n:])
        for i, (lane, target) in enumerate(zip(acct.lanes, acct.standing, strict=True)):
            if target not in (1, -1) or (target == -1 and lane.run.mode == "spot"):
                continue
            pos, inst = acct.books[i].pos, lane.run.instrument
            held = abs(pos) if pos * target > 0 else ZERO  # on the target side: Holding.long/short
            band = quiet_band(held, inst.lot_sz, inst.min_sz, acct.settings.band)
            if self.clipped:
                band = QuietBand(band.below, math.inf, -math.inf)
            scanner.watch(i, self.factor[i], band)
        return scanner.first_active(k, stop)


@contextmanager
def _no_cycle_collection(pause: bool) -> Iterator[None]:
    """With vectorised targets the bar loop makes many small objects (fills, round trips, plans)
    and no reference cycles: reference counting frees them, and the cyclic collector would only
    walk them over and over (a few % of a long run), so it is paused for the loop and restored
    after. A replayed strategy gets a pandas frame per bar, whose cycles it must collect."""
    enabled = gc.isenabled()
    if pause:
        gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def run_backtest(
    lanes: Sequence[Lane],
    settings: RunSettings,
    *,
    sources: Sequence[TargetSource],
    sizing_equity: Mapping[datetime, Decimal] | None = None,
) -> RunResult:
    """Replay the account over its lanes' bars. ``sizing_equity`` (bar close -> equity) replaces
    the simulated equity in phase 2 for those bars (the identity test sizes from the equity the
    trader journaled)."""
    acct = Account(lanes, settings, sources)
    count, bar_s = acct.count, lanes[0].window.candles.interval.seconds
    share0 = settings.initial_equity / acct.n
    override = {int(k.timestamp()): v for k, v in (sizing_equity or {}).items()}
    first = lanes[0].window.first
    closes = lanes[0].window.candles.times[first : first + count] + bar_s
    loop = _Loop(acct, closes, override, bar_s)
    tape = Tape(acct.n)
    tape.record(0, acct.cash, acct.books, share0)
    k, pending = 0, False
    with _no_cycle_collection(not loop.every):
        while k < count:
            if not pending:
                k = loop.next_step(k, tape)
                if k == count:
                    break
            close_s = int(closes[k])
            pending = acct.step(k, close_s, bar_s, override.get(close_s))
            tape.record(k, acct.cash, acct.books, share0)
            k += 1

    curves = tape.curves(loop.scanner.px, count)
    last_px = [ln.window.candles.close_px(ln.window.first + count - 1) for ln in lanes]
    for i, (book, res) in enumerate(zip(acct.books, acct.results, strict=True)):
        res.value, res.exposed = curves.values[i], curves.exposed[i]
        # the standing target: the last output carried forward (a skipped bar has none)
        res.standing = pd.Series(res.raw).ffill().to_numpy(copy=True)
        res.standing[acct.skipped[i]] = np.nan
        res.checked = int(getattr(sources[i], "checked", 0))
        res.trips = list(book.trips)
        res.fees, res.funding = book.fees, book.funding
        res.final_pnl = book.value(last_px[i])
    final = acct.cash + sum((b.upl(p) for b, p in zip(acct.books, last_px, strict=True)), ZERO)
    return RunResult(closes, curves.equity, settings.initial_equity, final, acct.results, acct.used)
