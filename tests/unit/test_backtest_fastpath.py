"""The fast bar loop against the previous implementation, kept here as the reference.

The reference steps *every* bar through the exact ``Decimal`` cycle and marks each bar in
``Decimal`` (what :func:`backtest.engine.run_backtest` did before it learnt to pass quiet bars in
bulk). The fast loop must give the same fills, refusals, sizing equity, standing targets,
exposure and final equity, and the same equity curve up to float rounding. The quiet screen's
band is checked against :func:`trader.diff.plan_legs` itself.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from backtest.account import Account, Lane
from backtest.data import load_candles, window
from backtest.engine import RunResult, run_backtest
from backtest.funding import FundingRates
from backtest.ledger import Fill, Refusal
from backtest.model import Costs, RunSettings, make_strategy_run
from backtest.quiet import quiet_band
from backtest.targets import make_source
from config.schema import RiskSettings
from core.bars import Bar
from core.store import CandleStore
from exchange.records import Instrument
from strategies.registry import StrategyParams, register, register_vectorised
from tests.unit.test_backtest_engine import T0, H, spot, swap, write
from trader.diff import Holding, plan_legs

D = Decimal


@pytest.fixture
def store(tmp_path: Path) -> CandleStore:
    return CandleStore(tmp_path, "UTC")


@dataclass
class Reference:
    fills: list[Fill]
    refusals: list[Refusal]
    final: Decimal
    equity: np.ndarray
    values: list[np.ndarray]
    standing: list[np.ndarray]
    exposed: list[np.ndarray]
    used: dict[int, Decimal]


def reference(lanes: list[Lane], settings: RunSettings, sizing_equity: dict[datetime, Decimal]) -> Reference:
    """Every bar stepped, every bar marked in Decimal: the previous implementation."""
    sources = [make_source(ln.run, ln.window, "vectorised") for ln in lanes]
    acct = Account(lanes, settings, sources)
    count, bar_s = acct.count, lanes[0].window.candles.interval.seconds
    share0 = settings.initial_equity / acct.n
    override = {int(k.timestamp()): v for k, v in sizing_equity.items()}
    first = lanes[0].window.first
    closes = lanes[0].window.candles.times[first : first + count] + bar_s
    equity = np.empty(count)
    values, exposed, standing = ([np.full(count, np.nan) for _ in lanes] for _ in range(3))
    for k in range(count):
        close_s = int(closes[k])
        acct.step(k, close_s, bar_s, override.get(close_s))
        total = acct.cash
        for i, book in enumerate(acct.books):
            if acct.standing[i] is not None and k not in acct.skipped[i]:
                standing[i][k] = acct.standing[i]
            exposed[i][k] = bool(book.pos)
            values[i][k] = float(share0 + book.value(acct.px[i]))
            total += book.upl(acct.px[i])
        equity[k] = float(total)
    last = [ln.window.candles.close_px(ln.window.first + count - 1) for ln in lanes]
    final = acct.cash + sum((b.upl(p) for b, p in zip(acct.books, last, strict=True)), D(0))
    fills = sorted((f for r in acct.results for f in r.fills), key=lambda f: f.time)
    refusals = [x for r in acct.results for x in r.refusals]
    return Reference(fills, refusals, final, equity, values, standing, exposed, acct.used)


def lanes_for(
    store: CandleStore,
    insts: list[Instrument],
    leverage: int,
    params: dict[str, Any],
    name: str = "bollinger",
) -> list[Lane]:
    out = []
    for inst in insts:
        run = make_strategy_run(name, params, inst, D(leverage), D(20))
        candles = load_candles(store, inst.inst_id, H)
        end = candles.time(len(candles) - 1) + H.delta
        w = window(candles, candles.time(run.lookback - 1), end, run.lookback)
        out.append(Lane(run, w, FundingRates(D("0.0003"))))
    return out


def assert_same(fast: RunResult, ref: Reference) -> None:
    assert fast.fills == ref.fills
    assert [x for lane in fast.lanes for x in lane.refusals] == ref.refusals
    assert fast.final == ref.final
    assert fast.sizing_equity == ref.used
    np.testing.assert_allclose(fast.equity, ref.equity, rtol=1e-12)
    for i, lane in enumerate(fast.lanes):
        np.testing.assert_allclose(lane.value, ref.values[i], rtol=1e-12, atol=1e-9)
        assert np.array_equal(lane.standing, ref.standing[i], equal_nan=True)
        assert lane.exposed.tolist() == ref.exposed[i].astype(bool).tolist()


CASES = {
    # high leverage and a wide walk: the band is left often, positions are re-sized on quiet bars
    "swaps-market": (["BTC-USDT-SWAP", "ETH-USDT-SWAP"], 5, RunSettings(order_type="market"), 0.02),
    "swaps-limit": (["BTC-USDT-SWAP", "ETH-USDT-SWAP"], 3, RunSettings(), 0.01),
    "one-swap-tight-band": (["BTC-USDT-SWAP"], 10, RunSettings(band=D("0.02"), slippage=D(0)), 0.01),
    "spot": (["ETH-USDT"], 1, RunSettings(costs=Costs(taker=D("0.002"))), 0.02),
    # leverage 20 on two lanes: the margin check refuses opens
    "margin": (["BTC-USDT-SWAP", "ETH-USDT-SWAP"], 20, RunSettings(initial_equity=D(50)), 0.03),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_fast_loop_equals_the_previous_implementation(store: CandleStore, case: str) -> None:
    names, leverage, settings, vol = CASES[case]
    rng = np.random.default_rng(len(case))
    insts = [spot(n) if n.count("-") == 1 else swap(n) for n in names]
    for inst in insts:
        closes = np.round(100 * np.exp(np.cumsum(rng.normal(0, vol, 700))), 1)
        write(store, inst.inst_id, [None] * 700, closes.tolist(), opens=np.round(closes * 1.001, 1).tolist())
    lanes = lanes_for(store, insts, leverage, {"n": 8, "m": 1.0})
    # a journaled equity for one bar, as the identity test gives
    equity = {lanes[0].window.candles.time(300) + H.delta: D(7000)}
    sources = [make_source(ln.run, ln.window, "vectorised") for ln in lanes]

    fast = run_backtest(lanes, settings, sources=sources, sizing_equity=equity)
    ref = reference(lanes, settings, equity)

    assert len(ref.fills) > 30
    if case == "margin":
        assert ref.refusals
    assert_same(fast, ref)


@pytest.mark.parametrize("seed", range(40))
def test_the_quiet_band_never_hides_an_order(seed: int) -> None:
    rng = np.random.default_rng(seed)
    lot = D(str(rng.choice(["0.01", "1", "0.0001", "0.1"])))
    min_sz = lot * int(rng.integers(1, 4))
    band = D(str(rng.choice(["0.1", "0.05", "0.3", "0"])))
    held = lot * int(rng.integers(0, 400)) + (lot * D("0.37") if seed % 3 == 0 else 0)  # spot: off-lot
    q = quiet_band(held, lot, min_sz, band)
    for m in range(0, 520):
        desired = lot * m
        raw = float(desired + lot * D("0.5"))
        if raw < q.below or q.lo <= raw < q.hi:
            sized = desired if desired >= min_sz and desired > 0 else D(0)
            plan = plan_legs(1, Holding(long=held), sized, "net", lot_sz=lot, min_sz=min_sz, band=band)
            assert not plan.adjustments, (held, lot, min_sz, band, m)
    if held > 0 and band > 0 and seed % 3:
        assert q.lo <= float(held) < q.hi  # a held position inside its own band is quiet


# ---- a strategy whose per-bar function fails on some bars (volume 7): skipped where checked -----
CODES = {1: 1, 2: -1, 3: 0}


@register("bt_volume_skips", StrategyParams, lookback=lambda p: 1)
def bt_volume_skips(
    df: pd.DataFrame, now_pos: int, avg_price: Decimal | None, params: StrategyParams
) -> int | None:
    volume = int(df["volume"].iloc[-1])
    if volume == 7:
        raise ValueError("volume 7")
    return CODES.get(volume)


@register_vectorised("bt_volume_skips")
def bt_volume_skips_vectorised(df: pd.DataFrame, params: StrategyParams) -> np.ndarray:
    volume = df["volume"].to_numpy()
    return np.select([volume == 1, volume == 2, volume == 3, volume == 7], [1.0, -1.0, 0.0, -1.0], np.nan)


def test_skipped_checks_give_the_same_run(store: CandleStore) -> None:
    rng = np.random.default_rng(7)
    closes = np.round(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 600))), 1)
    codes = rng.choice([1, 2, 3, 9, 9, 9, 9, 9, 9, 7], size=600)
    codes[[3, 10, 25]] = 7  # early signals: among the bars the run checks
    bars = [
        Bar(T0 + H.delta * k, D(str(c)), D(str(c)), D(str(c)), D(str(c)), D(int(v)), D(0), D(0))
        for k, (c, v) in enumerate(zip(closes, codes, strict=True))
    ]
    store.rewrite("BTC-USDT-SWAP", H, bars)
    lanes = lanes_for(store, [swap()], 3, {}, name="bt_volume_skips")
    settings = RunSettings(order_type="market")
    sources = [make_source(ln.run, ln.window, "vectorised") for ln in lanes]

    fast = run_backtest(lanes, settings, sources=sources)
    ref = reference(lanes, settings, {})

    assert fast.lanes[0].skips
    assert len(ref.fills) > 30
    assert_same(fast, ref)


# ---- the trader's sizing (QA 10): weights, the risk clip, a None keeps the stored size ---------
SIZING = {
    # a weight and a tight band: repeated targets re-size, Nones keep the stored size
    "weighted": (D("0.6"), RunSettings(band=D("0.02"), order_type="market"), RiskSettings(), 10),
    "max-notional": (D(1), RunSettings(band=D("0.02")), RiskSettings(max_notional=D(9000)), 5),
    "total-leverage": (D("1.5"), RunSettings(), RiskSettings(max_total_leverage=D("2.5")), 5),
    # high leverage on little equity: the margin check refuses, the stored size is retried
    "margin-retry": (D(1), RunSettings(initial_equity=D(50)), RiskSettings(), 20),
}


@pytest.mark.parametrize("case", list(SIZING))
def test_sizing_rules_fast_equals_reference(store: CandleStore, case: str) -> None:
    weight, base, risk, leverage = SIZING[case]
    settings = dataclasses.replace(base, risk=risk)
    rng = np.random.default_rng(len(case) + 11)
    lanes = []
    for inst in (swap("BTC-USDT-SWAP"), swap("ETH-USDT-SWAP")):
        closes = np.round(100 * np.exp(np.cumsum(rng.normal(0, 0.02, 600))), 1)
        # 1 / -1 / 0 often repeated, and long runs of None (9)
        codes = rng.choice([1, 1, 2, 3, *[9] * 12], size=600)
        bars = [
            Bar(T0 + H.delta * k, D(str(c)), D(str(c)), D(str(c)), D(str(c)), D(int(v)), D(0), D(0))
            for k, (c, v) in enumerate(zip(closes, codes, strict=True))
        ]
        store.rewrite(inst.inst_id, H, bars)
        run = make_strategy_run("bt_volume_skips", {}, inst, D(leverage), D(20), weight)
        candles = load_candles(store, inst.inst_id, H)
        end = candles.time(len(candles) - 1) + H.delta
        w = window(candles, candles.time(run.lookback - 1), end, run.lookback)
        lanes.append(Lane(run, w, FundingRates(D("0.0003"))))
    sources = [make_source(ln.run, ln.window, "vectorised") for ln in lanes]

    fast = run_backtest(lanes, settings, sources=sources)
    ref = reference(lanes, settings, {})

    assert len(ref.fills) > 30
    if case == "margin-retry":
        assert ref.refusals
    assert_same(fast, ref)


def test_a_none_keeps_the_stored_size_and_a_repeat_resizes(store: CandleStore) -> None:
    """The reference itself follows the trader: after the open, a price move under a None orders
    nothing; the same move under a repeated target re-sizes."""
    closes = [100.0] * 3 + [90.0] * 3
    for name, later in (("none", 9), ("repeat", 1)):
        inst = swap(f"{name.upper()}-USDT-SWAP")
        bars = [
            Bar(T0 + H.delta * k, D(str(c)), D(str(c)), D(str(c)), D(str(c)), D(v), D(0), D(0))
            for k, (c, v) in enumerate(zip(closes, [1, 9, 9, later, later, later], strict=True))
        ]
        store.rewrite(inst.inst_id, H, bars)
        run = make_strategy_run("bt_volume_skips", {}, inst, D(3), D(20))
        candles = load_candles(store, inst.inst_id, H)
        w = window(candles, candles.time(0), candles.time(5) + H.delta, run.lookback)
        lanes = [Lane(run, w, FundingRates(D(0)))]
        sources = [make_source(ln.run, ln.window, "vectorised") for ln in lanes]
        fast = run_backtest(lanes, RunSettings(), sources=sources)
        ref = reference(lanes, RunSettings(), {})
        assert_same(fast, ref)
        assert len(ref.fills) == (1 if name == "none" else 2), name


def test_the_risk_clip_is_never_screened_away(store: CandleStore) -> None:
    """Held long at leverage 1 while the price climbs, the unclipped size stays in the band but the
    ``max_notional`` clip shrinks it out: the fast loop must step those bars."""
    inst = swap()
    closes = np.round(np.linspace(100, 125, 40), 1)
    bars = [
        Bar(T0 + H.delta * k, D(str(c)), D(str(c)), D(str(c)), D(str(c)), D(1), D(0), D(0))
        for k, c in enumerate(closes)
    ]
    store.rewrite(inst.inst_id, H, bars)
    run = make_strategy_run("bt_volume_skips", {}, inst, D(1), D(20))
    candles = load_candles(store, inst.inst_id, H)
    w = window(candles, candles.time(0), candles.time(39) + H.delta, run.lookback)
    lanes = [Lane(run, w, FundingRates(D(0)))]
    sources = [make_source(ln.run, ln.window, "vectorised", sample=0) for ln in lanes]
    settings = RunSettings(risk=RiskSettings(max_notional=D(10000)))
    fast = run_backtest(lanes, settings, sources=sources)
    ref = reference(lanes, settings, {})
    assert len(ref.fills) >= 2  # the open, then the clip reduces it
    assert_same(fast, ref)
