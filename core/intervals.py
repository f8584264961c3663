"""Intervals and OKX bar alignment — pure functions, ``now`` is always an argument.

Config and file names spell intervals as ``1m 3m 5m 15m 30m 1h 2h 4h 6h 12h 1d``. Bars up to 4h
open on UTC boundaries (8 h is a multiple of 4 h, so they coincide with UTC+8 boundaries too).
Bars of 6h, 12h and 1d open on boundaries of the *candle timezone*: ``Asia/Shanghai`` (UTC+8, what
OKX's ``6H/12H/1D`` bars use: a 1d bar opens at 16:00 UTC) or ``UTC`` (OKX's ``6Hutc/12Hutc/1Dutc``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "CANDLE_TIMEZONES",
    "INTERVALS",
    "Interval",
    "bar_closes_at",
    "bar_open_times",
    "check_timezone",
    "floor_to_bar",
    "next_close",
    "okx_bar",
    "parse_interval",
    "tz_offset",
]

_SECONDS = {
    "1m": 60,
    "3m": 180,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "2h": 7200,
    "4h": 14400,
    "6h": 21600,
    "12h": 43200,
    "1d": 86400,
}
INTERVALS: tuple[str, ...] = tuple(_SECONDS)
CANDLE_TIMEZONES: tuple[str, ...] = ("Asia/Shanghai", "UTC")
_TZ_ALIGNED_FROM = 6 * 3600  # 6h and longer follow the candle timezone


@dataclass(frozen=True, order=True)
class Interval:
    """A configured bar length, e.g. ``Interval("1h")``."""

    seconds: int
    name: str

    @property
    def delta(self) -> timedelta:
        return timedelta(seconds=self.seconds)

    @property
    def follows_timezone(self) -> bool:
        """True for 6h, 12h and 1d: their boundaries depend on the candle timezone."""
        return self.seconds >= _TZ_ALIGNED_FROM

    def __str__(self) -> str:
        return self.name


def parse_interval(text: str) -> Interval:
    """``"15m"`` -> Interval. Raises ValueError naming the accepted spellings."""
    if text not in _SECONDS:
        raise ValueError(f"unknown interval {text!r}; use one of {', '.join(INTERVALS)}")
    return Interval(_SECONDS[text], text)


def check_timezone(tz: str) -> str:
    if tz not in CANDLE_TIMEZONES:
        raise ValueError(f"unknown candle timezone {tz!r}; use one of {', '.join(CANDLE_TIMEZONES)}")
    return tz


def tz_offset(tz: str) -> timedelta:
    """UTC offset of a candle timezone (both allowed zones have no DST)."""
    offset = datetime(2020, 1, 1, tzinfo=ZoneInfo(check_timezone(tz))).utcoffset()
    assert offset is not None
    return offset


def okx_bar(interval: Interval | str, tz: str = "Asia/Shanghai") -> str:
    """OKX ``bar`` parameter: ``1h``->``1H``, ``1d``->``1D`` (UTC+8) or ``1Dutc`` (UTC)."""
    iv = parse_interval(interval) if isinstance(interval, str) else interval
    check_timezone(tz)
    if iv.name.endswith("m"):
        return iv.name
    code = iv.name[:-1] + iv.name[-1].upper()
    if iv.follows_timezone and tz == "UTC":
        code += "utc"
    return code


def _anchor_offset_s(iv: Interval, tz: str) -> int:
    return int(tz_offset(tz).total_seconds()) if iv.follows_timezone else 0


def _require_aware(ts: datetime) -> None:
    if ts.tzinfo is None:
        raise ValueError(f"naive datetime {ts!r}: pass an aware datetime")


def floor_to_bar(ts: datetime, interval: Interval | str, tz: str = "Asia/Shanghai") -> datetime:
    """Open time (UTC) of the bar of ``interval`` that contains ``ts``."""
    _require_aware(ts)
    iv = parse_interval(interval) if isinstance(interval, str) else interval
    offset = _anchor_offset_s(iv, tz)
    epoch_s = int(ts.timestamp() // 1)
    opened = ((epoch_s + offset) // iv.seconds) * iv.seconds - offset
    return datetime.fromtimestamp(opened, tz=UTC)


def next_close(now: datetime, interval: Interval | str, tz: str = "Asia/Shanghai") -> datetime:
    """Close time of the bar in progress at ``now`` (strictly after ``now``)."""
    iv = parse_interval(interval) if isinstance(interval, str) else interval
    return floor_to_bar(now, iv, tz) + iv.delta


def bar_closes_at(close: datetime, interval: Interval | str, tz: str = "Asia/Shanghai") -> bool:
    """True if a bar of ``interval`` closes exactly at ``close``."""
    iv = parse_interval(interval) if isinstance(interval, str) else interval
    return floor_to_bar(close, iv, tz) == close and close.microsecond == 0


def bar_open_times(
    start: datetime, end: datetime, interval: Interval | str, tz: str = "Asia/Shanghai"
) -> list[datetime]:
    """Open times of every bar that opens in ``[start, end)``, aligned, ascending."""
    iv = parse_interval(interval) if isinstance(interval, str) else interval
    first = floor_to_bar(start, iv, tz)
    if first < start:
        first += iv.delta
    out: list[datetime] = []
    t = first
    while t < end:
        out.append(t)
        t += iv.delta
    return out


def utc(ts: datetime) -> datetime:
    """Convenience: convert an aware datetime to UTC."""
    _require_aware(ts)
    return ts.astimezone(UTC)
