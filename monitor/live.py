"""Live push: notice new markers and journal writes and tell every open page (Server-Sent Events).

The server looks at a few directory entries and file stats every ``poll_s`` (0.2 s by default: a
handful of ``stat`` calls, no file is read); a change becomes one event for every connected page,
which then fetches only what is new. The browser never polls.

Events (JSON in the SSE ``data`` field)::

    {"type": "bar", "interval": "1m", "marker": "20260101T000100Z.json"}   a new marker
    {"type": "journal", "account": "sub1"}                                  the journal changed
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from config.schema import FleetConfig

__all__ = ["Hub", "changes", "snapshot", "watch"]

log = logging.getLogger("okxfleet.monitor.live")
Snapshot = dict[str, str]


def _latest_marker(folder: Path) -> str:
    try:
        with os.scandir(folder) as it:
            return max(
                (e.name for e in it if e.name.endswith(".json") and not e.name.startswith(".")), default=""
            )
    except FileNotFoundError:
        return ""


def _stamp(path: Path) -> str:
    parts = []
    for p in (path, path.with_name(path.name + "-wal")):
        try:
            st = p.stat()
        except FileNotFoundError:
            parts.append("-")
            continue
        parts.append(f"{st.st_mtime_ns}:{st.st_size}")
    return "/".join(parts)


def snapshot(cfg: FleetConfig) -> Snapshot:
    """What the watcher compares: the newest marker per interval, each journal's file stamps."""
    snap = {f"bar:{iv.name}": _latest_marker(cfg.markers_dir / iv.name) for iv in cfg.intervals}
    snap.update({f"journal:{a}": _stamp(cfg.journal_dir / f"{a}.sqlite") for a in cfg.accounts})
    return snap


def changes(old: Snapshot, new: Snapshot) -> list[dict[str, str]]:
    """The events between two snapshots (pure)."""
    out = []
    for key, value in new.items():
        if old.get(key) == value:
            continue
        kind, name = key.split(":", 1)
        if kind == "bar" and value:
            out.append({"type": "bar", "interval": name, "marker": value})
        elif kind == "journal":
            out.append({"type": "journal", "account": name})
    return out


class Hub:
    """Fan-out of events to every connected page; a page too slow to keep up loses old events."""

    def __init__(self, maxsize: int = 256) -> None:
        self._queues: set[asyncio.Queue[str]] = set()
        self._maxsize = maxsize

    @property
    def subscribers(self) -> int:
        return len(self._queues)

    def publish(self, event: dict[str, Any]) -> None:
        data = json.dumps(event)
        for q in self._queues:
            if q.full():
                q.get_nowait()
            q.put_nowait(data)

    def close(self) -> None:
        """Tell every open stream to end (server shutdown): an empty message is the end."""
        for q in self._queues:
            if q.full():
                q.get_nowait()
            q.put_nowait("")

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[str]]:
        q: asyncio.Queue[str] = asyncio.Queue(self._maxsize)
        self._queues.add(q)
        try:
            yield q
        finally:
            self._queues.discard(q)


async def watch(cfg: FleetConfig, hub: Hub, poll_s: float = 0.2) -> None:
    """Publish every change until cancelled."""
    loop = asyncio.get_running_loop()
    old = await loop.run_in_executor(None, snapshot, cfg)
    while True:
        await asyncio.sleep(poll_s)
        try:
            new = await loop.run_in_executor(None, snapshot, cfg)
        except OSError as exc:  # a directory being created or pruned: look again next time
            log.debug("watch: %s", exc)
            continue
        for event in changes(old, new):
            hub.publish(event)
        old = new
