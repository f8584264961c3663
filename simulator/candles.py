"""Candle rows: 1m bars aggregated into any OKX bar, formatted as OKX's 9-string rows.

A bar is exactly the aggregation of its 1m bars (open of the first, max high, min low, close of the
last, volumes summed), where, as on OKX, a trade-less minute (volume 0) gives no open, high or low
unless the whole bar had no trade; a forming bar aggregates the complete minutes so far plus the forming
minute up to the current second. Closed bars are cached per (instrument, bar, open) and the cache of
a coin is dropped whenever its price is overridden.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

import numpy as np

from simulator.bars import BarSpec, next_open
from simulator.candle_edits import CandleEdits
from simulator.catalogue import Instrument
from simulator.feed import QUOTE_UNIT, MarketFeed, Row
from simulator.prices import MINUTE_MS

__all__ = ["CandleService", "fmt_units"]

_CACHE_MAX = 100_000  # formatted closed rows (~70 MB at most); cleared when full


@lru_cache(maxsize=256)
def _unit(unit: Decimal) -> tuple[int, int]:
    """``unit`` as (integer multiplier, decimal places): 0.01 -> (1, 2), 1000 -> (1000, 0)."""
    sign, digits, exponent = unit.normalize().as_tuple()
    assert isinstance(exponent, int)
    assert not sign
    mult = int("".join(map(str, digits)))
    if exponent >= 0:
        return mult * 10**exponent, 0
    return mult, -exponent


def fmt_units(n: int, unit: Decimal) -> str:
    """``n * unit`` as OKX prints numbers: plain decimal, no exponent, no trailing zeros."""
    mult, places = _unit(unit)
    value = n * mult
    if not places:
        return str(value)
    digits = str(abs(value)).rjust(places + 1, "0")
    frac = digits[-places:].rstrip("0")
    text = digits[:-places] + ("." + frac if frac else "")
    return "-" + text if value < 0 else text


def _merge(a: Row | None, b: Row, *, a_traded: bool, b_traded: bool) -> Row:
    """``a`` (earlier minutes) followed by ``b``; a side without trades gives no open/high/low."""
    if a is None:
        return b
    if not b_traded:
        return (a[0], a[1], a[2], b[3], a[4] + b[4], a[5] + b[5])
    if not a_traded:
        return (b[0], b[1], b[2], b[3], a[4] + b[4], a[5] + b[5])
    return (a[0], max(a[1], b[1]), min(a[2], b[2]), b[3], a[4] + b[4], a[5] + b[5])


class CandleService:
    """Builds candle pages for a :class:`MarketFeed`."""

    def __init__(self, feed: MarketFeed) -> None:
        self.feed = feed
        self.edits = CandleEdits()  # test control: hidden or changed rows
        self._cache: dict[tuple[str, str, int, int], list[str]] = {}

    def clear(self) -> None:
        self._cache.clear()

    def _key(self, inst: Instrument, spec: BarSpec, open_ms: int) -> tuple[str, str, int, int]:
        return (inst.inst_id, spec.code, open_ms, self.feed.version(inst))

    def _second_row(self, inst: Instrument, open_ms: int) -> Row:
        k, off = divmod(open_ms, MINUTE_MS)
        return self.feed.partial(inst, k, off, off + 1000)

    def _bars(self, inst: Instrument, spans: list[tuple[int, int]], now: int) -> list[Row]:
        """Rows for ascending, contiguous minute-aligned spans ``[start, end)`` (end may be > now)."""
        now_s = now // 1000 * 1000
        k_now, off_now = divmod(now_s, MINUTE_MS)
        first_k = spans[0][0] // MINUTE_MS
        last_k = min(spans[-1][1] // MINUTE_MS, k_now)
        table = self.feed.minutes(inst, first_k, max(first_k, last_k))
        out: list[Row] = []
        for start, end in spans:
            a = start // MINUTE_MS - first_k
            b = min(end // MINUTE_MS, k_now) - first_k
            row: Row | None = None
            traded = False
            if b > a:
                vols = table.vol[a:b]
                live = vols > 0  # minutes with trades
                traded = bool(live.any())
                sel = live if traded else np.ones(b - a, dtype=np.bool_)
                row = (
                    int(table.open[a + int(np.argmax(sel))]),
                    int(table.high[a:b][sel].max()),
                    int(table.low[a:b][sel].min()),
                    int(table.close[b - 1]),
                    int(np.sum(vols)),
                    int(np.sum(table.vcq[a:b])),
                )
            if end > now_s:
                part = self.feed.partial(inst, k_now, 0, off_now)
                row = _merge(row, part, a_traded=traded, b_traded=not self.feed.tradeless(inst, k_now))
            assert row is not None
            out.append(row)
        return out

    def rows(
        self, inst: Instrument, spec: BarSpec, opens: list[int], now: int
    ) -> list[list[str]]:
        """OKX rows for ``opens`` (newest first): ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm."""
        if not opens:
            return []
        ends = {o: next_open(o, spec) for o in opens}
        result: dict[int, list[str]] = {}
        missing: list[int] = []
        for o in opens:
            cached = self._cache.get(self._key(inst, spec, o)) if ends[o] <= now else None
            if cached is None:
                missing.append(o)
            else:
                result[o] = cached
        if missing:
            missing.sort()
            if spec.size_ms and spec.size_ms < MINUTE_MS:
                rows = [self._second_row(inst, o) for o in missing]
            else:
                rows = self._bars(inst, [(o, ends[o]) for o in missing], now)
            if len(self._cache) > _CACHE_MAX:
                self._cache.clear()
            for o, row in zip(missing, rows, strict=True):
                closed = ends[o] <= now
                result[o] = self._format(inst, o, row, closed)
                if closed:
                    self._cache[self._key(inst, spec, o)] = result[o]
        return self.edits.apply(inst.inst_id, spec.code, [list(result[o]) for o in opens])

    @staticmethod
    def _format(inst: Instrument, open_ms: int, row: Row, closed: bool) -> list[str]:
        tick, lot = inst.tick_sz, inst.lot_sz
        o, h, lo, c, vol, vcq = row
        swap_ccy = fmt_units(vol, lot * inst.ct_val) if inst.is_swap else ""
        vol_ccy = swap_ccy or fmt_units(vcq, QUOTE_UNIT)
        return [
            str(open_ms),
            fmt_units(o, tick),
            fmt_units(h, tick),
            fmt_units(lo, tick),
            fmt_units(c, tick),
            fmt_units(vol, lot),
            vol_ccy,
            fmt_units(vcq, QUOTE_UNIT),
            "1" if closed else "0",
        ]
