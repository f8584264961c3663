"""The per-account bar lock: a trader holds it for each bar's cycle, the treasury for each transfer.

An advisory ``flock`` on ``<data_dir>/locks/<account>.lock``. It coordinates processes on one host
(the treasury moves an account's capital only while that account's trader is between bars, and a
trader never starts a cycle in the middle of a transfer). The kernel releases it when the holder
dies, so a crash never leaves an account locked. Two ``BarLock`` objects on the same path exclude
each other even inside one process (each has its own open file). Waiting sleeps on the injected
clock in short slices — never spins.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.clock import Clock

__all__ = ["BarLock", "LockTimeout", "lock_path"]

POLL_S = 0.05


class LockTimeout(Exception):
    """The lock was not free within the time allowed."""


def lock_path(data_dir: Path, account: str) -> Path:
    return Path(data_dir) / "locks" / f"{account}.lock"


class BarLock:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lock if it is free; False if another holder has it."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this object")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def acquire(
        self, clock: Clock, timeout_s: float | None = None, stop: threading.Event | None = None
    ) -> bool:
        """Wait (sleeping) for the lock; False on timeout or stop."""
        waited = 0.0
        while not self.try_acquire():
            if (timeout_s is not None and waited >= timeout_s) or not clock.sleep(POLL_S, stop):
                return False
            waited += POLL_S
        return True

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    @contextmanager
    def hold(
        self, clock: Clock, timeout_s: float | None = None, stop: threading.Event | None = None
    ) -> Iterator[None]:
        """``with lock.hold(clock, 30):`` — raises :class:`LockTimeout` if not free in time."""
        if not self.acquire(clock, timeout_s, stop):
            raise LockTimeout(f"{self.path.name}: still locked after {timeout_s} s")
        try:
            yield
        finally:
            self.release()
