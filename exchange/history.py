"""Paging candle history: which endpoint, which ``after`` cursor, when to stop.

OKX pages backwards: ``after=T`` returns the newest bars older than ``T``. ``market/candles`` only
reaches the latest 1,440 bars (but has twice the budget and includes the forming bar);
``market/history-candles`` reaches years back. :func:`collect_range` walks back from ``end`` through
the recent endpoint while ``end`` is within its reach and it keeps returning full pages, then
continues through history, and stops once ``start`` is covered, a page is empty or the cursor stops
moving. The fetchers are injected, so the stepping is tested without a network.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from core.clock import to_ms
from exchange.records import Candle

__all__ = ["RECENT_REACH_BARS", "bar_seconds", "collect_range"]

RECENT_REACH_BARS = 1440
_UNIT_S = {"s": 1, "m": 60, "H": 3600, "D": 86400, "W": 7 * 86400}

Fetch = Callable[[datetime], list[Candle]]


def bar_seconds(bar: str) -> int | None:
    """Length of an OKX bar code in seconds (``1m`` 60, ``4H`` 14400, ``1Dutc`` 86400); None for
    calendar bars (``1M``, ``3M``) and unknown codes."""
    code = bar.removesuffix("utc")
    number, unit = code[:-1], code[-1:]
    if not number.isdigit() or unit not in _UNIT_S:
        return None
    return int(number) * _UNIT_S[unit]


def collect_range(
    *,
    recent: Fetch,
    history: Fetch,
    bar: str,
    start: datetime,
    end: datetime,
    now: datetime,
    progress: Callable[[int], None] | None = None,
    recent_page: int = 300,
    max_pages: int = 100_000,
) -> list[Candle]:
    """Every candle with ``start <= ts < end``, ascending, one per ``ts`` (confirmed wins)."""
    if end <= start:
        return []
    seconds = bar_seconds(bar)
    reach = timedelta(seconds=seconds * (RECENT_REACH_BARS - 10)) if seconds else None
    use_recent = reach is not None and now - end < reach
    start_ms = to_ms(start)
    cursor = end
    got: dict[datetime, Candle] = {}
    for _ in range(max_pages):
        page = (recent if use_recent else history)(cursor)
        if not page:
            if use_recent:
                use_recent = False
                continue
            break
        for candle in page:
            if start <= candle.ts < end:
                old = got.get(candle.ts)
                if old is None or (candle.confirmed and not old.confirmed):
                    got[candle.ts] = candle
        if progress is not None:
            progress(len(got))
        oldest = page[0].ts
        if to_ms(oldest) <= start_ms or oldest >= cursor:
            break
        cursor = oldest
        if use_recent and len(page) < recent_page:
            use_recent = False  # the recent endpoint's reach ends here
    return [got[ts] for ts in sorted(got)]
