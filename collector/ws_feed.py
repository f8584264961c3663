"""The WebSocket candle feed: pushes from OKX's business WebSocket, REST for what is missing.

:class:`WsFeed` runs its connections (:class:`~collector.ws_conn.WsConnection`, at most
``per_connection`` instruments each) on an asyncio loop in a daemon thread. At a close ``C`` the
cycle calls :meth:`WsFeed.closed_bars`, which decides per instrument:

- every bar after its last stored one through ``C - bar`` arrived as a ``confirm "1"`` push: done;
- its connection is down, its subscription was refused, it has no stored bar yet, or a bar before
  ``C - bar`` is missing (it closed while nobody listened and will not be pushed again): REST at once;
- otherwise it waits (sleeping on the book's ``changed`` event, never polling) until ``C +
  deadline_s``; what is still missing then is fetched over REST — only those instruments.

A bar that was pushed only as forming is never used; a push of the next bar counts as proof that
the bar closed, and its final values then come from REST. After a reconnect every bar that closed
while the connection was down is missing from the book, so it also comes from REST: the gap is
repaired by the same path (including history for long downtimes).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

import aiohttp

from collector.feed import FeedRound, FeedStatus
from collector.fetch import CycleStopped, Fetched, Fetcher, candle_to_bar
from collector.ws_book import CandleBook
from collector.ws_conn import ConnectGate, WsConnection
from collector.ws_plan import shard
from core.clock import Clock
from core.intervals import Interval
from exchange.records import Candle
from notify.events import DataAlert, Event

__all__ = ["WsFeed"]

log = logging.getLogger(__name__)
_WAKE_S = 0.25  # longest sleep between checks of the stop event while waiting for pushes
_KEEP_BARS = 5  # confirmed bars kept per instrument (a missed cycle is still served from pushes)


class WsFeed:
    """Candles of ``inst_ids`` on ``bar`` from ``url``, with ``rest`` as the repair path."""

    name = "websocket"

    def __init__(
        self,
        url: str,
        bar: str,
        base: Interval,
        inst_ids: Sequence[str],
        rest: Fetcher,
        clock: Clock,
        *,
        deadline_s: float = 2.0,
        per_connection: int = 250,
        stop: threading.Event | None = None,
        ping_every_s: float = 25.0,
        notify: Callable[[Event], None] | None = None,
        process: str = "collector",
    ) -> None:
        self.url = url
        self.notify = notify
        self.process = process
        self.bar = bar
        self.base = base
        self.inst_ids = tuple(inst_ids)
        self.rest = rest
        self.clock = clock
        self.deadline_s = deadline_s
        self.stop = stop
        self.book = CandleBook(base)
        self.groups = shard(self.inst_ids, per_connection)
        self.ping_every_s = ping_every_s
        self.last: FeedRound | None = None
        self._conns: list[WsConnection] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._started = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        """Connect and subscribe in the background (returns at once)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="ws-feed", daemon=True)
        self._thread.start()
        self._started.wait(10)
        log.info("websocket feed: %d instrument(s) on %d connection(s) to %s",
                 len(self.inst_ids), len(self.groups), self.url)  # fmt: skip

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        gate = ConnectGate()
        self._conns = [
            WsConnection(
                k + 1, self.url, self.bar, group, self.book, gate,
                ping_every_s=self.ping_every_s, notify=self._alert,
            )
            for k, group in enumerate(self.groups)
        ]
        self._started.set()
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(c.run(session, self._stopping) for c in self._conns))

    def _alert(self, kind: str, detail: str, inst_id: str | None) -> None:
        """A connection's problem (``ws_down``/``ws_recovered``/``ws_refused``) as a DataAlert."""
        if self.notify is not None:
            interval = str(self.base) if inst_id else None  # a connection's alert names no instrument
            self.notify(DataAlert(self.process, kind, detail, inst_id=inst_id, interval=interval))

    async def _shutdown(self) -> None:
        assert self._stopping is not None
        self._stopping.set()
        for conn in self._conns:
            await conn.close()

    def close(self) -> None:
        """Close every connection and join the thread (idempotent)."""
        thread, self._thread = self._thread, None
        if thread is None or self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
        thread.join(timeout=10)

    # ---- one close ------------------------------------------------------------------------------
    def closed_bars(
        self, last: Mapping[str, datetime | None], target: datetime, history_start: datetime
    ) -> dict[str, Fetched]:
        close = target + self.base.delta
        if self.clock.now() < close:
            raise ValueError(f"bar {target.isoformat()} has not closed yet")
        pushed, rest, waited = self._collect(last, target, close + timedelta(seconds=self.deadline_s))
        closed_by_next = sum(1 for inst in waited if self.book.next_seen(inst, target))
        if waited:
            log.warning("%d instrument(s) without a confirm push %.1fs after the close (%d seen the next "
                        "bar): REST", len(waited), self.deadline_s, closed_by_next)  # fmt: skip
        results = {inst: Fetched(inst, bars=[candle_to_bar(c) for c in run]) for inst, run in pushed.items()}
        if rest:
            results.update(self.rest.closed_bars(rest, target, history_start))
        self.book.prune(target - self.base.delta * _KEEP_BARS)
        ready = (self.clock.now() - close).total_seconds()
        fallback = tuple(sorted(inst for inst, ts in rest.items() if ts is not None))
        self.last = FeedRound(self.name, close, len(last), len(pushed), len(rest), ready, fallback)
        log.info("%s", self.last.summary())
        return results

    def _collect(
        self, last: Mapping[str, datetime | None], target: datetime, deadline: datetime
    ) -> tuple[dict[str, list[Candle]], dict[str, datetime | None], list[str]]:
        """(bars from pushes, instruments for REST, those of them that waited out the deadline)."""
        pushed: dict[str, list[Candle]] = {}
        rest: dict[str, datetime | None] = {}
        undecided = dict(last)
        look = set(undecided)
        while True:
            self.book.changed.clear()  # before looking: a push from now on wakes the sleep below
            look |= self.book.take_dirty()
            for inst in look & undecided.keys():
                ts = undecided[inst]
                run = None if ts is None else self.book.run(inst, ts + self.base.delta, target)
                if run is not None:
                    pushed[inst] = run
                elif ts is not None and self.book.is_live(inst) and self._waitable(inst, ts, target):
                    continue
                else:
                    rest[inst] = ts
                del undecided[inst]
            remaining = (deadline - self.clock.now()).total_seconds()
            if not undecided or remaining <= 0:
                break
            if self.stop is not None and self.stop.is_set():
                raise CycleStopped(f"stopped while waiting for bar {target.isoformat()}")
            self.clock.sleep(min(remaining, _WAKE_S), self.book.changed)
            look = set()  # from now on only what changed
        rest.update(undecided)
        return pushed, rest, sorted(undecided)

    def _waitable(self, inst: str, last: datetime, target: datetime) -> bool:
        """True if every bar before ``target`` is at hand (stored or pushed): waiting can help.
        An older missing bar will never be pushed again (it closed while we were not
        subscribed), so such an instrument goes to REST at once."""
        first = last + self.base.delta
        return first >= target or self.book.run(inst, first, target - self.base.delta) is not None

    # ---- observability --------------------------------------------------------------------------
    def status(self) -> FeedStatus:
        counts = self.book.counts()
        return FeedStatus(
            self.name,
            connections=len(self.groups),
            open_connections=sum(1 for c in self._conns if c.is_open),
            live_instruments=counts.live,
            refused=counts.refused,
            reconnects=counts.reconnects,
            last=self.last,
        )
