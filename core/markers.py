"""``data_ready`` markers: the collector's promise that every listed CSV is complete.

One JSON file per interval and bar close, ``<root>/<interval>/<YYYYmmddTHHMMSSZ>.json`` (the close
time in UTC), written atomically (temp file + rename) only after every CSV it vouches for::

    {"version": 1, "interval": "1h", "bar_open": "...", "bar_close": "...", "created_at": "...",
     "instruments": {"BTC-USDT-SWAP": {"status": "ok", "last_candle": "..."},
                     "XRP-USDT-SWAP": {"status": "failed", "reason": "..."}}}

Traders wait for a marker by sleeping on their clock (never spinning) and refuse to trade an
instrument whose status is not ``ok`` or whose last candle is not the bar that just closed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from core.atomic import atomic_write
from core.clock import Clock
from core.errors import DataError
from core.intervals import Interval, parse_interval

__all__ = ["InstrumentStatus", "Marker", "MarkerStore"]

_NAME_FORMAT = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class InstrumentStatus:
    ok: bool
    last_candle: datetime | None = None  # open time of the newest bar in the CSV
    reason: str = ""

    def to_json(self) -> dict[str, str | None]:
        out: dict[str, str | None] = {"status": "ok" if self.ok else "failed"}
        out["last_candle"] = self.last_candle.isoformat() if self.last_candle else None
        if self.reason:
            out["reason"] = self.reason
        return out

    @staticmethod
    def from_json(raw: Mapping[str, object]) -> InstrumentStatus:
        status = raw.get("status")
        if status not in ("ok", "failed"):
            raise DataError(f"marker instrument status must be ok/failed, got {status!r}")
        last = raw.get("last_candle")
        return InstrumentStatus(
            ok=status == "ok",
            last_candle=datetime.fromisoformat(str(last)).astimezone(UTC) if last else None,
            reason=str(raw.get("reason", "")),
        )


@dataclass(frozen=True)
class Marker:
    interval: str
    bar_open: datetime
    bar_close: datetime
    created_at: datetime
    instruments: dict[str, InstrumentStatus] = field(default_factory=dict)

    def status(self, inst_id: str) -> InstrumentStatus | None:
        return self.instruments.get(inst_id)

    def is_ready(self, inst_id: str) -> bool:
        """True if ``inst_id`` is ok and its CSV reaches the bar that just closed."""
        st = self.instruments.get(inst_id)
        return st is not None and st.ok and st.last_candle == self.bar_open

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": 1,
                "interval": self.interval,
                "bar_open": self.bar_open.isoformat(),
                "bar_close": self.bar_close.isoformat(),
                "created_at": self.created_at.isoformat(),
                "instruments": {k: v.to_json() for k, v in sorted(self.instruments.items())},
            },
            indent=1,
        )

    @staticmethod
    def from_json(text: str) -> Marker:
        try:
            raw = json.loads(text)
            return Marker(
                interval=parse_interval(raw["interval"]).name,
                bar_open=datetime.fromisoformat(raw["bar_open"]).astimezone(UTC),
                bar_close=datetime.fromisoformat(raw["bar_close"]).astimezone(UTC),
                created_at=datetime.fromisoformat(raw["created_at"]).astimezone(UTC),
                instruments={k: InstrumentStatus.from_json(v) for k, v in dict(raw["instruments"]).items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"malformed marker: {exc}") from exc


class MarkerStore:
    """Writes, reads, waits for and prunes markers under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, interval: Interval | str, bar_close: datetime) -> Path:
        name = interval if isinstance(interval, str) else interval.name
        parse_interval(name)
        return self.root / name / (bar_close.astimezone(UTC).strftime(_NAME_FORMAT) + ".json")

    def write(self, marker: Marker) -> Path:
        """Create the marker atomically; a reader sees all of it or nothing."""
        path = self.path(marker.interval, marker.bar_close)
        text = marker.to_json()
        atomic_write(path, lambda fh: fh.write(text))
        return path

    def read(self, interval: Interval | str, bar_close: datetime) -> Marker | None:
        path = self.path(interval, bar_close)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        return Marker.from_json(text)

    def wait(
        self,
        interval: Interval | str,
        bar_close: datetime,
        deadline: datetime,
        clock: Clock,
        stop: threading.Event | None = None,
        poll_s: float = 0.25,
    ) -> Marker | None:
        """Sleep until the marker exists or ``deadline`` passes (None) or ``stop`` is set (None)."""
        while True:
            marker = self.read(interval, bar_close)
            if marker is not None:
                return marker
            now = clock.now()
            if now >= deadline or (stop is not None and stop.is_set()):
                return None
            remaining = (deadline - now).total_seconds()
            if not clock.sleep(min(poll_s, remaining), stop):
                return None

    def latest(self, interval: Interval | str) -> Marker | None:
        name = interval if isinstance(interval, str) else interval.name
        folder = self.root / name
        if not folder.is_dir():
            return None
        files = sorted(p for p in folder.glob("*.json"))
        return Marker.from_json(files[-1].read_text(encoding="utf-8")) if files else None

    def prune(self, older_than: datetime) -> int:
        """Delete markers whose bar closed before ``older_than``; returns how many."""
        removed = 0
        if not self.root.is_dir():
            return 0
        for folder in self.root.iterdir():
            if not folder.is_dir():
                continue
            for path in folder.glob("*.json"):
                try:
                    closed = datetime.strptime(path.stem, _NAME_FORMAT).replace(tzinfo=UTC)
                except ValueError:
                    continue
                if closed < older_than:
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed
