"""The trader's side of the Redis bus: markers and bar tails from the streams.

:class:`RedisMarkers` waits for a close's marker with ``XREAD BLOCK`` from the last entry id it
has seen, which it persists (a small JSON file per account), so a restarted trader resumes where
it left off. :class:`RedisBars` reads a tail with ``XREVRANGE``. They are drop-in sources for the
trader's cycle (the same methods as :class:`core.markers.MarkerStore` and
:class:`core.store.CandleStore`): the marker still gates everything, and the tail must still end on
the bar that closed.

Redis down while waiting: the wait goes on (re-connecting every second) and ``on_down`` is called
once per outage — the trader alerts; if Redis does not come back before the marker deadline the
bar is skipped like any late marker. Redis down while reading bars: :class:`BusUnavailable` —
the bar is retried, never traded on part of its data.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import redis

from bus.codec import bar_from_entry, marker_from_entry
from bus.connect import REDIS_ERRORS, call
from bus.keys import Keys, time_id
from core.bars import Bar
from core.clock import Clock
from core.intervals import Interval
from core.markers import Marker

__all__ = ["Cursor", "RedisBars", "RedisMarkers"]

log = logging.getLogger(__name__)
_BLOCK_MS = 250  # longest single XREAD block; the deadline and the stop event are checked between
_RETRY_S = 1.0


class Cursor:
    """The last marker id seen per interval, persisted atomically in ``path``.

    :meth:`advance` only records the id; :meth:`flush` writes the file (at most every
    ``every_s``, unless forced), which the marker wait does before it blocks for the next marker —
    off the path from a marker's arrival to the trade. A cursor a little behind is harmless: the
    wait looks the wanted close up by its id, and XREAD from an older id only returns more."""

    def __init__(self, path: Path, every_s: float = 5.0) -> None:
        self.path = Path(path)
        self.every_s = every_s
        self._flushed = -every_s
        self._dirty = False
        try:
            self._ids: dict[str, str] = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            self._ids = {}

    def get(self, interval: str) -> str:
        return self._ids.get(interval, "0-0")

    def advance(self, interval: str, entry_id: str) -> None:
        if _id_key(entry_id) > _id_key(self.get(interval)):
            self._ids[interval] = entry_id
            self._dirty = True

    def flush(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not self._dirty or (not force and now - self._flushed < self.every_s):
            return
        self._flushed = now
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".cursor.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(self._ids, fh)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._dirty = False


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisMarkers:
    """Markers from the interval streams (what :class:`core.markers.MarkerStore` is for files)."""

    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        cursor: Cursor,
        on_down: Callable[[str], None] = lambda detail: None,
    ) -> None:
        self.client: Any = client  # redis-py's stubs mix in the asyncio types
        self.keys = keys
        self.cursor = cursor
        self.on_down = on_down

    def read(self, interval: Interval | str, bar_close: datetime) -> Marker | None:
        key, entry = self.keys.markers(interval), time_id(bar_close)
        rows = call(f"reading the {interval} marker", lambda: self.client.xrange(key, entry, entry))
        return marker_from_entry(rows[0][1], f"{key} {entry}") if rows else None

    def latest(self, interval: Interval | str) -> Marker | None:
        key = self.keys.markers(interval)
        rows = call(f"reading the latest {interval} marker", lambda: self.client.xrevrange(key, count=1))
        return marker_from_entry(rows[0][1], key) if rows else None

    def _next(self, name: str, key: str, wanted: str, block_ms: int) -> Marker | None:
        """One XREAD from the cursor; the wanted marker if it arrived (or already was there)."""
        rows = self.client.xrange(key, wanted, wanted)
        if rows:
            self.cursor.advance(name, wanted)
            return marker_from_entry(rows[0][1], f"{key} {wanted}")
        got = self.client.xread({key: self.cursor.get(name)}, count=100, block=block_ms)
        for _stream, entries in got or []:
            for entry_id, raw in entries:
                eid = _text(entry_id)
                self.cursor.advance(name, eid)
                if eid == wanted:
                    return marker_from_entry(raw, f"{key} {eid}")
        return None

    def wait(
        self,
        interval: Interval | str,
        bar_close: datetime,
        deadline: datetime,
        clock: Clock,
        stop: threading.Event | None = None,
        poll_s: float = 0.25,
    ) -> Marker | None:
        """Block until the marker of ``bar_close`` arrives, ``deadline`` passes or ``stop`` is set."""
        name = str(interval)
        key, wanted = self.keys.markers(name), time_id(bar_close)
        self.cursor.flush()  # what the last wait saw, persisted before blocking again
        down = False
        while True:
            now = clock.now()
            if now >= deadline or (stop is not None and stop.is_set()):
                return None
            remaining_ms = int((deadline - now).total_seconds() * 1000)
            try:
                marker = self._next(name, key, wanted, max(1, min(_BLOCK_MS, remaining_ms)))
            except REDIS_ERRORS as exc:
                if not down:
                    down = True
                    detail = f"Redis unavailable while waiting for the {name} marker: {type(exc).__name__}"
                    log.warning("%s", detail)
                    self.on_down(detail)
                if not clock.sleep(min(_RETRY_S, max(0.0, remaining_ms / 1000)), stop):
                    return None
                continue
            if down:
                log.info("Redis is back")
                down = False
            if marker is not None:
                return marker
            if clock.now() == now:  # a test's fake clock, which a real-time block does not move
                clock.sleep(remaining_ms / 1000, stop)


class RedisBars:
    """Bar tails from the instrument streams (what :class:`core.store.CandleStore` is for files).

    A tail is read once with ``XREVRANGE``; afterwards only the entries after the last one held are
    fetched (``XRANGE (last +``) — stream entries never change once added — so at each close a
    trader reads one new bar, not its whole lookback. A tail that does not continue bar by bar is
    read again whole."""

    def __init__(self, client: redis.Redis, keys: Keys, tz: str) -> None:
        self.client: Any = client
        self.keys = keys
        self.tz = tz
        self._held: dict[str, list[Bar]] = {}

    def _read(self, key: str, n: int) -> list[Bar]:
        rows = call(f"reading {key}", lambda: self.client.xrevrange(key, count=n))
        return [bar_from_entry(eid, raw, f"{key} {_text(eid)}") for eid, raw in reversed(rows)]

    def tail(self, inst_id: str, interval: Interval | str, n: int) -> list[Bar]:
        """The last ``n`` closed bars, ascending (fewer if the stream is shorter)."""
        if n <= 0:
            return []
        key = self.keys.bars(inst_id, interval)
        held = self._held.get(key)
        if held is None or len(held) < n:
            bars = self._read(key, n)
        else:
            start = f"({time_id(held[-1].ts)}"
            rows = call(f"reading {key}", lambda: self.client.xrange(key, start, "+"))
            new = [bar_from_entry(eid, raw, f"{key} {_text(eid)}") for eid, raw in rows]
            step = held[-1].ts - held[-2].ts if len(held) > 1 else None
            chained = [held[-1], *new]
            if step is not None and all(b.ts - a.ts == step for a, b in itertools.pairwise(chained)):
                bars = (held + new)[-max(n, len(held)):]
            else:
                bars = self._read(key, n)
        self._held[key] = bars
        return bars[-n:]
