"""OKX bar codes, bar alignment and page selection — pure functions of epoch milliseconds.

Alignment (own implementation, independent of ``core``):

- ``1s`` … ``4H``: fixed sizes on UTC epoch boundaries (identical in UTC+8, since 8 h is a multiple
  of 4 h).
- ``6H 12H 1D 2D 3D 1W 1M 3M``: UTC+8 (Hong Kong) boundaries, so ``1D`` opens at 16:00 UTC.
- ``6Hutc … 3Mutc``: the same on UTC boundaries.
- Weeks open on Monday 00:00 local time; ``2D``/``3D`` count whole days from 1970-01-01 local time
  (OKX does not document either; these are the simulator's choices). Months are calendar months,
  ``3M`` calendar quarters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = [
    "BARS",
    "BarSpec",
    "bar_open",
    "next_open",
    "page_opens",
    "parse_bar",
    "prev_open",
    "step_back",
]

_S = 1000
_M = 60 * _S
_H = 60 * _M
_D = 24 * _H
_HK = 8 * _H
_MONDAY = 4 * _D  # 1970-01-05 was a Monday


@dataclass(frozen=True)
class BarSpec:
    """One OKX bar code."""

    code: str
    size_ms: int  # 0 for calendar months
    months: int  # 0 for fixed sizes
    offset_ms: int  # time-zone offset of the boundaries (0 = UTC, 8 h = Hong Kong)
    anchor_ms: int = 0  # extra anchor (weeks start on Monday)
    history_only: bool = False

    @property
    def is_calendar(self) -> bool:
        return self.months > 0


def _specs() -> dict[str, BarSpec]:
    out = {"1s": BarSpec("1s", _S, 0, 0, history_only=True)}
    for code, size in [("1m", _M), ("3m", 3 * _M), ("5m", 5 * _M), ("15m", 15 * _M),
                       ("30m", 30 * _M), ("1H", _H), ("2H", 2 * _H), ("4H", 4 * _H)]:
        out[code] = BarSpec(code, size, 0, 0)
    for suffix, off in [("", _HK), ("utc", 0)]:
        for code, size in [("6H", 6 * _H), ("12H", 12 * _H), ("1D", _D), ("2D", 2 * _D),
                           ("3D", 3 * _D)]:
            out[code + suffix] = BarSpec(code + suffix, size, 0, off)
        out["1W" + suffix] = BarSpec("1W" + suffix, 7 * _D, 0, off, anchor_ms=_MONDAY)
        out["1M" + suffix] = BarSpec("1M" + suffix, 0, 1, off)
        out["3M" + suffix] = BarSpec("3M" + suffix, 0, 3, off)
    return out


BARS: dict[str, BarSpec] = _specs()


def parse_bar(code: str, *, history: bool) -> BarSpec | None:
    """The spec of ``code`` (case-sensitive, as OKX), or None if the endpoint does not serve it."""
    spec = BARS.get(code)
    if spec is None or (spec.history_only and not history):
        return None
    return spec


def _month_index(ts: int, offset: int) -> int:
    local = datetime.fromtimestamp((ts + offset) / 1000, tz=UTC)
    return local.year * 12 + local.month - 1


def _month_start(index: int, offset: int) -> int:
    year, month0 = divmod(index, 12)
    start = datetime(year, month0 + 1, 1, tzinfo=UTC)
    return int(start.timestamp() * 1000) - offset


def bar_open(ts: int, spec: BarSpec) -> int:
    """Open time of the bar that contains ``ts``."""
    if spec.is_calendar:
        index = _month_index(ts, spec.offset_ms)
        return _month_start(index - index % spec.months, spec.offset_ms)
    shift = spec.offset_ms - spec.anchor_ms
    return (ts + shift) // spec.size_ms * spec.size_ms - shift


def next_open(open_ms: int, spec: BarSpec) -> int:
    """Open time of the bar after the one opening at ``open_ms`` (its close time)."""
    if spec.is_calendar:
        return _month_start(_month_index(open_ms, spec.offset_ms) + spec.months, spec.offset_ms)
    return open_ms + spec.size_ms


def prev_open(open_ms: int, spec: BarSpec) -> int:
    """Open time of the bar before the one opening at ``open_ms``."""
    if spec.is_calendar:
        return _month_start(_month_index(open_ms, spec.offset_ms) - spec.months, spec.offset_ms)
    return open_ms - spec.size_ms


def step_back(open_ms: int, spec: BarSpec, n: int) -> int:
    """Open time ``n`` bars before ``open_ms``."""
    if spec.is_calendar:
        index = _month_index(open_ms, spec.offset_ms) - n * spec.months
        return _month_start(index, spec.offset_ms)
    return open_ms - n * spec.size_ms


def page_opens(
    spec: BarSpec,
    now_ms: int,
    *,
    after: int | None,
    before: int | None,
    limit: int,
    oldest_ms: int,
) -> list[int]:
    """Bar open times of one page, newest first, with OKX's ``after``/``before`` semantics.

    ``after``: only bars opening strictly before it; ``before``: only bars opening strictly after
    it (alone it still returns the latest page). The newest bar is the one forming at ``now_ms``
    (bars never open in the future) and nothing opens before ``oldest_ms``.
    """
    newest = bar_open(now_ms, spec)
    start = newest if after is None else min(newest, bar_open(after - 1, spec))
    floor = max(oldest_ms, (before + 1) if before is not None else oldest_ms)
    out: list[int] = []
    current = start
    if spec.is_calendar:
        while len(out) < limit and current >= floor:
            out.append(current)
            current = prev_open(current, spec)
        return out
    if start < floor:
        return []
    count = min(limit, (start - floor) // spec.size_ms + 1)
    return [start - i * spec.size_ms for i in range(count)]
