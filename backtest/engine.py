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

Fills: ``limit`` orders fill at the trader's first limit price (signal price moved by the
slippage, rounded to the tick: :func:`trader.sizing.limit_price`); ``market`` and
``optimal_limit_ioc`` orders at the next bar's open (the last bar: its close).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np

from backtest.data import Window
from backtest.funding import FundingRates, settlements
from backtest.ledger import Book, LaneResult, Refusal, RunResult
from backtest.model import BacktestError, RunSettings, StrategyRun, open_size
from backtest.targets import TargetSource, VectorisedSource
from core.errors import StrategyError
from trader.diff import Leg, plan_legs
from trader.sizing import equity_share, limit_price

__all__ = ["Lane", "LaneResult", "RunResult", "run_backtest"]

ZERO = Decimal(0)


@dataclass(frozen=True)
class Lane:
    """One strategy of the run with its bars and funding."""

    run: StrategyRun
    window: Window
    funding: FundingRates


def _check_lanes(lanes: Sequence[Lane]) -> int:
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


class _Account:
    """The simulated account during one run (see the module docstring for the steps)."""

    def __init__(self, lanes: Sequence[Lane], settings: RunSettings, sources: Sequence[TargetSource]) -> None:
        self.lanes, self.settings, self.sources = lanes, settings, sources
        self.n = len(lanes)
        self.count = _check_lanes(lanes)
        self.cash = settings.initial_equity
        self.books = [
            Book(ln.run.inst_id, ln.run.name, ln.run.instrument.contract_value, spot=ln.run.mode == "spot")
            for ln in lanes
        ]
        self.results = [
            LaneResult(ln.run, src.method, 0, np.full(self.count, np.nan), np.full(self.count, np.nan),
                       np.empty(self.count), np.zeros(self.count, dtype=bool))
            for ln, src in zip(lanes, sources, strict=True)
        ]  # fmt: skip
        self.standing: list[int | None] = [None] * self.n
        # the size each standing target was sized at (None: size it on its next bar), as the
        # trader keeps it in its targets table: a strategy's None reuses it, a repeat re-sizes
        self.sizes: list[Decimal | None] = [None] * self.n
        costs = settings.costs
        self.fee_rates = [costs.fee_rate(ln.run.instrument.is_contract, settings.order_type) for ln in lanes]
        self.swaps = [ln.run.instrument.inst_type == "SWAP" for ln in lanes]
        self.market = settings.order_type != "limit"
        # per bar
        self.rows: list[int] = []
        self._px: list[Decimal] | None = None
        self.close_s = 0
        self.margin_base = ZERO  # sizing equity - simulated equity, for the margin check

    def quiet_until(self, k: int) -> int:
        """Bars from ``k`` on where nothing can happen: every book flat, no standing target to
        open, and no vectorised source signalling or checking. Returns the first bar that is not
        quiet (``k`` itself when the replay, or a position, needs every bar)."""
        if any(b.pos for b in self.books) or any(s in (1, -1) for s in self.standing):
            return k
        ends = [s.next_event(k) if isinstance(s, VectorisedSource) else k for s in self.sources]
        return min(ends)

    def pass_quietly(self, k: int, stop: int, share0: Decimal) -> None:
        """Record the quiet bars ``k .. stop - 1``: targets stand, values stay, nobody is exposed."""
        for i, book in enumerate(self.books):
            res = self.results[i]
            res.value[k:stop] = float(share0 + book.settled)
            if self.standing[i] is not None:
                res.standing[k:stop] = self.standing[i]

    def equity(self) -> Decimal:
        return self.cash + sum((b.upl(p) for b, p in zip(self.books, self.px, strict=True)), ZERO)

    def start_bar(self, k: int, close_s: int) -> None:
        self.rows = [ln.window.first + k for ln in self.lanes]
        self._px = None
        self.close_s = close_s

    @property
    def px(self) -> list[Decimal]:
        """The bar's closes (the signal prices), read once a bar needs them."""
        if self._px is None:
            self._px = [ln.window.candles.close_px(r) for ln, r in zip(self.lanes, self.rows, strict=True)]
        return self._px

    @property
    def when(self) -> datetime:
        return datetime.fromtimestamp(self.close_s, tz=UTC)

    def pay_funding(self, after_s: int, upto_s: int) -> None:
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
            book = self.books[i]
            try:
                now_pos = 1 if book.pos > 0 else -1 if book.pos < 0 else 0
                raw = source.target(k, now_pos, book.entry if book.pos else None)
            except BacktestError:
                raise
            except StrategyError as exc:  # skipped for this bar, as the trader skips it
                self.results[i].skips.append(f"{self.when.isoformat()}: {exc}")
                continue
            ok[i] = True
            if raw is not None:
                self.results[i].raw[k] = raw
                self.standing[i] = raw
                self.sizes[i] = None
            if self.standing[i] is not None:
                self.results[i].standing[k] = self.standing[i]
        return ok

    def fill_price(self, i: int, leg: Leg) -> Decimal:
        if self.market:
            nxt = self.rows[i] + 1
            candles = self.lanes[i].window.candles
            return candles.open_px(nxt) if nxt < len(candles) else self.px[i]
        return limit_price(self.px[i], leg.side, self.settings.slippage, self.lanes[i].run.instrument.tick_sz)

    def book(self, i: int, leg: Leg) -> None:
        target = self.standing[i]
        assert target is not None
        fill, moved = self.books[i].fill(self.when, leg, self.fill_price(i, leg), self.fee_rates[i], target)
        self.cash += moved
        self.results[i].fills.append(fill)

    def closes(self, ok: list[bool]) -> bool:
        traded = False
        for i, lane in enumerate(self.lanes):
            target, pos = self.standing[i], self.books[i].pos
            side = 1 if pos > 0 else -1 if pos < 0 else 0
            if not ok[i] or target is None or target == side:  # plan_legs would close nothing
                continue
            inst = lane.run.instrument
            plan = plan_legs(
                target, self.books[i].holding, None, lane.run.mode, lot_sz=inst.lot_sz, min_sz=inst.min_sz
            )
            for leg in plan.closes:
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
        for i, lane in enumerate(self.lanes):
            target = self.standing[i]
            run, inst = lane.run, lane.run.instrument
            if not ok[i] or target not in (1, -1) or (target == -1 and run.mode == "spot"):
                continue
            size = self.sizes[i]
            if size is None:
                held = held or [b.notional(p) for b, p in zip(self.books, px, strict=True)]
                size = self.sizes[i] = open_size(
                    run, self.settings, share=share, signal_px=px[i], equity=sizing,
                    other_notional=sum(held, ZERO) - held[i],
                )  # fmt: skip
            plan = plan_legs(
                target, self.books[i].holding, size, run.mode,
                lot_sz=inst.lot_sz, min_sz=inst.min_sz, band=self.settings.band,
            )  # fmt: skip
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

    def margin(self, i: int, leg: Leg) -> tuple[Decimal, Decimal]:
        """Initial margin (+ fee) an open needs, and what the account has free for it."""
        used = sum(
            (
                b.notional(p) / ln.run.leverage
                for b, p, ln in zip(self.books, self.px, self.lanes, strict=True)
            ),
            ZERO,
        )
        notional = leg.sz * self.books[i].units * self.px[i]
        available = self.margin_base + self.equity() - used
        return notional / self.lanes[i].run.leverage + notional * self.fee_rates[i], available


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
    acct = _Account(lanes, settings, sources)
    count, iv = acct.count, lanes[0].window.candles.interval
    share0 = settings.initial_equity / acct.n
    override = {int(k.timestamp()): v for k, v in (sizing_equity or {}).items()}
    closes = np.empty(count, dtype=np.int64)
    curve = np.empty(count)
    used: dict[int, Decimal] = {}
    times = lanes[0].window.candles.times
    first = lanes[0].window.first
    closes[:] = times[first : first + count] + iv.seconds
    k = 0
    while k < count:
        quiet = acct.quiet_until(k)
        if quiet > k:
            acct.pass_quietly(k, quiet, share0)
            curve[k:quiet] = float(acct.cash)
            k = quiet
            continue
        close_s = int(closes[k])
        acct.start_bar(k, close_s)
        acct.pay_funding(close_s - iv.seconds, close_s)
        ok = acct.update_targets(k)
        traded = acct.closes(ok)
        if any(ok[i] and (s == 1 or s == -1) for i, s in enumerate(acct.standing)):
            equity = acct.equity()
            sizing = override.get(close_s, equity)
            if acct.opens(ok, sizing, equity) or traded:
                used[close_s] = sizing
        elif traded:
            used[close_s] = acct.equity()
        total = acct.cash
        for i, book in enumerate(acct.books):
            res = acct.results[i]
            if book.pos:
                px = acct.px[i]
                res.value[k] = float(share0 + book.value(px))
                res.exposed[k] = True
                total += book.upl(px)
            else:  # flat: no price needed
                res.value[k] = float(share0 + book.settled)
        curve[k] = float(total)
        k += 1

    last_px = [ln.window.candles.close_px(ln.window.first + count - 1) for ln in lanes]
    for i, (book, res) in enumerate(zip(acct.books, acct.results, strict=True)):
        res.checked = int(getattr(sources[i], "checked", 0))
        res.trips = list(book.trips)
        res.fees, res.funding = book.fees, book.funding
        res.final_pnl = book.value(last_px[i])
    final = acct.cash + sum((b.upl(p) for b, p in zip(acct.books, last_px, strict=True)), ZERO)
    return RunResult(closes, curve, settings.initial_equity, final, acct.results, used)
