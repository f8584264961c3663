"""The candle CSV contract: ``<root>/<INST-ID>_<interval>.csv``.

One row per closed candle, ascending, no duplicates, no gaps. Columns::

    candle_begin_time,open,high,low,close,volume,volume_ccy,volume_quote

``candle_begin_time`` is ISO 8601 with its UTC offset, in the candle timezone. Prices and volumes
are written exactly as OKX sent them (decimal strings).

Appends write whole rows in one ``write`` to a file opened for appending; a row torn by a crash is
cut off by :meth:`CandleStore.repair` at start-up. Whole-file rewrites go through a temp file and
``os.replace`` (:func:`core.atomic.atomic_write`, normal file permissions). Reading the
tail seeks from the end of the file, so its cost does not grow with history.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO

import pandas as pd

from core.atomic import FILE_MODE, atomic_write
from core.bars import Bar
from core.errors import DataError
from core.intervals import Interval, parse_interval, tz_offset

__all__ = ["COLUMNS", "CandleStore", "GapError", "bars_to_frame"]

COLUMNS = (
    "candle_begin_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "volume_ccy",
    "volume_quote",
)
_HEADER = ",".join(COLUMNS) + "\n"
_BLOCK = 64 * 1024


class GapError(DataError):
    """Appending would leave a hole (or go backwards) in a candle file."""


def _fmt_time(ts: datetime, offset: timedelta) -> str:
    return ts.astimezone(timezone(offset)).isoformat()


def _parse_time(text: str) -> datetime:
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        raise DataError(f"malformed candle time {text!r}") from None
    if ts.tzinfo is None:
        raise DataError(f"candle time without UTC offset: {text!r}")
    return ts.astimezone(UTC)


def _row(bar: Bar, offset: timedelta) -> str:
    values = (bar.open, bar.high, bar.low, bar.close, bar.volume, bar.volume_ccy, bar.volume_quote)
    return _fmt_time(bar.ts, offset) + "," + ",".join(str(v) for v in values) + "\n"


def _number(text: str, column: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise DataError(f"malformed number {text!r} in column {column}") from None
    if not value.is_finite():
        raise DataError(f"{text!r} in column {column} is not a finite number")
    return value


def _bar_from_fields(fields: Sequence[str], where: str) -> Bar:
    """A bar from one CSV row; :class:`DataError` naming ``where`` (file and row) if malformed."""
    try:
        if len(fields) != len(COLUMNS):
            raise DataError(f"candle row has {len(fields)} fields, expected {len(COLUMNS)}")
        values = [_number(v, c) for v, c in zip(fields[1:], COLUMNS[1:], strict=True)]
        return Bar(_parse_time(fields[0]), *values)
    except DataError as exc:
        raise DataError(f"{where}: {exc} (row {','.join(fields)!r})") from None


def bars_to_frame(bars: Sequence[Bar], tz: str) -> pd.DataFrame:
    """The DataFrame strategies see: times in the candle timezone, floats for prices/volumes."""
    offset = tz_offset(tz)
    frame = pd.DataFrame(
        {
            "candle_begin_time": pd.to_datetime([b.ts for b in bars], utc=True).tz_convert(timezone(offset)),
            "open": [float(b.open) for b in bars],
            "high": [float(b.high) for b in bars],
            "low": [float(b.low) for b in bars],
            "close": [float(b.close) for b in bars],
            "volume": [float(b.volume) for b in bars],
            "volume_ccy": [float(b.volume_ccy) for b in bars],
            "volume_quote": [float(b.volume_quote) for b in bars],
        }
    )
    return frame


class CandleStore:
    """Reads and writes the candle CSVs under ``root`` for one candle timezone."""

    def __init__(self, root: Path, tz: str = "Asia/Shanghai") -> None:
        self.root = Path(root)
        self.tz = tz
        self._offset = tz_offset(tz)

    # ---- paths ---------------------------------------------------------
    def path(self, inst_id: str, interval: Interval | str) -> Path:
        name = interval if isinstance(interval, str) else interval.name
        parse_interval(name)
        return self.root / f"{inst_id}_{name}.csv"

    # ---- reading -------------------------------------------------------
    def _tail_lines(self, path: Path, n: int) -> list[str]:
        """The last ``n`` complete lines (header excluded), reading backwards in blocks."""
        if n <= 0 or not path.is_file():
            return []
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            end = fh.tell()
            data = b""
            pos = end
            while pos > 0 and data.count(b"\n") <= n + 1:
                step = min(_BLOCK, pos)
                pos -= step
                fh.seek(pos)
                data = fh.read(step) + data
        text = data.decode("utf-8")
        if not text.endswith("\n"):
            text = text[: text.rfind("\n") + 1]  # ignore a torn last row
        lines = text.splitlines()
        if pos == 0 and lines and lines[0].startswith("candle_begin_time"):
            lines = lines[1:]
        elif pos > 0:
            lines = lines[1:]  # the first line may be cut
        return [ln for ln in lines if ln][-n:]

    def tail(self, inst_id: str, interval: Interval | str, n: int) -> list[Bar]:
        """The last ``n`` bars (fewer if the file is shorter), ascending."""
        path = self.path(inst_id, interval)
        lines = self._tail_lines(path, n)
        return [
            _bar_from_fields(ln.split(","), f"{path}, row {len(lines) - i} from the end")
            for i, ln in enumerate(lines)
        ]

    def read_tail(self, inst_id: str, interval: Interval | str, n: int) -> pd.DataFrame:
        """The last ``n`` bars as the strategies' DataFrame."""
        return bars_to_frame(self.tail(inst_id, interval, n), self.tz)

    def last_bar(self, inst_id: str, interval: Interval | str) -> Bar | None:
        bars = self.tail(inst_id, interval, 1)
        return bars[-1] if bars else None

    def last_time(self, inst_id: str, interval: Interval | str) -> datetime | None:
        bar = self.last_bar(inst_id, interval)
        return bar.ts if bar else None

    def first_time(self, inst_id: str, interval: Interval | str) -> datetime | None:
        """Open time of the oldest bar (reads only the head of the file)."""
        path = self.path(inst_id, interval)
        if not path.is_file():
            return None
        with path.open(encoding="utf-8", newline="") as fh:
            for line in fh:
                if line.strip() and not line.startswith("candle_begin_time") and line.endswith("\n"):
                    return _bar_from_fields(line.rstrip("\n").split(","), f"{path}, first row").ts
        return None

    def estimate_rows(self, inst_id: str, interval: Interval | str, sample: int = 32) -> int:
        """Approximate row count from the file size and the length of the last rows (O(1))."""
        path = self.path(inst_id, interval)
        lines = self._tail_lines(path, sample)
        if not lines:
            return 0
        size = path.stat().st_size - len(_HEADER)
        avg = sum(len(ln) + 1 for ln in lines) / len(lines)
        return max(len(lines), round(size / avg))

    def read_all(self, inst_id: str, interval: Interval | str) -> list[Bar]:
        path = self.path(inst_id, interval)
        if not path.is_file():
            return []
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is not None and tuple(header) != COLUMNS:
                raise DataError(f"{path}: unexpected header {header}")
            return [_bar_from_fields(row, f"{path}, line {reader.line_num}") for row in reader if row]

    # ---- writing -------------------------------------------------------
    def repair(self, inst_id: str, interval: Interval | str) -> bool:
        """Cut a torn last row left by a crash. Returns True if the file was changed."""
        path = self.path(inst_id, interval)
        if not path.is_file() or path.stat().st_size == 0:
            return False
        with path.open("rb+") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 1))
            if fh.read(1) == b"\n":
                return False
            pos = size
            while pos > 0:
                step = min(_BLOCK, pos)
                pos -= step
                fh.seek(pos)
                chunk = fh.read(step)
                idx = chunk.rfind(b"\n")
                if idx >= 0:
                    fh.truncate(pos + idx + 1)
                    return True
            fh.truncate(0)
            return True

    def append(self, inst_id: str, interval: Interval | str, bars: Iterable[Bar]) -> int:
        """Append bars newer than the last row; raise :class:`GapError` on a hole.

        Bars at or before the last stored bar are skipped (idempotent re-appends after a
        restart); a torn last row is cut first. Returns the number of rows written.
        """
        iv = parse_interval(interval) if isinstance(interval, str) else interval
        path = self.path(inst_id, iv)
        self.repair(inst_id, iv)  # never glue a new row onto a row torn by an earlier crash
        last = self.last_time(inst_id, iv)
        new = sorted((b for b in bars if last is None or b.ts > last), key=lambda b: b.ts)
        if not new:
            return 0
        expected = last + iv.delta if last is not None else new[0].ts
        for bar in new:
            if bar.ts != expected:
                raise GapError(
                    f"{path.name}: expected bar {expected.isoformat()}, got {bar.ts.isoformat()}"
                    " (gap or duplicate); repair from history before appending"
                )
            expected += iv.delta
        buf = io.StringIO()
        if not path.is_file() or path.stat().st_size == 0:
            buf.write(_HEADER)
        for bar in new:
            buf.write(_row(bar, self._offset))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
        try:
            os.write(fd, buf.getvalue().encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        return len(new)

    def rewrite(self, inst_id: str, interval: Interval | str, bars: Sequence[Bar]) -> None:
        """Replace the whole file atomically (temp file + ``os.replace``)."""
        iv = parse_interval(interval) if isinstance(interval, str) else interval
        ordered = sorted(bars, key=lambda b: b.ts)
        for prev, cur in itertools.pairwise(ordered):
            if cur.ts - prev.ts != iv.delta:
                raise GapError(f"rewrite of {inst_id} {iv}: hole or duplicate at {cur.ts.isoformat()}")
        path = self.path(inst_id, iv)

        def write(fh: IO[str]) -> None:
            fh.write(_HEADER)
            for bar in ordered:
                fh.write(_row(bar, self._offset))

        atomic_write(path, write)
