"""What a trader reads (bars and markers) and what a collector writes, behind one interface.

``DATA_BUS = Files()`` (default): :class:`core.store.CandleStore` and :class:`core.markers.MarkerStore`
on this host, exactly as before. ``DATA_BUS = Redis(url=...)``: :class:`bus.reader.RedisBars` and
:class:`bus.reader.RedisMarkers` for traders on any host; the collector keeps its CSVs and markers
and also publishes through :class:`bus.publisher.BusPublisher` (:class:`PublishingMarkerStore`).
The trader's cycle sees only :class:`BarSource` and :class:`MarkerSource`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from bus.connect import BusUnavailable
from bus.publisher import BusPublisher
from core.bars import Bar
from core.clock import Clock
from core.intervals import Interval, parse_interval
from core.markers import Marker, MarkerStore

__all__ = ["BarSource", "MarkerSource", "PublishingMarkerStore", "TraderSources"]

log = logging.getLogger(__name__)


class BarSource(Protocol):
    """Closed bars of one instrument and interval (CSV files or a Redis stream)."""

    @property
    def tz(self) -> str: ...

    def tail(self, inst_id: str, interval: Interval | str, n: int) -> list[Bar]: ...


class MarkerSource(Protocol):
    """``data_ready`` markers (marker files or a Redis stream)."""

    def read(self, interval: Interval | str, bar_close: datetime) -> Marker | None: ...

    def wait(
        self,
        interval: Interval | str,
        bar_close: datetime,
        deadline: datetime,
        clock: Clock,
        stop: threading.Event | None = None,
        poll_s: float = 0.25,
    ) -> Marker | None: ...


@dataclass(frozen=True)
class TraderSources:
    bars: BarSource
    markers: MarkerSource


class PublishingMarkerStore(MarkerStore):
    """The collector's marker store in Redis mode: writes the marker file as before, then publishes
    the bars it vouches for and this collector's share report (:meth:`BusPublisher.report`).

    A Redis failure never breaks the collector's files: it is logged and reported through
    ``on_down``, and the streams are filled in at the next marker that gets through."""

    def __init__(
        self,
        root: Path,
        publisher: BusPublisher,
        expected: Mapping[Interval, Sequence[str]],
        on_down: Callable[[str], None] = lambda detail: None,
    ) -> None:
        super().__init__(root)
        self.publisher = publisher
        self.expected = dict(expected)
        self.on_down = on_down

    def write(self, marker: Marker) -> Path:
        iv = parse_interval(marker.interval)
        try:  # Redis first: the remote traders wait on it; the CSVs it reads back are written already
            self.publisher.report(marker, self.expected.get(iv, tuple(marker.instruments)))
        except BusUnavailable as exc:
            log.warning("%s", exc)
            self.on_down(str(exc))
        return super().write(marker)
