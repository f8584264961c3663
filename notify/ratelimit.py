"""A sliding-window rate limiter per DingTalk robot (20 posts per rolling minute).

DingTalk mutes a robot for 10 minutes when it receives more than 20 messages in a minute, and
the collector and every trader may share one robot. So the window can live in a small JSON file
(``<data_dir>/notify/dingtalk-<robot id>.json``) guarded by ``flock``, shared by every process of
the fleet; without a directory it lives in memory. Times come from the caller (``now``), so the
limiter is pure logic over a store and is tested with a fake clock.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Protocol, TypeVar

try:  # POSIX only; elsewhere the file store degrades to a per-process lock
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "MAX_HOLD_S",
    "FileWindowStore",
    "MemoryWindowStore",
    "SlidingWindowLimiter",
    "WindowState",
    "WindowStore",
]

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_HOLD_S = 3600  # DingTalk's "too fast" pause is 10 min at most; beyond an hour it is not one


@dataclass
class WindowState:
    """Epoch seconds of recent posts, and a pause (after DingTalk said "too fast")."""

    posts: list[float] = field(default_factory=list)
    hold_until: float = 0.0


class WindowStore(Protocol):
    def update(self, fn: Callable[[WindowState], T]) -> T:
        """Run ``fn`` on the state under a lock and keep what it changed."""
        ...


class MemoryWindowStore:
    """The window in this process only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = WindowState()

    def update(self, fn: Callable[[WindowState], T]) -> T:
        with self._lock:
            return fn(self._state)


class FileWindowStore:
    """The window in a JSON file shared by every process (``flock``-ed while in use)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[IO[str]]:
        with self._lock:
            if not self.path.exists():  # removed under us (a clean-up of data/): start a fresh window
                log.warning("rate-limit file %s disappeared; recreating it", self.path)
                self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            with open(fd, "r+", encoding="utf-8") as fh:
                if fcntl is not None:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
                try:
                    yield fh
                finally:
                    if fcntl is not None:
                        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def update(self, fn: Callable[[WindowState], T]) -> T:
        with self._locked() as fh:
            raw = fh.read()
            try:
                data = json.loads(raw) if raw.strip() else {}
                state = WindowState(
                    posts=[float(x) for x in data.get("posts", [])],
                    hold_until=float(data.get("hold_until", 0.0)),
                )
            except (ValueError, TypeError, AttributeError):
                log.warning("rate-limit file %s is unreadable; starting a fresh window", self.path)
                state = WindowState()
            result = fn(state)
            fh.seek(0)
            fh.truncate()
            fh.write(json.dumps({"posts": state.posts, "hold_until": state.hold_until}))
            fh.flush()
            return result


class SlidingWindowLimiter:
    """At most ``max_events`` acquisitions in any ``window_s`` seconds (plus an optional pause)."""

    def __init__(self, max_events: int, window_s: float = 60.0, store: WindowStore | None = None) -> None:
        if max_events < 1:
            raise ValueError(f"max_events must be >= 1, got {max_events}")
        if window_s <= 0:
            raise ValueError(f"window_s must be > 0, got {window_s}")
        self.max_events = max_events
        self.window_s = window_s
        self.store: WindowStore = store if store is not None else MemoryWindowStore()

    def _prune(self, state: WindowState, t: float) -> None:
        state.posts = sorted(p for p in state.posts if t - self.window_s < p <= t + self.window_s)
        if state.hold_until > t + MAX_HOLD_S:
            # Written under a wrong clock (or by hand): honouring it would silence the robot for good.
            log.warning(
                "DingTalk pause until %.0f is %.0f s away (more than %d s): ignoring it",
                state.hold_until, state.hold_until - t, MAX_HOLD_S,
            )  # fmt: skip
            state.hold_until = 0.0

    def _in_window(self, state: WindowState, t: float) -> list[float]:
        self._prune(state, t)
        return [p for p in state.posts if p > t - self.window_s]

    def remaining(self, now: datetime) -> int:
        """Acquisitions still allowed at ``now`` (0 while paused)."""
        t = now.timestamp()

        def fn(state: WindowState) -> int:
            posts = self._in_window(state, t)
            if t < state.hold_until:
                return 0
            return max(0, self.max_events - len(posts))

        return self.store.update(fn)

    def wait_s(self, now: datetime) -> float:
        """Seconds until an acquisition is allowed (0.0 if it is now)."""
        t = now.timestamp()

        def fn(state: WindowState) -> float:
            posts = self._in_window(state, t)
            wait = max(0.0, state.hold_until - t)
            if len(posts) >= self.max_events:
                # the slot frees when enough of the oldest posts leave the window
                oldest = posts[len(posts) - self.max_events]
                wait = max(wait, oldest + self.window_s - t)
            return wait

        return self.store.update(fn)

    def try_acquire(self, now: datetime) -> bool:
        """Take a slot at ``now`` if one is free."""
        t = now.timestamp()

        def fn(state: WindowState) -> bool:
            if len(self._in_window(state, t)) >= self.max_events or t < state.hold_until:
                return False
            state.posts.append(t)
            return True

        return self.store.update(fn)

    def hold(self, until: datetime) -> None:
        """Refuse every acquisition until ``until`` (DingTalk said we were too fast)."""
        t = until.timestamp()

        def fn(state: WindowState) -> None:
            state.hold_until = max(state.hold_until, t)

        self.store.update(fn)
