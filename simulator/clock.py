"""The simulator's single clock (virtual epoch milliseconds, UTC).

``running``: virtual = anchor + (wall - wall_at_anchor) * speed; ``frozen``: virtual = anchor.
By default it follows the wall clock. This module is the only place that reads wall time for
simulated time (rate limits use a monotonic clock of their own).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

__all__ = ["SimClock", "iso_ms", "parse_anchor", "parse_time_ms"]


def parse_anchor(spec: str) -> tuple[int, int, float]:
    """``WALL_MS:VIRTUAL_MS:SPEED`` (the ``OKXFLEET_CLOCK`` format shared by every okxfleet process)."""
    parts = spec.strip().split(":")
    try:
        wall, virtual, speed = int(parts[0]), int(parts[1]), float(parts[2])
        if len(parts) != 3 or speed <= 0:
            raise ValueError
    except (ValueError, IndexError):
        raise ValueError(f"clock anchor must be WALL_MS:VIRTUAL_MS:SPEED, got {spec!r}") from None
    return wall, virtual, speed


def iso_ms(ms: int) -> str:
    """Epoch ms as ISO 8601 UTC with milliseconds and ``Z`` (OKX's timestamp format)."""
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_time_ms(value: str | int | float) -> int:
    """Epoch ms from an int/float or a string: digits (epoch ms) or ISO 8601 (naive = UTC)."""
    if isinstance(value, int | float):
        return int(value)
    text = value.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


class SimClock:
    """Virtual clock; thread-compatible for reads, mutated only on the server loop."""

    def __init__(
        self,
        start_ms: int | None = None,
        *,
        speed: float = 1.0,
        frozen: bool = False,
        wall: Callable[[], float] = time.time,
        anchor_wall_ms: int | None = None,
    ) -> None:
        self._wall = wall
        # A shared wall anchor lets other processes compute the same virtual time (OKXFLEET_CLOCK).
        self._anchor_wall = wall() if anchor_wall_ms is None else anchor_wall_ms / 1000
        self._anchor = int(self._anchor_wall * 1000) if start_ms is None else int(start_ms)
        self.speed = float(speed)
        self.frozen = frozen

    def now_ms(self) -> int:
        if self.frozen:
            return self._anchor
        elapsed = (self._wall() - self._anchor_wall) * 1000 * self.speed
        return self._anchor + int(elapsed)

    def set(self, ms: int) -> None:
        """Jump to ``ms`` (keeps the mode and speed)."""
        self._anchor = int(ms)
        self._anchor_wall = self._wall()

    def advance(self, ms: int) -> None:
        self.set(self.now_ms() + int(ms))

    def freeze(self) -> None:
        self.set(self.now_ms())
        self.frozen = True

    def run(self, speed: float | None = None) -> None:
        self.set(self.now_ms())
        self.frozen = False
        if speed is not None:
            self.speed = float(speed)

    def set_speed(self, speed: float) -> None:
        self.set(self.now_ms())
        self.speed = float(speed)

    def state(self) -> dict[str, Any]:
        now = self.now_ms()
        return {
            "now_ms": now,
            "iso": iso_ms(now),
            "mode": "frozen" if self.frozen else "running",
            "speed": self.speed,
        }
