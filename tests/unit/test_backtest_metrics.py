"""Metrics on hand-made equity curves: every figure worked out by hand."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from backtest.metrics import annualised_return, compute_metrics, max_drawdown, sharpe, sortino


@pytest.mark.parametrize(
    ("curve", "expected"),
    [
        ([100, 100, 100], 0.0),
        ([100, 110, 121], 0.0),  # never below its peak
        ([100, 110, 99, 121], 0.1),  # 110 -> 99
        ([100, 50, 200, 100], 0.5),  # two 50 % falls: the largest fraction counts
        ([100, 90, 80, 120, 60], 0.5),  # 120 -> 60 beats 100 -> 80
        ([100, 0.0], 1.0),  # everything lost
    ],
)
def test_max_drawdown(curve: list[float], expected: float) -> None:
    assert max_drawdown(curve) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("total", "years", "expected"),
    [
        (0.21, 2.0, 0.1),  # 1.1 ** 2 = 1.21
        (1.0, 1.0, 1.0),
        (0.0, 3.0, 0.0),
        (-0.19, 2.0, -0.1),  # 0.9 ** 2 = 0.81
        (0.1, 0.5, 0.21),  # half a year: compounding up
        (-1.0, 1.0, -1.0),
    ],
)
def test_annualised_return(total: float, years: float, expected: float) -> None:
    assert annualised_return(total, years) == pytest.approx(expected)


def test_sharpe_and_sortino_by_hand() -> None:
    # returns +10 %, +10 %, -10 %: mean 1/30, sample std sqrt(((1/15)**2 * 2 + (2/15)**2) / 2)
    curve = [100, 110, 121, 108.9]
    mean = 1 / 30
    std = math.sqrt(((1 / 15) ** 2 * 2 + (2 / 15) ** 2) / 2)
    downside = math.sqrt(0.01 / 3)

    assert sharpe(curve, 1) == pytest.approx(mean / std)
    assert sharpe(curve, 365) == pytest.approx(mean / std * math.sqrt(365))
    assert sortino(curve, 1) == pytest.approx(mean / downside)


@pytest.mark.parametrize(
    ("curve", "want_sharpe", "want_sortino"),
    [
        ([100, 100, 100], 0.0, 0.0),  # never moved
        ([100, 101, 102.01], math.inf, math.inf),  # steady 1 % a bar: no spread, no losing bar
        ([100, 99, 98.01], -math.inf, -0.01 / 0.01 * math.sqrt(8760)),  # steady 1 % loss
        ([100, 110, 99], 0.0, 0.0),  # +10 %, -10 %: mean 0
    ],
)
def test_sharpe_sortino_edges(curve: list[float], want_sharpe: float, want_sortino: float) -> None:
    assert sharpe(curve, 8760) == pytest.approx(want_sharpe, abs=1e-9)
    assert sortino(curve, 8760) == pytest.approx(want_sortino, abs=1e-9)


def test_compute_metrics_of_a_small_run() -> None:
    metrics = compute_metrics(
        [1000, 1100, 990, 1210],
        bar_seconds=365 * 86400 // 3,  # three bars = one year
        trips=[Decimal("150"), Decimal("-60"), Decimal("0"), Decimal("30")],
        exposed=[True, False, True],
        fees=Decimal("12.5"),
        funding=Decimal("-1.25"),
        final=Decimal("1210"),
    )

    assert metrics.total_return == pytest.approx(0.21)
    assert metrics.annual_return == pytest.approx(0.21)
    assert metrics.max_drawdown == pytest.approx(0.1)
    assert metrics.trades == 4
    assert metrics.win_rate == pytest.approx(0.5)  # a zero result is not a win
    assert metrics.exposure == pytest.approx(2 / 3)
    assert metrics.as_dict()["fees"] == "12.5"
    assert metrics.as_dict()["funding"] == "-1.25"


def test_no_trades_means_no_win_rate() -> None:
    metrics = compute_metrics(
        [10, 10], bar_seconds=60, trips=[], exposed=[False], fees=Decimal(0), funding=Decimal(0),
        final=Decimal(10),
    )  # fmt: skip
    assert metrics.win_rate is None
    assert metrics.trades == 0
    assert metrics.exposure == 0.0


@pytest.mark.parametrize(
    ("curve", "message"),
    [
        ([], "at least one value"),
        ([0, 10], "start above 0"),
        ([-5, 10], "start above 0"),
        ([100, float("nan")], "finite"),
        ([100, float("inf")], "finite"),
    ],
)
def test_bad_curves_are_errors(curve: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        max_drawdown(curve)


def test_metrics_need_a_bar_and_a_positive_bar_length() -> None:
    kwargs = {"trips": [], "exposed": [], "fees": Decimal(0), "funding": Decimal(0), "final": Decimal(1)}
    with pytest.raises(ValueError, match="at least one bar"):
        compute_metrics([100], bar_seconds=60, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bar length"):
        compute_metrics([100, 101], bar_seconds=0, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="longer than 0 years"):
        annualised_return(0.1, 0)
