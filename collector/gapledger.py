"""The gap ledger: base bars OKX never served, filled as OKX represents a minute without trades.

``<data_dir>/gaps.json`` lists every filled bar (instrument, interval, open time, the flat price it
was filled with, when) and, once OKX serves the real bar and housekeeping has put it in place,
when it was replaced. The file is rewritten atomically on every change (it is small: one entry
per hole); entries older than ``keep`` are dropped. Thread-safe.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.atomic import atomic_write
from core.errors import DataError

__all__ = ["GapEntry", "GapLedger"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GapEntry:
    inst_id: str
    interval: str
    ts: datetime  # open time of the filled bar
    price: Decimal  # the previous close it was filled with
    filled_at: datetime
    replaced_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.replaced_at is None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("ts", "filled_at", "replaced_at"):
            out[key] = out[key].isoformat() if out[key] else None
        out["price"] = str(self.price)
        return out

    @staticmethod
    def from_json(raw: dict[str, Any]) -> GapEntry:
        try:
            replaced = raw.get("replaced_at")
            return GapEntry(
                inst_id=str(raw["inst_id"]),
                interval=str(raw["interval"]),
                ts=datetime.fromisoformat(raw["ts"]),
                price=Decimal(str(raw["price"])),
                filled_at=datetime.fromisoformat(raw["filled_at"]),
                replaced_at=datetime.fromisoformat(replaced) if replaced else None,
            )
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise DataError(f"malformed gap ledger entry {raw!r}: {exc}") from None


class GapLedger:
    """Reads and rewrites ``path``; a missing file is an empty ledger."""

    def __init__(self, path: Path, *, keep: timedelta = timedelta(days=30)) -> None:
        self.path = Path(path)
        self.keep = keep
        self._lock = threading.Lock()

    def entries(self) -> list[GapEntry]:
        with self._lock:
            return self._read()

    def open_entries(self) -> list[GapEntry]:
        return [e for e in self.entries() if e.open]

    def record(self, entries: list[GapEntry], now: datetime) -> None:
        """Add filled bars (an entry for the same bar replaces the older one)."""
        if not entries:
            return
        with self._lock:
            keyed = {_key(e): e for e in self._read()}
            keyed.update({_key(e): e for e in entries})
            self._write(list(keyed.values()), now)

    def mark_replaced(self, entry: GapEntry, now: datetime) -> None:
        with self._lock:
            rows = [replace(e, replaced_at=now) if _same(e, entry) else e for e in self._read()]
            self._write(rows, now)

    def _read(self) -> list[GapEntry]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise DataError(f"{self.path}: not JSON ({exc})") from None
        if not isinstance(raw, list):
            raise DataError(f"{self.path}: expected a list of entries")
        return [GapEntry.from_json(r) for r in raw]

    def _write(self, rows: list[GapEntry], now: datetime) -> None:
        kept = sorted((e for e in rows if e.ts >= now - self.keep), key=_key)
        text = json.dumps([e.to_json() for e in kept], indent=1) + "\n"
        atomic_write(self.path, lambda fh: fh.write(text))


def _key(e: GapEntry) -> tuple[str, str, datetime]:
    return (e.inst_id, e.interval, e.ts)


def _same(a: GapEntry, b: GapEntry) -> bool:
    return _key(a) == _key(b)
