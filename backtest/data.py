"""The collector's candle CSVs, read whole for a backtest, and checked before anything runs.

:func:`load_candles` reads ``<data>/candles/<INST-ID>_<interval>.csv`` (the on-disk contract of
:mod:`core.store`) into the very frame the trader hands strategies (:func:`core.store.bars_to_frame`:
floats, times in the candle timezone), plus the prices as the exact decimal strings OKX sent, for
the ``Decimal`` sizing and fills. A duplicate, a row out of order or a missing bar is an error
naming the gap: a backtest never runs over a hole. :func:`window` cuts the bars a run needs (the
range plus each strategy's lookback before it) and says precisely what is missing when the file
does not reach.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timezone
from decimal import Decimal

import numpy as np
import pandas as pd

from backtest.model import BacktestError
from core.intervals import Interval, tz_offset
from core.store import COLUMNS, CandleStore, bars_to_frame

__all__ = ["Candles", "MissingRange", "Window", "load_candles", "range_bounds", "window"]


@dataclass(frozen=True)
class Candles:
    """Every bar of one CSV: the strategies' frame and the prices as decimal strings."""

    inst_id: str
    interval: Interval
    frame: pd.DataFrame  # exactly what bars_to_frame gives the trader's strategies
    opens: np.ndarray  # decimal strings, as written by the collector
    closes: np.ndarray
    times: np.ndarray  # open times, int64 epoch seconds (UTC)

    def __len__(self) -> int:
        return len(self.times)

    def time(self, row: int) -> datetime:
        return datetime.fromtimestamp(int(self.times[row]), tz=UTC)

    def open_px(self, row: int) -> Decimal:
        return Decimal(self.opens[row])

    def close_px(self, row: int) -> Decimal:
        return Decimal(self.closes[row])


class MissingRange(BacktestError):
    """The CSV does not hold the bars the run needs; ``start``/``end`` name the missing bars."""

    def __init__(self, message: str, inst_id: str, start: datetime, end: datetime) -> None:
        super().__init__(message)
        self.inst_id = inst_id
        self.start = start
        self.end = end


def _iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def load_candles(store: CandleStore, inst_id: str, interval: Interval) -> Candles:
    """Read and check one CSV. Raises :class:`MissingRange` when the file does not exist and
    :class:`BacktestError` for a malformed file or a gap."""
    path = store.path(inst_id, interval)
    if not path.is_file():
        far = datetime(1970, 1, 1, tzinfo=UTC)
        raise MissingRange(f"{inst_id} {interval}: no candle file {path}", inst_id, far, far)
    # Open and close stay decimal strings too (exact, for sizing and fills). Floats: open and close
    # through Python's correctly rounded parser (what float(Decimal(text)) gives the trader), the
    # other columns through pandas' precise parser (also correctly rounded for such numbers).
    with path.open(encoding="utf-8") as fh:
        header = fh.readline().strip().split(",")
    if tuple(header) != COLUMNS:
        raise BacktestError(f"{path}: unexpected header {header}, expected {list(COLUMNS)}")
    try:
        text = {"candle_begin_time": str, "open": str, "close": str}
        raw = pd.read_csv(path, dtype=text, keep_default_na=False)
        stamps = pd.to_datetime(raw["candle_begin_time"], utc=True, format="ISO8601")
        numbers = {c: raw[c].to_numpy(dtype=np.float64) for c in COLUMNS[1:]}
    except (ValueError, TypeError, OSError) as exc:
        raise BacktestError(f"{path}: malformed row: {exc}") from None
    for column, values in numbers.items():
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(np.argmax(bad))
            raise BacktestError(f"{path}: {column} is {raw[column].iloc[row]!r} at row {row + 2}")
    seconds = (stamps.to_numpy(dtype="datetime64[s]").astype(np.int64)) if len(raw) else np.empty(0, np.int64)
    _check_contiguous(path.name, inst_id, interval, seconds)
    frame = pd.DataFrame({"candle_begin_time": stamps.dt.tz_convert(timezone(tz_offset(store.tz)))})
    for column in COLUMNS[1:]:
        frame[column] = numbers[column]
    if len(frame):  # the very dtype bars_to_frame gives (its time unit varies with pandas' version)
        reference = bars_to_frame(store.tail(inst_id, interval, 1), store.tz)["candle_begin_time"].dtype
        frame["candle_begin_time"] = frame["candle_begin_time"].astype(reference)
    return Candles(
        inst_id,
        interval,
        frame,
        raw["open"].to_numpy(dtype=object),
        raw["close"].to_numpy(dtype=object),
        seconds,
    )


def _check_contiguous(name: str, inst_id: str, interval: Interval, seconds: np.ndarray) -> None:
    if len(seconds) < 2:
        return
    steps = np.diff(seconds)
    bad = np.flatnonzero(steps != interval.seconds)
    if not len(bad):
        return
    row = int(bad[0])
    before = datetime.fromtimestamp(int(seconds[row]), tz=UTC)
    after = datetime.fromtimestamp(int(seconds[row + 1]), tz=UTC)
    if steps[row] <= 0:
        raise BacktestError(f"{name}: rows out of order or duplicated at {_iso(before)} -> {_iso(after)}")
    missing = int(steps[row] // interval.seconds) - 1
    raise MissingRange(
        f"gap in the data: {inst_id} {interval} has no bars between {_iso(before)} and {_iso(after)} "
        f"({missing} bar(s) missing)",
        inst_id,
        before + interval.delta,
        after,
    )


@dataclass(frozen=True)
class Window:
    """The rows of one CSV a run uses: ``first`` is the first traded row, ``warmup`` rows before it."""

    candles: Candles
    first: int
    count: int  # traded bars

    @property
    def frame(self) -> pd.DataFrame:
        return self.candles.frame


def window(candles: Candles, start: datetime, end: datetime, lookback: int) -> Window:
    """Bars opening in ``[start, end)`` plus ``lookback - 1`` bars before the first of them.

    Raises :class:`MissingRange` naming the bars the file lacks, or :class:`BacktestError` when
    the range holds no bars at all."""
    iv = candles.interval
    if start >= end:
        raise BacktestError(f"empty range: from {_iso(start)} is not before to {_iso(end)}")
    times = candles.times
    lo, hi = int(start.timestamp()), int(end.timestamp())
    first = int(np.searchsorted(times, lo, side="left"))
    stop = int(np.searchsorted(times, hi, side="left"))
    span = f"{candles.inst_id} {iv}"
    if not len(times):
        raise MissingRange(f"{span}: the candle file is empty", candles.inst_id, start, end)
    have_from, have_to = candles.time(0), candles.time(len(times) - 1) + iv.delta
    need_from = start - iv.delta * (lookback - 1)
    if need_from < have_from:
        raise MissingRange(
            f"{span}: the data starts at {_iso(have_from)}, but the range needs bars from "
            f"{_iso(need_from)} ({lookback - 1} bar(s) of lookback before {_iso(start)})",
            candles.inst_id,
            need_from,
            have_from,
        )
    if have_to < end:
        raise MissingRange(
            f"{span}: the data ends at {_iso(have_to)}, but the range runs to {_iso(end)}",
            candles.inst_id,
            have_to,
            end,
        )
    if stop <= first:
        raise BacktestError(f"empty range: {span} has no bars opening in [{_iso(start)}, {_iso(end)})")
    return Window(candles, first, stop - first)


def range_bounds(candles: Candles) -> tuple[datetime, datetime]:
    """First open and last close of the file."""
    return candles.time(0), candles.time(len(candles) - 1) + candles.interval.delta
