"""What is wrong, as pure functions of what was read and ``now`` (no I/O here).

Every check returns a :class:`Flag`: ``ok``, ``warn`` or ``bad`` with a one-line reason. The pages
paint ``bad`` red; a row's level is the worst of its flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.intervals import Interval
from core.markers import Marker

__all__ = ["LAG_WARN_S", "Flag", "collector_flags", "duration", "grace_for", "trader_flags", "worst"]

LAG_WARN_S = 10.0  # close-to-ready lag above this is worth a look
_LEVELS = {"ok": 0, "warn": 1, "bad": 2}


@dataclass(frozen=True)
class Flag:
    level: str  # ok | warn | bad
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"level": self.level, "reason": self.reason}


def worst(flags: list[Flag]) -> str:
    return max((f.level for f in flags), key=_LEVELS.__getitem__, default="ok")


def _age(now: datetime, then: datetime) -> float:
    return (now - then).total_seconds()


def duration(seconds: float) -> str:
    """``42s``, ``3.5m``, ``2.1h``, ``4.0d``."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if abs(seconds) >= 1.5 * size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def collector_flags(marker: Marker | None, interval: Interval, now: datetime, grace_s: float) -> list[Flag]:
    """A missing or late marker, failed instruments, a slow close-to-ready lag."""
    if marker is None:
        return [Flag("bad", f"no {interval.name} marker yet")]
    flags: list[Flag] = []
    overdue = _age(now, marker.bar_close) - interval.seconds
    if overdue > grace_s:
        flags.append(Flag("bad", f"next {interval.name} marker is {duration(overdue)} late"))
    failed = sorted(k for k, v in marker.instruments.items() if not v.ok)
    if failed:
        flags.append(Flag("bad", "failed: " + ", ".join(failed)))
    lag = _age(marker.created_at, marker.bar_close)
    if lag > LAG_WARN_S:
        flags.append(Flag("warn", f"close-to-ready lag {lag:.1f}s"))
    return flags or [Flag("ok", "")]


def trader_flags(
    last_cycle: dict[str, Any] | None,
    interval: Interval,
    now: datetime,
    grace_s: float,
    open_orders: list[dict[str, Any]],
    last_error: dict[str, Any] | None,
) -> list[Flag]:
    """No cycle yet, a skipped/failed/stuck last cycle, a stale trader, orders of unknown outcome."""
    flags: list[Flag] = []
    if last_cycle is None:
        return [Flag("warn", "no cycle yet")]
    status = last_cycle["status"]
    if status in ("skipped", "failed"):
        flags.append(Flag("bad", f"last cycle {status}: {last_cycle.get('reason') or '?'}"))
    bar_close = datetime.fromisoformat(last_cycle["bar_close"])
    overdue = _age(now, bar_close) - interval.seconds
    if overdue > grace_s:
        flags.append(Flag("bad", f"no cycle for {duration(overdue + interval.seconds)} (trader down?)"))
    elif status not in ("done", "skipped", "failed") and _age(now, bar_close) > grace_s:
        flags.append(Flag("bad", f"cycle {last_cycle['bar_close']} stuck in {status}"))
    unknown = [o for o in open_orders if o["status"] == "unknown"]
    if unknown:
        flags.append(Flag("bad", f"{len(unknown)} order(s) of unknown outcome"))
    if last_error is not None and _age(now, datetime.fromisoformat(last_error["at"])) < 2 * interval.seconds:
        flags.append(Flag("warn", str(last_error["message"])))
    return flags or [Flag("ok", "")]


def grace_for(interval: Interval, deadline_s: float) -> float:
    """How long after a bar's expected end something may still arrive before it counts as late."""
    return max(deadline_s, timedelta(seconds=interval.seconds * 0.5).total_seconds()) + 5.0
