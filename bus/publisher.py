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

    def _stream_last(self, key: str) -> datetime | None:
        if key not in self._last:
            entries = self.client.xrevrange(key, count=1)
            self._last[key] = id_time(entries[0][0]) if entries else None
        return self._last[key]

    def publish_bars(self, inst_id: str, interval: Interval, upto: datetime) -> int:
        """Publish ``inst_id``'s bars after its stream's last entry through ``upto`` (from the CSV)."""
        key = self.keys.bars(inst_id, interval)
        keep = self.keep.get(interval, 1000)
        with guarded(f"publishing {inst_id} {interval} bars"):
            last = self._stream_last(key)
            if last is not None and last >= upto:
                return 0
            need = keep if last is None else min(keep, math.ceil((upto - last) / interval.delta) + 1)
            bars = [b for b in self.store.tail(inst_id, interval, need + 1) if b.ts <= upto]
            bars = [b for b in bars if last is None or b.ts > last][-keep:]
            if not bars:
                return 0
            pipe = self.client.pipeline(transaction=False)
            for bar in bars:
                pipe.xadd(key, bar_fields(bar), id=time_id(bar.ts), maxlen=keep, approximate=True)
            pipe.execute()
            self._last[key] = bars[-1].ts
        return len(bars)

    def report(self, marker: Marker, expected: Sequence[str]) -> bool:
        """Publish the bars ``marker`` vouches for, report its statuses, and publish the interval's
        marker if every instrument in ``expected`` has now reported. True if this call published it."""
        iv = parse_interval(marker.interval)
        for inst, status in sorted(marker.instruments.items()):
            if status.last_candle is not None:
                self.publish_bars(inst, iv, status.last_candle)
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
