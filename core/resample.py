"""Resampling base bars into larger intervals — pure, exact (``Decimal``), complete bins only.

A target bar is built only when *every* base bar of its period is present (the original
framework appended whatever partial bin pandas produced — bug 10). Alignment is OKX's: bars up
to 4h open on UTC boundaries, 6h/12h/1d on boundaries of the candle timezone
(``Asia/Shanghai`` = OKX ``6H/12H/1D``; ``UTC`` = ``6Hutc/12Hutc/1Dutc``), see
:func:`core.intervals.floor_to_bar`.

Aggregation is OKX's: open of the first base bar, highest high, lowest low, close of the last,
every volume summed. Label = the target bar's open time. A *trade-less* base bar (OKX serves a
minute without trades as a flat bar at the previous close with volume 0) gives no open, high or
low to the larger bar unless every bar of the bin is trade-less: OKX's own 5m bar after a flat
zero-volume minute opens at the next traded price (checked against real OKX candles in
``tests/unit/test_resample_okx_real.py``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from core.bars import Bar
from core.intervals import Interval, floor_to_bar

__all__ = ["aggregate", "bins_per_bar", "complete_bar", "is_tradeless", "plain", "resample"]


def bins_per_bar(base: Interval, target: Interval) -> int:
    """How many base bars make one target bar; ValueError if ``base`` does not divide ``target``."""
    if target.seconds < base.seconds or target.seconds % base.seconds:
        raise ValueError(f"cannot build {target} bars from {base} bars: {base} must divide {target}")
    return target.seconds // base.seconds


def plain(value: Decimal) -> Decimal:
    """``value`` as OKX prints numbers: no trailing zeros, no exponent (``7.10`` -> ``7.1``,
    ``1.2E+3`` -> ``1200``). The value is unchanged; only its text in the CSV is."""
    normal = value.normalize()
    exponent = normal.as_tuple().exponent
    return normal.quantize(Decimal(1)) if isinstance(exponent, int) and exponent > 0 else normal


def _total(values: Iterable[Decimal]) -> Decimal:
    return plain(sum(values, Decimal(0)))


def is_tradeless(bar: Bar) -> bool:
    """True for OKX's representation of an interval without trades: flat, zero volume."""
    return bar.volume == 0 and bar.open == bar.high == bar.low == bar.close


def aggregate(ts: datetime, bars: Sequence[Bar]) -> Bar:
    """One bar labelled ``ts`` from ``bars`` (ascending, non-empty); trade-less bars give no
    open/high/low unless all are trade-less."""
    if not bars:
        raise ValueError("cannot aggregate zero bars")
    traded = [b for b in bars if not is_tradeless(b)] or bars
    return Bar(
        ts=ts,
        open=traded[0].open,
        high=max(b.high for b in traded),
        low=min(b.low for b in traded),
        close=bars[-1].close,
        volume=_total(b.volume for b in bars),
        volume_ccy=_total(b.volume_ccy for b in bars),
        volume_quote=_total(b.volume_quote for b in bars),
    )


def _is_complete(open_ts: datetime, group: Sequence[Bar], base: Interval, n: int) -> bool:
    if len(group) != n:
        return False
    step = base.delta
    return all(b.ts == open_ts + step * i for i, b in enumerate(group))


def _ordered(bars: Iterable[Bar]) -> list[Bar]:
    out = sorted(bars, key=lambda b: b.ts)
    for prev, cur in itertools.pairwise(out):
        if prev.ts == cur.ts:
            raise ValueError(f"duplicate base bar at {cur.ts.isoformat()}")
    return out


def complete_bar(
    bars: Iterable[Bar], base: Interval, target: Interval, tz: str, open_ts: datetime
) -> Bar | None:
    """The ``target`` bar opening at ``open_ts`` built from ``bars``, or None if any base bar
    of it is missing. Bars outside the target period are ignored."""
    n = bins_per_bar(base, target)
    if floor_to_bar(open_ts, target, tz) != open_ts:
        raise ValueError(f"{open_ts.isoformat()} is not a {target} bar open ({tz})")
    end = open_ts + target.delta
    group = [b for b in _ordered(bars) if open_ts <= b.ts < end]
    return aggregate(open_ts, group) if _is_complete(open_ts, group, base, n) else None


def resample(bars: Iterable[Bar], base: Interval, target: Interval, tz: str) -> list[Bar]:
    """Every complete ``target`` bar that ``bars`` (base bars, any order, no duplicates) cover,
    ascending. Partial bins — at either end or around a hole — are left out."""
    n = bins_per_bar(base, target)
    out: list[Bar] = []
    group: list[Bar] = []
    current: datetime | None = None
    for bar in _ordered(bars):
        if floor_to_bar(bar.ts, base, tz) != bar.ts:
            raise ValueError(f"base bar {bar.ts.isoformat()} is not aligned to {base}")
        opened = floor_to_bar(bar.ts, target, tz)
        if opened != current:
            if current is not None and _is_complete(current, group, base, n):
                out.append(aggregate(current, group))
            current, group = opened, []
        group.append(bar)
    if current is not None and _is_complete(current, group, base, n):
        out.append(aggregate(current, group))
    return out
