"""The only place that reads the wall clock.

Every service takes a :class:`Clock`; tests hand it a :class:`FakeClock`. All datetimes are
timezone-aware UTC. ``sleep_until`` waits on an event so a stop request interrupts it at once —
nothing here busy-waits.

A :class:`ScaledClock` runs virtual time faster than the wall clock (``speed`` x) from a shared
anchor, so a simulator and every process of a demo or an end-to-end test agree on "now" without
talking to each other: they all read the anchor from ``OKXFLEET_CLOCK`` (see :func:`clock_from_env`).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = [
    "CLOCK_ENV",
    "Clock",
    "FakeClock",
    "ScaledClock",
    "SystemClock",
    "clock_from_env",
    "from_ms",
    "parse_clock_spec",
    "to_ms",
]

CLOCK_ENV = "OKXFLEET_CLOCK"


def to_ms(ts: datetime) -> int:
    """Epoch milliseconds of an aware datetime."""
    if ts.tzinfo is None:
        raise ValueError(f"naive datetime {ts!r}: okxfleet only handles aware datetimes")
    return round(ts.timestamp() * 1000)


def from_ms(ms: int | str) -> datetime:
    """Aware UTC datetime from epoch milliseconds (int or OKX's string)."""
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC)


class Clock(Protocol):
    """What services need from time."""

    def now(self) -> datetime:
        """Current time, aware, UTC."""
        ...

    def sleep_until(self, deadline: datetime, stop: threading.Event | None = None) -> bool:
        """Sleep until ``deadline``; return False if ``stop`` was set first."""
        ...

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        """Sleep ``seconds`` of this clock's time; return False if ``stop`` was set first."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        if seconds <= 0:
            return not (stop is not None and stop.is_set())
        if stop is None:
            time.sleep(seconds)
            return True
        return not stop.wait(seconds)

    def sleep_until(self, deadline: datetime, stop: threading.Event | None = None) -> bool:
        # Wake in slices so a wall-clock jump (NTP) does not oversleep by much.
        while True:
            remaining = (deadline - self.now()).total_seconds()
            if remaining <= 0:
                return not (stop is not None and stop.is_set())
            if not self.sleep(min(remaining, 60.0), stop):
                return False


@dataclass(frozen=True)
class ScaledClock:
    """Virtual time = ``virtual_anchor + (wall - wall_anchor) * speed``."""

    wall_anchor: datetime
    virtual_anchor: datetime
    speed: float = 1.0

    def __post_init__(self) -> None:
        if self.speed <= 0:
            raise ValueError(f"clock speed must be > 0, got {self.speed}")

    def now(self) -> datetime:
        wall = datetime.now(UTC)
        return self.virtual_anchor + (wall - self.wall_anchor) * self.speed

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        return SystemClock().sleep(seconds / self.speed, stop)

    def sleep_until(self, deadline: datetime, stop: threading.Event | None = None) -> bool:
        while True:
            remaining = (deadline - self.now()).total_seconds()
            if remaining <= 0:
                return not (stop is not None and stop.is_set())
            if not self.sleep(min(remaining, 60.0 * self.speed), stop):
                return False

    def spec(self) -> str:
        """The ``OKXFLEET_CLOCK`` value that reproduces this clock in another process."""
        return f"{to_ms(self.wall_anchor)}:{to_ms(self.virtual_anchor)}:{self.speed:g}"


class FakeClock:
    """A clock that moves only when told to (or when something sleeps on it).

    ``sleep``/``sleep_until`` advance the fake time instantly, so code that waits for a
    deadline runs at full speed under test. Thread-safe.
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware start time")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, ts: datetime) -> None:
        if ts.tzinfo is None:
            raise ValueError("FakeClock.set needs an aware time")
        with self._lock:
            self._now = ts.astimezone(UTC)

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        if stop is not None and stop.is_set():
            return False
        self.sleeps.append(seconds)
        if seconds > 0:
            self.advance(seconds)
        return True

    def sleep_until(self, deadline: datetime, stop: threading.Event | None = None) -> bool:
        return self.sleep(max(0.0, (deadline - self.now()).total_seconds()), stop)


def parse_clock_spec(spec: str) -> ScaledClock:
    """Parse ``WALL_MS:VIRTUAL_MS:SPEED`` (the format of ``OKXFLEET_CLOCK``)."""
    parts = spec.strip().split(":")
    if len(parts) != 3:
        raise ValueError(f"{CLOCK_ENV} must be WALL_MS:VIRTUAL_MS:SPEED, got {spec!r}")
    try:
        wall, virtual, speed = int(parts[0]), int(parts[1]), float(parts[2])
    except ValueError as exc:
        raise ValueError(f"{CLOCK_ENV} must be WALL_MS:VIRTUAL_MS:SPEED, got {spec!r}") from exc
    return ScaledClock(from_ms(wall), from_ms(virtual), speed)


def clock_from_env(environ: dict[str, str] | None = None) -> Clock:
    """The process clock: a :class:`ScaledClock` if ``OKXFLEET_CLOCK`` is set, else the system clock."""
    env = os.environ if environ is None else environ
    spec = env.get(CLOCK_ENV, "").strip()
    return parse_clock_spec(spec) if spec else SystemClock()
