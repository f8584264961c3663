"""The simulated account of a run and its exact ``Decimal`` step: one bar of the trader's cycle.

:meth:`Account.step` is the trader's cycle on one bar (:mod:`trader.cycle`), as
:mod:`backtest.engine` describes; everything it touches is ``Decimal`` and every target, size and
order goes through the trader's own functions (:func:`trader.sizing.size_target` with the
strategy's weight and :func:`trader.risk.clip_open`, via :func:`backtest.model.open_size`;
:func:`trader.diff.plan_legs`, :func:`trader.sizing.limit_price`). Like the trader, it keeps the
size each standing target was sized at: a strategy's ``None`` reuses it, a target re-sizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np

from backtest.data import Window
from backtest.funding import FundingRates, settlements
from backtest.ledger import Book, LaneResult, Refusal
from backtest.model import BacktestError, RunSettings, StrategyRun, open_size
from backtest.targets import TargetSource, VectorisedSource
from core.errors import StrategyError
from trader.diff import Leg, plan_legs
from trader.sizing import equity_share, limit_price

__all__ = ["Account", "Lane", "check_lanes"]

ZERO = Decimal(0)


@dataclass(frozen=True)
class Lane:
    """One strategy of the run with its bars and funding."""

    run: StrategyRun
    window: Window
    funding: FundingRates


def check_lanes(lanes: Sequence[Lane]) -> int:
    if not lanes:
        raise BacktestError("nothing to backtest: no strategies")
    seen: set[str] = set()
    for lane in lanes:
        if lane.run.inst_id in seen:
            raise BacktestError(f"{lane.run.inst_id} is traded by two strategies of one account")
        seen.add(lane.run.inst_id)
    first = lanes[0].window
    for lane in lanes[1:]:
        w = lane.window
        if w.count != first.count or w.candles.times[w.first] != first.candles.times[first.first]:
            raise BacktestError("the strategies' candle windows do not cover the same bars")
    return first.count


def _raw(source: TargetSource, count: int) -> np.ndarray:
    """The strategy outputs per bar: a vectorised form's are known ahead (bars where the per-bar
    check fails with a strategy error are blanked when visited); the replay's fill in as it runs."""
    if isinstance(source, VectorisedSource):
        w = source.window
        return source.values[w.first : w.first + count].copy()
    return np.full(count, np.nan)


