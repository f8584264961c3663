"""Each shipped vectorised form equals its per-bar strategy on the whole history.

The per-bar side is the trader's call: :func:`strategies.guard.run_strategy` on the ``lookback``
rows ending at each bar. Histories: real OKX candles (with trade-less flat minutes, where closes
sit exactly on a band or a mean) and a long synthetic walk with flat stretches and repeated prices.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import strategies.vectorised  # noqa: F401  (registers the forms)
from strategies.guard import run_strategy
from strategies.registry import VECTORISED, get_strategy, register_vectorised
from tests.unit.candle_frames import candles

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "okx-real" / "okx-klines"
CASES: list[tuple[str, dict[str, Any]]] = [
    ("bollinger", {"n": 20, "m": 2}),
    ("bollinger", {"n": 5, "m": 1.5}),
    ("bollinger", {"n": 3, "m": 0.5}),
    ("sma_cross", {"fast": 3, "slow": 8}),
    ("sma_cross", {"fast": 1, "slow": 2}),
    ("sma_cross", {"fast": 10, "slow": 40}),
    ("bollinger_bias", {"n": 10, "m": 1.5, "p": 0.01}),
    ("bollinger_bias", {"n": 4, "m": 1.0, "p": 0.002}),
]


def _real(name: str) -> pd.DataFrame:
    rows = json.loads((FIXTURES / name).read_text())["data"]
    closes = [float(r["close"]) for r in rows if r["confirm"] == "1"]
    return candles(closes, freq="1min")


def _synthetic(n: int = 1500) -> pd.DataFrame:
    rng = np.random.default_rng(20260101)
    closes = np.round(100 * np.exp(np.cumsum(rng.normal(0, 0.003, n))), 1)  # coarse ticks: many ties
    closes[300:340] = closes[300]  # a flat stretch: std 0, closes equal to the mean
    closes[700:760:2] = closes[700]
    return candles(closes.tolist(), freq="1min")


HISTORIES = {
    "link_1m": lambda: _real("a9347f404f496894be8f1a36ef881e248bdf82f1/data_link_1m.json"),
    "btc_1m": lambda: _real("81bf7ab8352b535e6c65d0d79958188fdf8b6d0b/data_btc_1m.json"),
    "eth_1h": lambda: _real("81bf7ab8352b535e6c65d0d79958188fdf8b6d0b/data_eth_1H.json"),
    "synthetic": _synthetic,
}


def per_bar(name: str, params: dict[str, Any], df: pd.DataFrame) -> np.ndarray:
    spec = get_strategy(name)
    parsed = spec.parse_params(params)
    need = spec.lookback(parsed)
    out = np.full(len(df), np.nan)
    for i in range(need - 1, len(df)):
        window = df.iloc[i - need + 1 : i + 1].reset_index(drop=True)
        target = run_strategy(spec, window, 0, None, parsed, "X-USDT-SWAP")
        out[i] = np.nan if target is None else target
    return out


@pytest.mark.parametrize("history", list(HISTORIES))
@pytest.mark.parametrize(("name", "params"), CASES, ids=[f"{n}-{p}" for n, p in CASES])
def test_vectorised_equals_per_bar_on_the_whole_history(
    history: str, name: str, params: dict[str, Any]
) -> None:
    df = HISTORIES[history]()
    spec = get_strategy(name)
    assert spec.vectorised is not None

    fast = spec.vectorised(df, spec.parse_params(params))
    slow = per_bar(name, params, df)

    assert fast.shape == (len(df),)
    mismatch = np.flatnonzero(~((fast == slow) | (np.isnan(fast) & np.isnan(slow))))
    assert not len(mismatch), (
        f"first mismatch at row {mismatch[0]}: {fast[mismatch[0]]} vs {slow[mismatch[0]]}"
    )
    assert np.count_nonzero(~np.isnan(slow)) > 0  # the comparison saw signals


def test_every_builtin_strategy_ships_a_vectorised_form() -> None:
    assert {"bollinger", "bollinger_bias", "sma_cross"} <= set(VECTORISED)


def test_too_short_histories_give_no_targets() -> None:
    spec = get_strategy("bollinger")
    params = spec.parse_params({"n": 20, "m": 2})
    assert np.isnan(spec.vectorised(candles([1.0] * 20), params)).all()  # type: ignore[misc]
    assert spec.vectorised(candles([]), params).shape == (0,)  # type: ignore[misc]


def test_a_second_different_vectorised_form_is_refused() -> None:
    def other(df: pd.DataFrame, params: Any) -> np.ndarray:
        return np.full(len(df), np.nan)

    with pytest.raises(ValueError, match="registered twice"):
        register_vectorised("bollinger")(other)
