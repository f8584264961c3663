"""Where a close's base candles come from: the seam between the cycle and its data source.

:class:`CandleFeed` is what :class:`~collector.cycle.Cycle` calls at every close —
``closed_bars(last, target, history_start)`` returns, per instrument, the closed bars after its
last stored one through ``target`` (a :class:`~collector.fetch.Fetched`). Two implementations:

- :class:`RestFeed` — REST polling (:class:`~collector.fetch.Fetcher`), also every other feed's
  repair path;
- :class:`~collector.ws_feed.WsFeed` — pushes from OKX's business WebSocket, with REST for
  the instruments still missing at a short deadline.

Each feed records a :class:`FeedRound` per close (how many instruments came from where, and the
close-to-ready lag) and reports a :class:`FeedStatus` for the status display and the journal.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol

from collector.fetch import Fetched, Fetcher
from core.clock import Clock

__all__ = ["CandleFeed", "FeedRound", "FeedStatus", "RestFeed"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeedRound:
    """One close as a feed served it."""

    feed: str
    bar_close: datetime
    instruments: int
    via_push: int
    via_rest: int
    ready_s: float  # process-clock seconds from the close to every instrument closed or failed
    fallback: tuple[str, ...] = ()  # instruments a push feed had to take from REST

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["bar_close"] = self.bar_close.isoformat()
        out["fallback"] = list(self.fallback)
        return out

    def summary(self) -> str:
        text = (
            f"feed {self.feed}: bar close {self.bar_close.isoformat()} ready {self.ready_s:.2f}s after "
            f"the close, {self.via_push} via push, {self.via_rest} via REST"
        )
        if self.fallback:
            shown = ", ".join(self.fallback[:10]) + (" ..." if len(self.fallback) > 10 else "")
            text += f" (fell back: {shown})"
        return text


@dataclass(frozen=True)
class FeedStatus:
    """What the status display and ``--check`` show about the live feed."""

    feed: str
    connections: int  # connections the feed opens (0 for REST)
    open_connections: int
    live_instruments: int
    refused: dict[str, str] = field(default_factory=dict)
    reconnects: int = 0
    last: FeedRound | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "feed": self.feed,
            "connections": self.connections,
            "open_connections": self.open_connections,
            "live_instruments": self.live_instruments,
            "refused": dict(self.refused),
            "reconnects": self.reconnects,
            "last": self.last.to_json() if self.last else None,
        }


class CandleFeed(Protocol):
    """A source of closed base bars for the cycle."""

    name: str

    def start(self) -> None:
        """Open connections (no-op for REST)."""
        ...

    def closed_bars(
        self, last: Mapping[str, datetime | None], target: datetime, history_start: datetime
    ) -> dict[str, Fetched]:
        """Bars after ``last[inst]`` through ``target`` per instrument (never a forming bar)."""
        ...

    def status(self) -> FeedStatus: ...

    def close(self) -> None: ...


class RestFeed:
    """REST polling: every close's bars from ``market/candles`` (gaps from history)."""

    name = "rest"

    def __init__(self, fetcher: Fetcher, clock: Clock) -> None:
        self.fetcher = fetcher
        self.clock = clock
        self.last: FeedRound | None = None

    def start(self) -> None:
        return None

    def closed_bars(
        self, last: Mapping[str, datetime | None], target: datetime, history_start: datetime
    ) -> dict[str, Fetched]:
        got = self.fetcher.closed_bars(last, target, history_start)
        close = target + self.fetcher.base.delta
        ready = (self.clock.now() - close).total_seconds()
        self.last = FeedRound(self.name, close, len(last), 0, len(last), ready)
        log.info("%s", self.last.summary())
        return got

    def status(self) -> FeedStatus:
        return FeedStatus(self.name, 0, 0, 0, last=self.last)

    def close(self) -> None:
        return None
