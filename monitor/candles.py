"""Candle CSVs as chart columns: times in Unix seconds, prices and volumes as floats (display only).

A file is parsed once with pandas and kept while its size and mtime are unchanged; when the
collector appends, only the new tail is parsed (``CandleStore.tail``) and glued on, so a new bar
costs one short read however long the history is. A rewrite (the file shrank or the first row
changed) reloads it whole.

A last row without its line end (being written, or torn by a crash: the collector's
``CandleStore.repair`` cuts it before its next append) is left out, as ``CandleStore`` reads
leave it out; a complete last row that does not parse is left out too. Either way the good rows
are served and :attr:`ChartBars.warning` says what was skipped (``/api/candles`` passes it on).
"""

from __future__ import annotations

import io
import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import DataError
from core.store import COLUMNS, CandleStore
from monitor.jsontext import json_array

__all__ = ["ChartBars", "ChartCandles"]

_FIELDS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class ChartBars:
    """Columns of one candle file, ascending; ``t`` is the bar open in Unix seconds."""

    t: np.ndarray
    ohlcv: np.ndarray  # shape (n, 5): open, high, low, close, volume
    warning: str | None = None  # a last row left out, and why

    def __len__(self) -> int:
        return len(self.t)

    def since(self, after: int | None) -> ChartBars:
        """The bars opening after ``after`` (all if ``None``)."""
        if after is None:
            return self
        start = int(np.searchsorted(self.t, after, side="right"))
        return ChartBars(self.t[start:], self.ohlcv[start:], self.warning)

    def to_json(self) -> str:
        """``{"t": [...], "open": [...], ...}`` as JSON text (pandas' C encoder: 50,000 bars in ms)."""
        parts = [f'"t":{json_array(self.t)}']
        parts += [f'"{name}":{json_array(col)}' for name, col in zip(_FIELDS, self.ohlcv.T, strict=True)]
        if self.warning is not None:
            parts.append(f'"warning":{json.dumps(self.warning)}')
        return "{" + ",".join(parts) + "}"

    def closes(self) -> pd.Series:
        return pd.Series(self.ohlcv[:, 3])


_EMPTY = ChartBars(np.zeros(0, dtype=np.int64), np.zeros((0, 5)))


def _read(data: bytes, path: Path) -> ChartBars:
    try:
        frame = pd.read_csv(
            io.BytesIO(data), dtype={"candle_begin_time": str}, on_bad_lines="error", engine="c"
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(f"{path}: malformed candle file ({exc})") from None
    if tuple(frame.columns) != COLUMNS:
        raise DataError(f"{path}: unexpected header {list(frame.columns)}")
    return _parse_frame(frame, str(path))


def _load(path: Path) -> ChartBars:
    """The whole file; a torn or unreadable last row is left out with a warning."""
    data = path.read_bytes()
    warning = None
    if data and not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]
        warning = f"{path.name}: the last row is incomplete (being written or torn by a crash): not shown"
    try:
        bars = _read(data, path)
    except DataError:
        body = data[:-1]
        cut = body.rfind(b"\n") + 1
        if body.count(b"\n") < 1:  # the header, or a single row: nothing good to fall back on
            raise
        bars = _read(data[:cut], path)  # still failing: the damage is not just the last row
        warning = f"{path.name}: the last row is unreadable ({body[cut:][:80]!r}): not shown"
    return ChartBars(bars.t, bars.ohlcv, warning)


def _ends_a_row(path: Path) -> bool:
    with path.open("rb") as fh:
        fh.seek(-1, 2)
        return fh.read(1) == b"\n"


def _parse_frame(frame: pd.DataFrame, where: str) -> ChartBars:
    try:
        times = pd.to_datetime(frame["candle_begin_time"], utc=True, format="ISO8601")
        values = frame[list(_FIELDS)].astype("float64").to_numpy()
    except (ValueError, TypeError, KeyError) as exc:
        raise DataError(f"{where}: malformed candle file ({exc})") from None
    if len(values) and not np.isfinite(values).all():
        raise DataError(f"{where}: a price or volume is missing or not finite")
    seconds = (times - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    return ChartBars(seconds.to_numpy(dtype=np.int64), values)


class ChartCandles:
    """Cached chart columns of every candle file under a :class:`CandleStore`'s root."""

    def __init__(self, store: CandleStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._cache: dict[Path, tuple[int, int, ChartBars]] = {}  # path -> (size, mtime_ns, bars)

    def bars(self, inst_id: str, interval: str) -> ChartBars:
        path = self.store.path(inst_id, interval)
        try:
            st = path.stat()
        except FileNotFoundError:
            return _EMPTY
        with self._lock:
            cached = self._cache.get(path)
            if cached is not None and cached[:2] == (st.st_size, st.st_mtime_ns):
                return cached[2]
            bars = self._refresh(
                inst_id, interval, path, cached[2] if cached and cached[0] < st.st_size else None
            )
            self._cache[path] = (st.st_size, st.st_mtime_ns, bars)
            return bars

    def _refresh(self, inst_id: str, interval: str, path: Path, old: ChartBars | None) -> ChartBars:
        if old is not None and len(old) and old.warning is None and _ends_a_row(path):
            try:
                tail = self.store.tail(inst_id, interval, 64)
            except DataError:  # a junk row at the end: reload whole, which leaves it out
                return _load(path)
            new = [b for b in tail if int(b.ts.timestamp()) > int(old.t[-1])]
            contiguous = bool(tail) and int(tail[0].ts.timestamp()) <= int(old.t[-1])
            if contiguous:
                if not new:
                    return old
                t = np.array([int(b.ts.timestamp()) for b in new], dtype=np.int64)
                vals = np.array([[float(b.open), float(b.high), float(b.low), float(b.close), float(b.volume)]
                                 for b in new])  # fmt: skip
                return ChartBars(np.concatenate([old.t, t]), np.vstack([old.ohlcv, vals]))
        return _load(path)
