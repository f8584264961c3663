"""Sizing table tests: equal split, leverage caps, ctVal, lot rounding, minSz, edges."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from trader.sizing import (
    SizingSpec,
    ceil_to_step,
    effective_leverage,
    equity_share,
    floor_to_step,
    limit_price,
    size_target,
    weight_factor,
)

BTC_SWAP = SizingSpec("BTC-USDT-SWAP", True, D("0.01"), D("0.01"), D("0.01"))
ETH_SWAP = SizingSpec("ETH-USDT-SWAP", True, D("0.1"), D("0.01"), D("0.01"))
ADA_SWAP = SizingSpec("ADA-USDT-SWAP", True, D("100"), D("1"), D("1"))
DOGE_SWAP = SizingSpec("DOGE-USDT-SWAP", True, D("1000"), D("0.01"), D("0.01"))
LOT10 = SizingSpec("X-USDT-SWAP", True, D("1"), D("10"), D("20"))
BTC_SPOT = SizingSpec("BTC-USDT", False, D("1"), D("0.00000001"), D("0.00001"))
DOGE_SPOT = SizingSpec("DOGE-USDT", False, D("1"), D("0.000001"), D("10"))


@pytest.mark.parametrize(
    ("value", "step", "down", "up"),
    [
        (D("1.239"), D("0.01"), D("1.23"), D("1.24")),
        (D("1.23"), D("0.01"), D("1.23"), D("1.23")),
        (D("7"), D("5"), D("5"), D("10")),
        (D("0"), D("0.1"), D("0"), D("0")),
        (D("0.099999"), D("0.1"), D("0"), D("0.1")),
        (D("123.456789"), D("0.00000001"), D("123.456789"), D("123.456789")),
        (D("-1.5"), D("1"), D("-2"), D("-1")),
    ],
)
def test_floor_and_ceil_to_step(value: D, step: D, down: D, up: D) -> None:
    assert floor_to_step(value, step) == down
    assert ceil_to_step(value, step) == up


def test_step_must_be_positive() -> None:
    with pytest.raises(ValueError, match="step"):
        floor_to_step(D(1), D(0))


@pytest.mark.parametrize(
    ("equity", "n", "share"),
    [
        (D("10000"), 1, D("10000")),
        (D("10000"), 4, D("2500")),
        (D("100"), 3, D("100") / 3),
        (D("0"), 2, D("0")),
        (D("-50"), 2, D("0")),
    ],
)
def test_equity_share(equity: D, n: int, share: D) -> None:
    assert equity_share(equity, n) == share


def test_equity_share_needs_a_strategy() -> None:
    with pytest.raises(ValueError, match="at least one"):
        equity_share(D(100), 0)


@pytest.mark.parametrize(
    ("configured", "inst_max", "tier", "okx", "expected"),
    [
        (D(3), D(100), None, None, D(3)),
        (D(150), D(100), None, None, D(100)),  # instrument cap
        (D(20), D(100), D(10), None, D(10)),  # tier cap
        (D(20), D(100), None, D(5), D(5)),  # what is set on OKX
        (D(3), None, None, None, D(3)),  # unknown caps are left out, never NaN (bug 16)
        (D("2.5"), D(50), D(75), D(10), D("2.5")),
    ],
)
def test_effective_leverage(
    configured: D, inst_max: D | None, tier: D | None, okx: D | None, expected: D
) -> None:
    assert effective_leverage(configured, inst_max, tier, okx) == expected


def test_spot_leverage_is_one() -> None:
    assert effective_leverage(D(5), D(10), is_contract=False) == D(1)


@pytest.mark.parametrize("bad", [D(0), D(-1)])
def test_leverage_must_be_positive(bad: D) -> None:
    with pytest.raises(ValueError, match="leverage"):
        effective_leverage(bad, D(10))
    with pytest.raises(ValueError, match="cap"):
        effective_leverage(D(3), bad)


# spec, share, leverage, vr, price -> size
@pytest.mark.parametrize(
    ("spec", "share", "lev", "vr", "price", "size"),
    [
        # 2500 * 3 * 0.98 / (95000 * 0.01) = 7.7368... -> 7.73 (lot 0.01)
        (BTC_SWAP, D(2500), D(3), D("0.98"), D(95000), D("7.73")),
        # volatility ratio 1: 2500 * 3 / 950 = 7.8947 -> 7.89
        (BTC_SWAP, D(2500), D(3), D(1), D(95000), D("7.89")),
        # ETH: 1000 * 2 * 0.98 / (3300 * 0.1) = 5.9393 -> 5.93
        (ETH_SWAP, D(1000), D(2), D("0.98"), D(3300), D("5.93")),
        # ADA lot 1: 1000 * 2 * 0.98 / (0.7 * 100) = 28.0 -> 28
        (ADA_SWAP, D(1000), D(2), D("0.98"), D("0.7"), D(28)),
        # ADA just below an integer: 999 * 2 * 0.98 / 70 = 27.972 -> 27 (floored, never rounded up)
        (ADA_SWAP, D(999), D(2), D("0.98"), D("0.7"), D(27)),
        # DOGE ctVal 1000: 500 * 5 * 0.98 / (0.22 * 1000) = 11.136 -> 11.13
        (DOGE_SWAP, D(500), D(5), D("0.98"), D("0.22"), D("11.13")),
        # lot 10: 100 * 1 * 1 / 1 = 100 -> 100; 129 -> 120
        (LOT10, D(100), D(1), D(1), D(1), D(100)),
        (LOT10, D(129), D(1), D(1), D(1), D(120)),
        # spot BTC in base units, leverage 1: 1000 * 0.98 / 95000 = 0.01031578... -> 0.01031578
        (BTC_SPOT, D(1000), D(1), D("0.98"), D(95000), D("0.01031578")),
        # spot DOGE: 100 * 1 / 0.22 = 454.545454... -> 454.545454
        (DOGE_SPOT, D(100), D(1), D(1), D("0.22"), D("454.545454")),
    ],
)
def test_size_table(spec: SizingSpec, share: D, lev: D, vr: D, price: D, size: D) -> None:
    result = size_target(spec, share=share, leverage=lev, volatility_ratio=vr, price=price)
    assert result.size == size
    assert result.tradeable
    assert result.size % spec.lot_sz == 0
    assert result.size <= result.raw
    assert result.reason == ""


@pytest.mark.parametrize(
    ("spec", "share", "lev", "price"),
    [
        (BTC_SWAP, D(5), D(1), D(95000)),  # 0.005 contracts < minSz 0.01
        (ADA_SWAP, D("0.5"), D(1), D("0.7")),  # 0.007 contracts, lot 1
        (LOT10, D(19), D(1), D(1)),  # 10 after lot rounding, minSz 20
        (DOGE_SPOT, D(2), D(1), D("0.22")),  # 9.09 DOGE < minSz 10
    ],
)
def test_below_min_size_is_skipped_with_a_reason(spec: SizingSpec, share: D, lev: D, price: D) -> None:
    result = size_target(spec, share=share, leverage=lev, volatility_ratio=D(1), price=price)
    assert result.size == 0
    assert not result.tradeable
    assert "minSz" in result.reason
    assert spec.inst_id in result.reason


@pytest.mark.parametrize("share", [D(0), D(-10)])
def test_zero_or_negative_equity_sizes_nothing(share: D) -> None:
    result = size_target(BTC_SWAP, share=share, leverage=D(3), volatility_ratio=D("0.98"), price=D(95000))
    assert result.size == 0
    assert "no equity" in result.reason


@pytest.mark.parametrize("price", [D(0), D(-1)])
def test_price_zero_or_negative_is_rejected(price: D) -> None:
    with pytest.raises(ValueError, match="price"):
        size_target(BTC_SWAP, share=D(100), leverage=D(1), volatility_ratio=D(1), price=price)


@pytest.mark.parametrize("vr", [D(0), D("1.01"), D(-1)])
def test_volatility_ratio_out_of_range(vr: D) -> None:
    with pytest.raises(ValueError, match="volatility"):
        size_target(BTC_SWAP, share=D(100), leverage=D(1), volatility_ratio=vr, price=D(1))


def test_leverage_scales_size_linearly_until_lot_rounding() -> None:
    one = size_target(ADA_SWAP, share=D(700), leverage=D(1), volatility_ratio=D(1), price=D("0.7"))
    five = size_target(ADA_SWAP, share=D(700), leverage=D(5), volatility_ratio=D(1), price=D("0.7"))
    assert (one.size, five.size) == (D(10), D(50))


def test_contract_value_must_be_positive() -> None:
    with pytest.raises(ValueError, match="contract value"):
        SizingSpec("X", True, D(0), D(1), D(1))
    with pytest.raises(ValueError, match="lotSz"):
        SizingSpec("X", True, D(1), D(0), D(1))


@pytest.mark.parametrize(
    ("ref", "side", "slip", "tick", "step", "px"),
    [
        (D(100), "buy", D("0.002"), D("0.01"), 0, D("100.2")),
        (D(100), "sell", D("0.002"), D("0.01"), 0, D("99.8")),
        (D(100), "buy", D("0.002"), D("0.01"), 2, D("100.6")),  # third try: 3 x slippage
        (D("0.22"), "buy", D("0.002"), D("0.00001"), 0, D("0.22044")),
        (D("0.22"), "sell", D("0.002"), D("0.00001"), 0, D("0.21956")),
        (D("95000.05"), "buy", D("0.001"), D("0.1"), 0, D("95095.0")),  # 95095.05005 rounded down
        (D("95000.05"), "sell", D("0.001"), D("0.1"), 0, D("94905.1")),  # 94905.04995 rounded up
        (D("0.00001"), "sell", D("0.5"), D("0.00001"), 0, D("0.00001")),  # never below one tick
        (D(100), "buy", D(0), D("0.5"), 0, D(100)),
    ],
)
def test_limit_price(ref: D, side: str, slip: D, tick: D, step: int, px: D) -> None:
    got = limit_price(ref, side, slip, tick, step)
    assert got == px
    assert got % tick == 0


def test_limit_price_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="reference"):
        limit_price(D(0), "buy", D("0.01"), D("0.1"))
    with pytest.raises(ValueError, match="side"):
        limit_price(D(1), "hold", D("0.01"), D("0.1"))


# ---- issue #16: strategy weights ------------------------------------------------------------
@pytest.mark.parametrize(
    ("weight", "weights", "factor"),
    [
        (D(1), [D(1), D(1), D(1)], D(1)),
        (D(2), [D(2), D(1), D(1)], D("1.5")),
        (D(1), [D(2), D(1), D(1)], D("0.75")),
        (D(3), [D(3)], D(1)),
    ],
)
def test_weight_factor_splits_equity_by_weight(weight: D, weights: list[D], factor: D) -> None:
    assert weight_factor(weight, weights) == factor
    share = equity_share(D(9000), len(weights)) * weight_factor(weight, weights)
    assert share == D(9000) * weight / sum(weights)


def test_weight_factor_refuses_bad_weights() -> None:
    with pytest.raises(ValueError, match="weights must be > 0"):
        weight_factor(D(1), [D(1), D(0)])
    with pytest.raises(ValueError, match="one of the account's weights"):
        weight_factor(D(5), [D(1)])
