"""The backtest bar loop on hand-made candle files: targets, sizing, fills, fees, funding, margin.

The strategy is the trader tests' ``test_target`` (its target is written into each bar's volume:
1 long, 2 short, 3 flat, 9 keep), replayed through the trader's guard like any strategy.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import Field

from backtest.data import load_candles, window
from backtest.engine import Lane, RunResult, run_backtest
from backtest.funding import FundingRates, load_funding
from backtest.model import BacktestError, Costs, RunSettings, make_strategy_run
from backtest.targets import make_source
from config.schema import RiskSettings
from core.bars import Bar
from core.intervals import parse_interval
from core.store import CandleStore
from exchange.records import Instrument
from strategies.registry import StrategyParams, register, register_vectorised
from tests.integration.test_trader_strategy import STRATEGY, VOLUME
from trader.sizing import SizingSpec, equity_share, limit_price, size_target, weight_factor

T0 = datetime(2025, 1, 1, tzinfo=UTC)
H = parse_interval("1h")
D = Decimal


def swap(
    inst_id: str = "BTC-USDT-SWAP", ct_val: str = "0.01", lot: str = "0.01", max_lever: int = 100
) -> Instrument:
    base = inst_id.split("-")[0]
    return Instrument(
        inst_id, "SWAP", base, "USDT", "USDT", D(ct_val), D(1), base, "linear", D(lot), D(lot), D("0.1"),
        D(max_lever), "live",
    )  # fmt: skip


def spot(inst_id: str = "ETH-USDT") -> Instrument:
    base = inst_id.split("-")[0]
    return Instrument(
        inst_id,
        "SPOT",
        base,
        "USDT",
        "",
        None,
        None,
        "",
        "",
        D("0.0001"),
        D("0.0001"),
        D("0.01"),
        None,
        "live",
    )


def write(
    store: CandleStore, inst: str, targets: Sequence[int | None], closes: Sequence[float | str],
    opens: Sequence[float | str] | None = None, start: datetime = T0,
) -> None:  # fmt: skip
    bars = []
    for k, (target, close) in enumerate(zip(targets, closes, strict=True)):
        o = D(str(opens[k])) if opens else D(str(close))
        c = D(str(close))
        bars.append(Bar(start + H.delta * k, o, max(o, c), min(o, c), c, VOLUME[target], D(0), D(0)))
    store.rewrite(inst, H, bars)


def run(
    store: CandleStore, insts: Sequence[Instrument], *, leverage: int = 3,
    settings: RunSettings | None = None, funding: FundingRates | None = None, strategy: str = STRATEGY,
    params: dict[str, Any] | None = None, method: str = "auto", weights: Sequence[int] | None = None,
    **kwargs: Any,
) -> RunResult:  # fmt: skip
    lanes, sources = [], []
    ws = [D(w) for w in weights or [1] * len(insts)]
    for inst, w in zip(insts, ws, strict=True):
        strat = make_strategy_run(
            strategy, {"lookback": 1} if params is None else params, inst, D(leverage), D(20),
            weight_factor(w, ws),
        )  # fmt: skip
        candles = load_candles(store, inst.inst_id, H)
        w = window(
            candles,
            candles.time(0) + H.delta * (strat.lookback - 1),
            candles.time(len(candles) - 1) + H.delta,
            strat.lookback,
        )
        lanes.append(Lane(strat, w, funding or FundingRates(D(0))))
        sources.append(make_source(strat, w, method))  # type: ignore[arg-type]
    return run_backtest(lanes, settings or RunSettings(), sources=sources, **kwargs)


@pytest.fixture
def store(tmp_path: Path) -> CandleStore:
    return CandleStore(tmp_path, "UTC")


def fills(result: RunResult) -> list[tuple[str, str, str, Decimal]]:
    return [(f.time.strftime("%H:%M"), f.kind, f.side, f.sz) for f in result.fills]


# ---- targets -----------------------------------------------------------------------------------
def test_none_keeps_the_standing_target(store: CandleStore) -> None:
    write(store, "BTC-USDT-SWAP", [1, None, None, 0, None, -1, None], [100] * 7)

    result = run(store, [swap()])

    lane = result.lanes[0]
    assert [None if np.isnan(v) else int(v) for v in lane.raw] == [1, None, None, 0, None, -1, None]
    assert lane.standing.tolist() == [1, 1, 1, 0, 0, -1, -1]
    assert lane.exposed.tolist() == [True, True, True, False, False, True, True]
    assert [(t, k, s) for t, k, s, _ in fills(result)] == [
        ("01:00", "open", "buy"), ("04:00", "close", "sell"), ("06:00", "open", "sell"),
    ]  # fmt: skip


def test_a_reverse_closes_first_then_opens(store: CandleStore) -> None:
    write(store, "BTC-USDT-SWAP", [1, -1], [100, 100])

    result = run(store, [swap()])

    assert [(t, k, s) for t, k, s, _ in fills(result)] == [
        ("01:00", "open", "buy"), ("02:00", "close", "sell"), ("02:00", "open", "sell"),
    ]  # fmt: skip
    assert len(result.lanes[0].trips) == 1


def test_a_none_keeps_the_standing_size_a_repeated_target_resizes(store: CandleStore) -> None:
    # short while the price falls 20 %: equity grows, the wanted size grows by far more than the band.
    # As the trader (its targets table): a None keeps the size stored for the standing target ...
    write(store, "BTC-USDT-SWAP", [-1, None, None], [100, 100, 80])
    settings = RunSettings(slippage=D(0), costs=Costs(taker=D(0)))

    kept = run(store, [swap()], leverage=1, settings=settings)

    assert [(t, k, s) for t, k, s, _ in fills(kept)] == [("01:00", "open", "sell")]

    # ... while the strategy naming the target again re-sizes it from fresh equity (past the band)
    write(store, "BTC-USDT-SWAP", [-1, None, -1], [100, 100, 80])

    result = run(store, [swap()], leverage=1, settings=settings)

    assert [(t, k, s) for t, k, s, _ in fills(result)] == [
        ("01:00", "open", "sell"),
        ("03:00", "open", "sell"),
    ]
    first, second = result.fills[0].sz, result.fills[1].sz
    equity = D(10000) + first * D("0.01") * 20
    wanted = size_target(
        SizingSpec("BTC-USDT-SWAP", True, D("0.01"), D("0.01"), D("0.01")),
        share=equity, leverage=D(1), volatility_ratio=D("0.98"), price=D(80),
    ).size  # fmt: skip
    assert first + second == wanted
    assert result.sizing_equity[int((T0 + 3 * H.delta).timestamp())] == equity


# ---- sizing ------------------------------------------------------------------------------------
def test_weights_and_the_max_notional_clip_size_as_the_trader(store: CandleStore) -> None:
    write(store, "BTC-USDT-SWAP", [1], [100])
    write(store, "ETH-USDT-SWAP", [1], [100])
    limits = RiskSettings(max_notional=D(3000))
    settings = RunSettings(slippage=D(0), costs=Costs(taker=D(0)), risk=limits)

    result = run(store, [swap(), swap("ETH-USDT-SWAP")], leverage=1, settings=settings, weights=[3, 1])

    sizes = {f.inst_id: f.sz for f in result.fills}
    eth = size_target(  # weight 1 of 3 + 1: half an equal share (trader.phases._size)
        SizingSpec("ETH-USDT-SWAP", True, D("0.01"), D("0.01"), D("0.01")),
        share=equity_share(D(10000), 2) * D("0.5"), leverage=D(1), volatility_ratio=D("0.98"), price=D(100),
    ).size  # fmt: skip
    assert sizes["ETH-USDT-SWAP"] == eth == D(2450)
    # BTC: one and a half shares = 7350 notional, clipped to max notional 3000 = 3000 contracts of 0.01
    assert sizes["BTC-USDT-SWAP"] == D(3000)


def test_opens_on_one_bar_share_the_total_leverage_as_in_the_trader(store: CandleStore) -> None:
    write(store, "BTC-USDT-SWAP", [1], [100])
    write(store, "ETH-USDT-SWAP", [1], [100])
    limits = RiskSettings(max_total_leverage=D(1))
    settings = RunSettings(slippage=D(0), costs=Costs(taker=D(0)), risk=limits)

    result = run(store, [swap(), swap("ETH-USDT-SWAP")], leverage=3, settings=settings)

    notional = {f.inst_id: f.sz * D("0.01") * D(100) for f in result.fills}
    # BTC alone (3x of an equal share = 14,700) is clipped to 1x equity; ETH, planned after it on the
    # same bar, has no room left (trader.phases._plan_opens counts this bar's planned opens, not only
    # what is held: without that each would open 10,000, 2x in total)
    assert notional == {"BTC-USDT-SWAP": D(10000)}


def test_sizes_are_the_traders_equal_split_of_fresh_equity(store: CandleStore) -> None:
    write(store, "BTC-USDT-SWAP", [1], [97000.5])
    write(store, "ETH-USDT", [1], [3210.77])

    result = run(store, [swap(), spot()], leverage=3)

    share = equity_share(D(10000), 2)
    btc = size_target(
        SizingSpec("BTC-USDT-SWAP", True, D("0.01"), D("0.01"), D("0.01")),
        share=share, leverage=D(3), volatility_ratio=D("0.98"), price=D("97000.5") * D("1.002"),
    )  # fmt: skip
    eth = size_target(
        SizingSpec("ETH-USDT", False, D(1), D("0.0001"), D("0.0001")),
        share=share, leverage=D(1), volatility_ratio=D("0.98"), price=D("3210.77") * D("1.002"),
    )  # fmt: skip
    assert {f.inst_id: f.sz for f in result.fills} == {"BTC-USDT-SWAP": btc.size, "ETH-USDT": eth.size}


def test_leverage_is_capped_by_the_instrument(store: CandleStore) -> None:
    write(store, "BTC-USDT-SWAP", [1], [100])

    capped = run(store, [swap(max_lever=2)], leverage=5)
    free = run(store, [swap(max_lever=10)], leverage=5)

    assert capped.lanes[0].run.leverage == 2
    assert float(free.fills[0].sz / capped.fills[0].sz) == pytest.approx(2.5, rel=1e-3)


# ---- fills and fees ----------------------------------------------------------------------------
def test_limit_orders_fill_at_the_traders_limit_price(store: CandleStore) -> None:
    write(store, "BTC-USDT-SWAP", [1, 0], [100.03, 101.07], opens=[99, 105])

    result = run(store, [swap()])

    buy, sell = result.fills
    assert buy.price == limit_price(D("100.03"), "buy", D("0.002"), D("0.1"))
    assert sell.price == limit_price(D("101.07"), "sell", D("0.002"), D("0.1"))
    assert buy.fee == buy.sz * D("0.01") * buy.price * D("0.0005")  # OKX base-tier taker for swaps


def test_market_orders_fill_at_the_next_open(store: CandleStore) -> None:
    write(store, "BTC-USDT-SWAP", [1, None, 0], [100, 110, 120], opens=[99, 104, 111])

    result = run(store, [swap()], settings=RunSettings(order_type="market"))

    assert [f.price for f in result.fills] == [D(104), D(120)]  # the last bar has no next open: its close


def test_fee_rates_are_configurable(store: CandleStore) -> None:
    write(store, "BTC-USDT-SWAP", [1], [100])
    costs = Costs(maker=D("0.0001"), taker=D("0.0007"), limit_fills_as="maker")

    result = run(store, [swap()], settings=RunSettings(costs=costs))

    fill = result.fills[0]
    assert fill.fee == fill.sz * D("0.01") * fill.price * D("0.0001")


def test_a_spot_buy_pays_its_fee_in_the_coin(store: CandleStore) -> None:
    write(store, "ETH-USDT", [1, 0], [2000, 2000])

    result = run(store, [spot()])

    buy, sell = result.fills
    assert buy.position == buy.sz * (1 - D("0.001"))  # OKX base-tier spot taker
    assert sell.sz == buy.position.quantize(D("0.0001"), rounding="ROUND_FLOOR")


def test_equity_is_cash_plus_marked_positions(store: CandleStore) -> None:
    write(store, "BTC-USDT-SWAP", [1, 0, None], [100, 120, 90])
    settings = RunSettings(slippage=D(0), costs=Costs(taker=D(0)))

    result = run(store, [swap()], settings=settings)

    gain = result.fills[0].sz * D("0.01") * 20
    assert result.equity.tolist() == pytest.approx([10000, 10000 + float(gain), 10000 + float(gain)])
    assert result.final == D(10000) + gain
    assert result.lanes[0].trips[0].net == gain
    assert result.lanes[0].value.tolist() == result.equity.tolist()  # one strategy: its value is the account


# ---- funding and margin ------------------------------------------------------------------------
def test_swaps_pay_funding_at_each_settlement_held(store: CandleStore, tmp_path: Path) -> None:
    # bars 00:00..09:00 UTC: long from the 01:00 close, so the 08:00 settlement is paid
    write(store, "BTC-USDT-SWAP", [1] + [None] * 9, [100] * 10)
    (tmp_path / "funding").mkdir()
    (tmp_path / "funding" / "BTC-USDT-SWAP.csv").write_text(
        "funding_time,funding_rate\n2025-01-01T08:00:00+00:00,0.0003\n", encoding="utf-8"
    )
    rates = load_funding(tmp_path, "BTC-USDT-SWAP", D("0.0001"))

    result = run(store, [swap()], funding=rates)

    size = result.fills[0].sz
    assert result.lanes[0].funding == size * D("0.01") * 100 * D("0.0003")
    assert rates.rate_at(int((T0 + timedelta(hours=16)).timestamp())) == D("0.0001")  # not in the file


def test_a_short_receives_positive_funding_and_spot_pays_none(store: CandleStore) -> None:
    write(store, "BTC-USDT-SWAP", [-1] + [None] * 9, [100] * 10)
    write(store, "ETH-USDT", [1] + [None] * 9, [100] * 10)

    result = run(store, [swap(), spot()], funding=FundingRates(D("0.0001")))

    assert result.lanes[0].funding == -result.fills[0].sz * D("0.01") * 100 * D("0.0001")
    assert result.lanes[1].funding == 0


def test_the_margin_check_refuses_what_the_account_cannot_afford(store: CandleStore) -> None:
    # A goes long at 10, then fails on its next bar (13) and keeps its grown position; B, skipped
    # on its first bar (13), wants its full share on the second: A's margin leaves too little.
    write(store, "BTC-USDT-SWAP", [None, None], [10, 13])
    write(store, "ETH-USDT-SWAP", [None, None], [13, 20])
    settings = RunSettings(slippage=D(0), costs=Costs(taker=D(0)))
    insts = [swap(ct_val="1", lot="1"), swap("ETH-USDT-SWAP", ct_val="1", lot="1")]

    result = run(
        store, insts, leverage=1, settings=settings, strategy="bt_fails_on", params={}, method="replay"
    )

    assert [(f.inst_id, f.sz) for f in result.fills] == [("BTC-USDT-SWAP", D(490))]
    (refusal,) = result.lanes[1].refusals
    assert refusal.sz == D(281)  # floor((10000 + 490 x 3) / 2 x 0.98 / 20)
    assert refusal.needed == D(281 * 20)
    assert refusal.available == D(10000 + 490 * 3 - 490 * 13)


# ---- failures ----------------------------------------------------------------------------------
class FailParams(StrategyParams):
    bad: float = Field(13.0)


@register("bt_fails_on", FailParams, lookback=lambda p: 1)
def bt_fails_on(df: pd.DataFrame, now_pos: int, avg_price: Decimal | None, params: FailParams) -> int | None:
    """Long, except that a close equal to ``bad`` raises."""
    if df["close"].iloc[-1] == params.bad:
        raise ValueError("cannot cope")
    return 1


@register_vectorised("bt_fails_on")
def bt_fails_on_wrong(df: pd.DataFrame, params: FailParams) -> np.ndarray:
    return np.full(len(df), -1.0)  # wrong on purpose: the run-time check must catch it


def test_a_failing_strategy_is_skipped_for_that_bar(store: CandleStore) -> None:
    write(store, "BTC-USDT-SWAP", [None] * 4, [10, 13, 10, 10])

    result = run(store, [swap()], strategy="bt_fails_on", params={}, method="replay")

    (skip,) = result.lanes[0].skips
    assert "cannot cope" in skip
    assert [None if np.isnan(v) else int(v) for v in result.lanes[0].raw] == [1, None, 1, 1]


def test_a_vectorised_form_that_disagrees_stops_the_run(store: CandleStore) -> None:
    write(store, "BTC-USDT-SWAP", [None] * 4, [10, 11, 10, 10])

    with pytest.raises(BacktestError, match=r"disagrees with the strategy .* vectorised -1, per bar 1"):
        run(store, [swap()], strategy="bt_fails_on", params={})


INVERSE = Instrument(
    "BTC-USD-SWAP",
    "SWAP",
    "BTC",
    "USD",
    "BTC",
    D(100),
    D(1),
    "USD",
    "inverse",
    D(1),
    D(1),
    D("0.1"),
    D(100),
    "live",
)


@pytest.mark.parametrize(
    ("name", "params", "inst", "message"),
    [
        ("nope", {}, swap(), "unknown strategy 'nope'"),
        ("bollinger", {"n": 1}, swap(), "bad params .* param 'n'"),
        ("bollinger", {"n": 20, "q": 1}, swap(), "param 'q': unknown parameter"),
        ("bollinger", {}, INVERSE, "inverse contracts are not modelled"),
    ],
)
def test_bad_strategies_are_clear_errors(
    name: str, params: dict[str, Any], inst: Instrument, message: str
) -> None:
    with pytest.raises(BacktestError, match=message):
        make_strategy_run(name, params, inst, D(1), D(20))


def test_bad_costs_are_clear_errors() -> None:
    with pytest.raises(BacktestError, match="taker fee 5 is not a plausible rate"):
        Costs(taker=D(5))
    with pytest.raises(BacktestError, match="initial equity must be > 0"):
        RunSettings(initial_equity=D(0))


def test_vectorised_and_replayed_runs_are_identical(store: CandleStore) -> None:
    # quiet stretches are skipped in bulk with vectorised targets; the replay visits every bar
    rng = np.random.default_rng(5)
    for inst in ("BTC-USDT-SWAP", "ETH-USDT-SWAP"):
        closes = np.round(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 600))), 1)
        write(store, inst, [None] * 600, closes.tolist())
    insts = [swap(), swap("ETH-USDT-SWAP")]
    kwargs: dict[str, Any] = {"strategy": "bollinger", "params": {"n": 10, "m": 1.5}, "leverage": 2}

    fast = run(store, insts, method="vectorised", funding=FundingRates(D("0.0001")), **kwargs)
    slow = run(store, insts, method="replay", funding=FundingRates(D("0.0001")), **kwargs)

    assert len(fast.fills) > 20
    assert fast.fills == slow.fills
    assert fast.final == slow.final
    assert fast.equity.tolist() == slow.equity.tolist()
    for a, b in zip(fast.lanes, slow.lanes, strict=True):
        assert np.array_equal(a.standing, b.standing, equal_nan=True)
        assert a.value.tolist() == b.value.tolist()
        assert a.exposed.tolist() == b.exposed.tolist()
        assert a.funding == b.funding != 0
