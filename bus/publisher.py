"""The collector's side of the Redis bus: closed bars into streams, then the marker.

At every marker the collector writes, :class:`BusPublisher`:

1. publishes every bar the marker vouches for that its stream does not hold yet, read back from
   the collector's own CSV (so the stream holds exactly what the file holds — never a forming
   bar), one pipelined ``XADD`` per bar with the bar's open time as entry id, the stream trimmed
   to the history the strategies need (``MAXLEN ~``);
2. reports the statuses of its own instruments for that close into a hash (several collectors
   sharing the universe each report their share);
3. once every instrument of the interval has reported, ``XADD``\\ s the marker to the interval's
   marker stream with the close time as id. Whoever completes the set publishes it; a second
   publisher's ``XADD`` of the same id is refused by Redis, so the marker exists once.

Since a bar is published before its status is reported, a marker in the stream always comes
after every bar it vouches for. Bars a dead collector or a Redis outage left out are filled in
at the next marker (publishing starts from the stream's last id, not from this close).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import redis

from bus.codec import bar_fields, marker_fields
from bus.connect import guarded
from bus.keys import Keys, id_time, time_id
from core.bars import Bar
from core.clock import Clock
from core.intervals import Interval, parse_interval
from core.markers import InstrumentStatus, Marker
from core.store import CandleStore

__all__ = ["REPORT_TTL", "BusPublisher"]

log = logging.getLogger(__name__)
REPORT_TTL = timedelta(days=2)  # a close's share reports are kept this long


class BusPublisher:
    """Publishes one collector's bars and share reports; assembles markers when complete."""

    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        store: CandleStore,
        clock: Clock,
        keep: Mapping[Interval, int],
    ) -> None:
        self.client: Any = client  # redis-py's stubs mix in the asyncio types
        self.keys = keys
        self.store = store
        self.clock = clock
        self.keep = dict(keep)
        self._last: dict[str, datetime | None] = {}  # stream key -> time of its last entry

    def _load_last(self, keys: list[str]) -> None:
        """Fill the cache of stream ends for ``keys`` (one pipelined round trip)."""
        missing = [k for k in keys if k not in self._last]
        if not missing:
            return
        pipe = self.client.pipeline(transaction=False)
        for key in missing:
            pipe.xrevrange(key, count=1)
        for key, entries in zip(missing, pipe.execute(), strict=True):
            self._last[key] = id_time(entries[0][0]) if entries else None

    def _pending(self, key: str, inst_id: str, interval: Interval, upto: datetime) -> list[Bar]:
        keep = self.keep.get(interval, 1000)
        last = self._last[key]
        if last is not None and last >= upto:
            return []
        need = keep if last is None else min(keep, math.ceil((upto - last) / interval.delta) + 1)
        bars = [b for b in self.store.tail(inst_id, interval, need + 1) if b.ts <= upto]
        return [b for b in bars if last is None or b.ts > last][-keep:]

    def publish(self, items: Sequence[tuple[str, Interval, datetime]]) -> int:
        """Publish, for each ``(instrument, interval, upto)``, the bars after its stream's last entry
        through ``upto`` (read from the CSV), all in one pipeline. Returns how many bars."""
        keyed = [(self.keys.bars(inst, iv), inst, iv, upto) for inst, iv, upto in items]
        with guarded("publishing bars"):
            try:
                self._load_last([k for k, *_ in keyed])
                pipe = self.client.pipeline(transaction=False)
                sent: list[tuple[str, datetime]] = []
                for key, inst, iv, upto in keyed:
                    keep = self.keep.get(iv, 1000)
                    for bar in self._pending(key, inst, iv, upto):
                        pipe.xadd(key, bar_fields(bar), id=time_id(bar.ts), maxlen=keep, approximate=True)
                        sent.append((key, bar.ts))
                results = pipe.execute(raise_on_error=False) if sent else []
            except BaseException:
                self._last.clear()  # Redis may have restarted empty: ask again next time
                raise
        for (key, ts), result in zip(sent, results, strict=True):
            if isinstance(result, redis.ResponseError):
                if "equal or smaller" not in str(result):
                    raise result
                self._last.pop(key, None)  # another collector published it first: re-read its end
            elif key in self._last:
                self._last[key] = ts
        return len(sent)

    def publish_bars(self, inst_id: str, interval: Interval, upto: datetime) -> int:
        """Publish ``inst_id``'s bars after its stream's last entry through ``upto`` (from the CSV)."""
        return self.publish([(inst_id, interval, upto)])

    def report(self, marker: Marker, expected: Sequence[str]) -> bool:
        """Publish the bars ``marker`` vouches for, report its statuses, and publish the interval's
        marker if every instrument in ``expected`` has now reported. True if this call published it."""
        iv = parse_interval(marker.interval)
        self.publish([(i, iv, s.last_candle) for i, s in sorted(marker.instruments.items()) if s.last_candle])
        key = self.keys.reports(iv, marker.bar_close)
        statuses = {inst: json.dumps(s.to_json()) for inst, s in marker.instruments.items()}
        with guarded(f"reporting the {iv} close {marker.bar_close.isoformat()}"):
            pipe = self.client.pipeline(transaction=True)
            if statuses:
                pipe.hset(key, mapping=statuses)
            pipe.pexpire(key, int(REPORT_TTL.total_seconds() * 1000))
            pipe.hgetall(key)
            reported = pipe.execute()[-1]
            got = {k.decode(): json.loads(v) for k, v in reported.items()}
            missing = [inst for inst in expected if inst not in got]
            if missing:
                log.debug("%s close %s: %d not reported yet", iv, marker.bar_close, len(missing))
                return False
            full = Marker(
                interval=iv.name,
                bar_open=marker.bar_open,
                bar_close=marker.bar_close,
                created_at=self.clock.now(),
                instruments={inst: InstrumentStatus.from_json(got[inst]) for inst in expected},
            )
            try:
                self.client.xadd(
                    self.keys.markers(iv),
                    marker_fields(full),
                    id=time_id(marker.bar_close),
                    maxlen=self.keep.get(iv, 1000),
                    approximate=True,
                )
            except redis.ResponseError as exc:
                if "equal or smaller" not in str(exc):
                    raise
                return False  # another share completed it first (or a re-run of this close)
        log.debug("%s marker for %s published", iv, marker.bar_close.isoformat())
        return True
