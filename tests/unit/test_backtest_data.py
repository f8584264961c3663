"""Reading the collector's CSVs for a backtest: the strategies' exact frame, and clear errors for
gaps, short files and empty ranges."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from backtest.data import MissingRange, load_candles, window
from backtest.model import BacktestError
from core.bars import Bar
from core.intervals import parse_interval
from core.store import CandleStore, bars_to_frame

T0 = datetime(2026, 1, 1, tzinfo=UTC)
H = parse_interval("1h")
INST = "ETH-USDT-SWAP"


def bars(n: int, skip: tuple[int, ...] = ()) -> list[Bar]:
    out = []
    for k in range(n):
        if k in skip:
            continue
        px = Decimal("3000.5") + k
        out.append(Bar(T0 + H.delta * k, px, px + 1, px - 1, px, Decimal("12.3"), Decimal("1.2"), Decimal(9)))
    return out


@pytest.mark.parametrize("tz", ["UTC", "Asia/Shanghai"])
def test_the_frame_is_the_one_the_trader_hands_strategies(tmp_path: Path, tz: str) -> None:
    store = CandleStore(tmp_path, tz)
    store.rewrite(INST, H, bars(30))

    candles = load_candles(store, INST, H)

    assert candles.frame.equals(bars_to_frame(store.read_all(INST, H), tz))
    assert candles.close_px(3) == Decimal("3003.5")  # exact decimals for sizing and fills
    assert candles.time(0) == T0


@pytest.mark.parametrize(
    ("row", "error", "message"),
    [
        (  # a hole the store itself would refuse to write
            "2026-01-01T09:00:00+00:00,1,1,1,1,1,1,1",
            MissingRange,
            r"gap in the data: ETH-USDT-SWAP 1h has no bars between 2026-01-01T04:00:00Z and "
            r"2026-01-01T09:00:00Z \(4 bar\(s\) missing\)",
        ),
        ("2026-01-01T01:00:00+00:00,1,1,1,1,1,1,1", BacktestError, "out of order or duplicated"),
        ("2026-01-01T05:00:00+00:00,1,1,1,nan,1,1,1", BacktestError, "close is 'nan'"),
    ],
)
def test_a_broken_file_is_an_error_naming_the_problem(
    tmp_path: Path, row: str, error: type[Exception], message: str
) -> None:
    store = CandleStore(tmp_path, "UTC")
    store.append(INST, H, bars(5))
    with store.path(INST, H).open("a", encoding="utf-8") as fh:
        fh.write(row + "\n")

    with pytest.raises(error, match=message):
        load_candles(store, INST, H)


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(MissingRange, match="no candle file"):
        load_candles(CandleStore(tmp_path, "UTC"), INST, H)


def test_window_takes_the_range_plus_the_lookback(tmp_path: Path) -> None:
    store = CandleStore(tmp_path, "UTC")
    store.rewrite(INST, H, bars(48))
    candles = load_candles(store, INST, H)

    w = window(candles, T0 + H.delta * 10, T0 + H.delta * 20, lookback=5)

    assert (w.first, w.count) == (10, 10)
    assert candles.time(w.first - 4) == T0 + H.delta * 6


@pytest.mark.parametrize(
    ("start", "end", "lookback", "message"),
    [
        (10, 10, 1, "empty range: from .* is not before to"),
        (
            2,
            20,
            5,
            r"data starts at 2026-01-01T00:00:00Z, but the range needs bars from 2025-12-31T22:00:00Z",
        ),
        (10, 60, 1, r"data ends at 2026-01-03T00:00:00Z, but the range runs to 2026-01-03T12:00:00Z"),
    ],
)
def test_bad_ranges_are_clear_errors(
    tmp_path: Path, start: int, end: int, lookback: int, message: str
) -> None:
    store = CandleStore(tmp_path, "UTC")
    store.rewrite(INST, H, bars(48))
    candles = load_candles(store, INST, H)

    with pytest.raises(BacktestError, match=message):
        window(candles, T0 + H.delta * start, T0 + H.delta * end, lookback)


def test_a_range_between_two_bars_is_empty(tmp_path: Path) -> None:
    store = CandleStore(tmp_path, "UTC")
    store.rewrite(INST, H, bars(48))
    candles = load_candles(store, INST, H)

    with pytest.raises(BacktestError, match="has no bars opening in"):
        window(candles, T0.replace(minute=10), T0.replace(minute=50), 1)