class Account:
    """The simulated account during one run (see the module docstring for the steps)."""

    def __init__(self, lanes: Sequence[Lane], settings: RunSettings, sources: Sequence[TargetSource]) -> None:
        self.lanes, self.settings, self.sources = lanes, settings, sources
        self.n = len(lanes)
        self.count = check_lanes(lanes)
        self.cash = settings.initial_equity
        self.books = [
            Book(ln.run.inst_id, ln.run.name, ln.run.instrument.contract_value, spot=ln.run.mode == "spot")
            for ln in lanes
        ]
        self.results = [
            LaneResult(ln.run, src.method, 0, _raw(src, self.count), np.full(self.count, np.nan),
                       np.empty(self.count), np.zeros(self.count, dtype=bool))
            for ln, src in zip(lanes, sources, strict=True)
        ]  # fmt: skip
        self.skipped: list[list[int]] = [[] for _ in lanes]
        self.standing: list[int | None] = [None] * self.n
        # the size each standing target was sized at (None: size it on its next bar), as the
        # trader keeps it in its targets table: a strategy's None reuses it, a repeat re-sizes
        self.sizes: list[Decimal | None] = [None] * self.n
        # a size the trader stored on a bar passed without a step (:meth:`defer_size`): computed
        # only when it is read, from the state of that stretch (the step reads it before it moves)
        self.size_due: list[int | None] = [None] * self.n
        self._planned: list[tuple[int, Decimal, Decimal, bool] | None] = [None] * self.n
        costs = settings.costs
        self.fee_rates = [costs.fee_rate(ln.run.instrument.is_contract, settings.order_type) for ln in lanes]
        self.swaps = [ln.run.instrument.inst_type == "SWAP" for ln in lanes]
        self.spot = [ln.run.mode == "spot" for ln in lanes]
        self.funding_s = costs.funding_hours * 3600
        self.market = settings.order_type != "limit"
        self.firsts = [ln.window.first for ln in lanes]
        self.candles = [ln.window.candles for ln in lanes]
        self.plans = [(ln.run.mode, ln.run.instrument.lot_sz, ln.run.instrument.min_sz) for ln in lanes]
        # per bar
        self.k = 0
        self._px: list[Decimal] | None = None
        self._when: datetime | None = None
        self.close_s = 0
        self.margin_base = ZERO  # sizing equity - simulated equity, for the margin check
        self.used: dict[int, Decimal] = {}  # sizing equity per bar close with orders

    def equity(self) -> Decimal:
        equity = self.cash
        for book, px in zip(self.books, self.px, strict=True):
            if book.pos:
                equity += book.upl(px)
        return equity

    def start_bar(self, k: int, close_s: int) -> None:
        self.k = k
        self._px = None
        self._when = None
        self.close_s = close_s

    @property
    def px(self) -> list[Decimal]:
        """The bar's closes (the signal prices), read once a bar needs them."""
        if self._px is None:
            k = self.k
            self._px = [c.close_px(f + k) for c, f in zip(self.candles, self.firsts, strict=True)]
        return self._px

    @property
    def when(self) -> datetime:
        if self._when is None:
            self._when = datetime.fromtimestamp(self.close_s, tz=UTC)
        return self._when

    def pay_funding(self, after_s: int, upto_s: int) -> None:
        if after_s // self.funding_s == upto_s // self.funding_s:
            return  # no settlement in (after_s, upto_s]
        for i, book in enumerate(self.books):
            if book.pos and self.swaps[i]:
                for t in settlements(after_s, upto_s, self.settings.costs.funding_hours):
                    side = 1 if book.pos > 0 else -1
                    amount = book.notional(self.px[i]) * self.lanes[i].funding.rate_at(t) * side
                    book.pay_funding(amount)
                    self.cash -= amount

    def update_targets(self, k: int) -> list[bool]:
        ok = [False] * self.n
        for i, source in enumerate(self.sources):
            pos = self.books[i].pos
            try:
                if pos:
                    raw = source.target(k, 1 if pos > 0 else -1, self.books[i].entry)
                else:
                    raw = source.target(k, 0, None)
            except BacktestError:
                raise
            except StrategyError as exc:  # skipped for this bar, as the trader skips it
                self.results[i].skips.append(f"{self.when.isoformat()}: {exc}")
                self.results[i].raw[k] = np.nan
                self.skipped[i].append(k)
                continue
            ok[i] = True
            if raw is not None:
                self.results[i].raw[k] = raw
                self.standing[i] = raw
                self.sizes[i] = self.size_due[i] = None
        return ok

    def fill_price(self, i: int, leg: Leg) -> Decimal:
        if self.market:
            nxt = self.firsts[i] + self.k + 1
            candles = self.candles[i]
            return candles.open_px(nxt) if nxt < len(candles.times) else self.px[i]
        return limit_price(self.px[i], leg.side, self.settings.slippage, self.lanes[i].run.instrument.tick_sz)

    def book(self, i: int, leg: Leg) -> None:
        target = self.standing[i]
        assert target is not None
        fill, moved = self.books[i].fill(self.when, leg, self.fill_price(i, leg), self.fee_rates[i], target)
        self.cash += moved
        self.results[i].fills.append(fill)

    def closing_legs(self, i: int) -> tuple[Leg, ...]:
        """Phase 1 for lane ``i``: the closes :func:`plan_legs` asks for (none while the position is
        on its standing target's side, or flat)."""
        target, book = self.standing[i], self.books[i]
        if target is None or not book.pos or target == (1 if book.pos > 0 else -1):
            return ()  # plan_legs would close nothing
        mode, lot, min_sz = self.plans[i]
        return plan_legs(target, book.holding, None, mode, lot_sz=lot, min_sz=min_sz).closes

    def closes(self, ok: list[bool]) -> bool:
        traded = False
        for i in range(self.n):
            if not ok[i]:
                continue
            for leg in self.closing_legs(i):
                self.book(i, leg)
                traded = True
        return traded

    def opens(self, ok: list[bool], sizing: Decimal, equity: Decimal) -> bool:
        traded = False
        share = equity_share(sizing, self.n)
        # The margin check sees the equity the opens were sized from, less what they have cost.
        self.margin_base = sizing - equity
        px = self.px
        held: list[Decimal] = []  # each book's notional before the bar's opens (the risk clip)
        planned: dict[int, Decimal] = {}  # notional this bar's opens aim for: they count instead of
        # what is held, as in the trader (trader.phases._plan_opens: opens on one bar share the
        # account's total leverage)
        for i, lane in enumerate(self.lanes):
            target = self.standing[i]
            run = lane.run
            if not ok[i] or target not in (1, -1) or (target == -1 and self.spot[i]):
                continue
            size = self.stored_size(i)
            if size is None:
                held = held or [b.notional(p) for b, p in zip(self.books, px, strict=True)]
                other = sum((planned.get(j, h) for j, h in enumerate(held) if j != i), ZERO)
                size = self.sizes[i] = open_size(
                    run, self.settings, share=share, signal_px=px[i], equity=sizing, other_notional=other
                )  # fmt: skip
            if size > 0:  # 0 = not sizeable: what is held stays (and counts as held)
                planned[i] = size * self.books[i].units * px[i]
            mode, lot, min_sz = self.plans[i]
            plan = plan_legs(
                target, self.books[i].holding, size, mode, lot_sz=lot, min_sz=min_sz, band=self.settings.band
            )
            for leg in plan.adjustments:
                if leg.kind == "open":
                    needed, available = self.margin(i, leg)
                    if needed > available:
                        self.results[i].refusals.append(
                            Refusal(self.when, run.inst_id, leg.sz, needed, available)
                        )
                        continue
                self.book(i, leg)
                traded = True
        return traded

    def defer_size(self, i: int, k: int | None) -> None:
        """Lane ``i``'s stored size becomes what the trader stored for its fresh target on bar
        ``k``, passed without a step (``None``: no size stored)."""
        self.sizes[i], self.size_due[i] = None, k

    def stored_size(self, i: int) -> Decimal | None:
        due = self.size_due[i]
        if due is not None:
            self.sizes[i], self.size_due[i] = self.size_at(i, due), None
        return self.sizes[i]

    def size_at(self, i: int, k: int) -> Decimal:
        """The size the trader stores for lane ``i``'s fresh target on bar ``k``, a bar passed
        without a step (nothing ordered since the last step; simulated equity), as :meth:`opens`
        would size it there."""
        px = [ln.window.candles.close_px(ln.window.first + k) for ln in self.lanes]
        equity = self.cash + sum((b.upl(p) for b, p in zip(self.books, px, strict=True)), ZERO)
        held = [b.notional(p) for b, p in zip(self.books, px, strict=True)]
        return open_size(
            self.lanes[i].run, self.settings, share=equity_share(equity, self.n), signal_px=px[i],
            equity=equity, other_notional=sum(held, ZERO) - held[i],
        )  # fmt: skip

    def holds(self) -> bool:
        """Some book holds a position."""
        for book in self.books:  # noqa: SIM110 (a loop: any() on a generator is slower, a hot path)
            if book.pos:
                return True
        return False

    def holds_swap(self) -> bool:
        """Some book holds a swap position (it pays or gets funding)."""
        for book, swap in zip(self.books, self.swaps, strict=True):  # noqa: SIM110 (as above)
            if swap and book.pos:
                return True
        return False

    def plans_order(self, i: int) -> bool:
        """Lane ``i``'s standing 1/-1 target with its stored size would still order (an open
        refused for margin is retried every bar)."""
        target = self.standing[i]
        if target not in (1, -1) or (target == -1 and self.spot[i]):
            return False
        size = self.stored_size(i)
        if size is None:
            return True  # not sized yet: only a step can tell
        pos = self.books[i].pos
        seen = self._planned[i]  # the answer for the same target, size and position objects
        if seen is not None and seen[0] == target and seen[1] is size and seen[2] is pos:
            return seen[3]
        mode, lot, min_sz = self.plans[i]
        plan = plan_legs(
            target, self.books[i].holding, size, mode, lot_sz=lot, min_sz=min_sz, band=self.settings.band
        )
        orders = bool(plan.adjustments)
        self._planned[i] = (target, size, pos, orders)
        return orders

    def margin(self, i: int, leg: Leg) -> tuple[Decimal, Decimal]:
        """Initial margin (+ fee) an open needs, and what the account has free for it."""
        used = ZERO
        for book, px, lane in zip(self.books, self.px, self.lanes, strict=True):
            if book.pos:
                used += book.notional(px) / lane.run.leverage
        notional = leg.sz * self.books[i].units * self.px[i]
        available = self.margin_base + self.equity() - used
        return notional / self.lanes[i].run.leverage + notional * self.fee_rates[i], available

    def step(self, k: int, close_s: int, bar_s: int, sizing_equity: Decimal | None) -> bool:
        """Bar ``k``'s cycle: funding, targets, closes, re-read equity, sized opens. ``True`` if
        the next bar must be stepped too (a strategy was skipped, or a close could not be made)."""
        if self.size_due.count(None) < self.n:
            for i, due in enumerate(self.size_due):
                source = self.sources[i]
                if due is not None and not (
                    isinstance(source, VectorisedSource) and source.fresh(k) and k not in source.checks
                ):
                    self.stored_size(i)  # read on this bar or kept past it: from the state before it
        self.start_bar(k, close_s)
        self.pay_funding(close_s - bar_s, close_s)
        ok = self.update_targets(k)
        traded = self.closes(ok)
        if self.sizes_any(ok):
            equity = self.equity()
            sizing = equity if sizing_equity is None else sizing_equity
            if self.opens(ok, sizing, equity) or traded:
                self.used[close_s] = sizing
        elif traded:
            self.used[close_s] = self.equity()
        return not all(ok) or self.closes_pending()

    def sizes_any(self, ok: list[bool]) -> bool:
        """Some lane that took its target this bar stands at 1 or -1 (phase 2 sizes it)."""
        for good, target in zip(ok, self.standing, strict=True):
            if good and (target == 1 or target == -1):
                return True
        return False

    def closes_pending(self) -> bool:
        """A standing target the position is not on, with a close the trader would still order."""
        return any(self.closing_legs(i) for i in range(self.n))
