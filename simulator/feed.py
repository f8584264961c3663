"""Per-instrument market feed: deterministic minute bars in integer units, price overrides.

Prices are kept as integer ticks and volumes as integer lots (``vol``) and hundredths of the quote
currency (``volCcyQuote``), so aggregating minutes into larger bars is exact. A price override set
through test control multiplies the coin's path (spot and swap alike) from that millisecond on.

Thin instruments (less than ``THIN_USDT_PER_MINUTE`` of volume a minute: some synthetic swaps)
have *trade-less minutes*, served as OKX serves them: flat at the previous close, volume 0. The
price path goes on underneath, so the next traded minute opens elsewhere. A trade-less minute
never follows another one (so "the previous close" is always the path's open of the minute), nor
touches a price override.
"""

from __future__ import annotations

import bisect
import logging
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from simulator.catalogue import Coin, Instrument
from simulator.prices import MINUTE_MS, PricePath, hash_u64, stable_key

__all__ = ["QUOTE_UNIT", "THIN_USDT_PER_MINUTE", "MarketFeed", "MinuteTable", "Row", "tradeless_share"]

log = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
QUOTE_UNIT = Decimal("0.01")
_SPOT_SHARE = 0.35
THIN_USDT_PER_MINUTE = 20_000.0  # below this an instrument has trade-less minutes
_THIN_SCALE = 50.0  # share of trade-less minutes = min(_THIN_MAX, _THIN_SCALE / USDT per minute)
_THIN_MAX = 0.2

# (open, high, low, close) in ticks, vol in lots, volCcyQuote in QUOTE_UNIT
Row = tuple[int, int, int, int, int, int]


@dataclass(frozen=True)
class MinuteTable:
    """Complete minutes ``k0 .. k0+len-1`` of one instrument."""

    k0: int
    open: IntArray
    high: IntArray
    low: IntArray
    close: IntArray
    vol: IntArray
    vcq: IntArray

    def __len__(self) -> int:
        return len(self.open)


@dataclass
class _Overrides:
    times: list[int] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)
    version: int = 0

    def factor(self, t: int) -> float:
        n = bisect.bisect_right(self.times, t)
        return float(np.prod(self.ratios[:n])) if n else 1.0


def tradeless_share(inst: Instrument) -> float:
    """Expected share of trade-less minutes: 0 for liquid instruments (every built-in one)."""
    share = 1.0 if inst.is_swap else _SPOT_SHARE
    usdt = inst.coin.minute_volume * share * inst.coin.base_price
    if usdt >= THIN_USDT_PER_MINUTE:
        return 0.0
    return min(_THIN_MAX, _THIN_SCALE / max(usdt, 1e-9))


class MarketFeed:
    """Deterministic market data for the catalogue (one instance per simulator state)."""

    def __init__(self, seed: int, instruments: dict[str, Instrument]) -> None:
        self.seed = seed
        self.instruments = instruments
        self._paths: dict[str, PricePath] = {}
        self._overrides: dict[str, _Overrides] = {}

    # -- paths, basis, overrides ---------------------------------------------------------
    def _path(self, coin: Coin) -> PricePath:
        path = self._paths.get(coin.ccy)
        if path is None:
            path = PricePath(self.seed, coin.ccy, coin.base_price, coin.daily_vol)
            self._paths[coin.ccy] = path
        return path

    def _ov(self, coin: Coin) -> _Overrides:
        return self._overrides.setdefault(coin.ccy, _Overrides())

    def _basis(self, inst: Instrument) -> float:
        if not inst.is_swap:
            return 1.0
        u = int(hash_u64([0], stable_key("basis", self.seed, inst.base))[0]) / 2.0**64
        return 1.0 + 0.0006 * (u - 0.5)

    def version(self, inst: Instrument) -> int:
        """Changes whenever an override of the instrument's coin changes (cache key)."""
        return self._ov(inst.coin).version

    def set_price(self, inst: Instrument, price: Decimal, t: int) -> None:
        """From ``t`` on, the coin's path is scaled so that ``inst`` trades at ``price``."""
        current = self._price_float(inst, t)
        ratio = float(price) / current
        ov = self._ov(inst.coin)
        n = bisect.bisect_left(ov.times, t)
        if n < len(ov.times) and ov.times[n] == t:
            ov.ratios[n] *= ratio
        else:
            ov.times.insert(n, t)
            ov.ratios.insert(n, ratio)
        ov.version += 1
        log.info("price override %s -> %s at %s", inst.inst_id, price, t)

    def clear_overrides(self) -> None:
        for ov in self._overrides.values():
            ov.times.clear()
            ov.ratios.clear()
            ov.version += 1

    # -- trade-less minutes ----------------------------------------------------------------
    def _tradeless(self, inst: Instrument, k0: int, k1: int) -> npt.NDArray[np.bool_]:
        """Which of the minutes ``k0..k1-1`` had no trade (never two in a row, none at an override)."""
        share = tradeless_share(inst)
        if share <= 0.0 or k1 <= k0:
            return np.zeros(max(k1 - k0, 0), dtype=np.bool_)
        u = hash_u64(np.arange(k0 - 1, k1, dtype=np.int64), stable_key("tradeless", self.seed, inst.inst_id))
        drawn = u.astype(np.float64) * (1.0 / 2.0**64) < share
        out: npt.NDArray[np.bool_] = drawn[1:] & ~drawn[:-1]
        for t in self._ov(inst.coin).times:  # no trade-less minute next to a price override
            k = t // MINUTE_MS
            for j in (k - 1, k, k + 1):
                if k0 <= j < k1:
                    out[j - k0] = False
        return out

    def tradeless(self, inst: Instrument, k: int) -> bool:
        """True if minute ``k`` had no trade."""
        return bool(self._tradeless(inst, k, k + 1)[0])

    # -- minute geometry -------------------------------------------------------------------
    def _ticks(self, inst: Instrument, prices: npt.ArrayLike) -> IntArray:
        out: IntArray = np.rint(np.asarray(prices) / float(inst.tick_sz)).astype(np.int64)
        return np.maximum(out, 1)

    def _vol_lots(self, inst: Instrument, factor: npt.ArrayLike) -> IntArray:
        share = 1.0 if inst.is_swap else _SPOT_SHARE
        per_lot = float(inst.ct_val * inst.lot_sz)
        lots = np.rint(inst.coin.minute_volume * share * np.asarray(factor) / per_lot)
        out: IntArray = np.maximum(lots, 1).astype(np.int64)
        return out

    def _vcq(self, inst: Instrument, lots: IntArray, typical_ticks: npt.ArrayLike) -> IntArray:
        base_qty = lots.astype(np.float64) * float(inst.ct_val * inst.lot_sz)
        quote = base_qty * np.asarray(typical_ticks, dtype=np.float64) * float(inst.tick_sz)
        out: IntArray = np.rint(quote / float(QUOTE_UNIT)).astype(np.int64)
        return out

    def _window(self, inst: Instrument, k: int, x0: int, x1: int) -> tuple[float, ...]:
        """(open, high, low, close, volume factor) of minute ``k`` between offsets x0..x1 ms."""
        shape = self._path(inst.coin).minutes(k, k + 1)
        o, c = float(shape.open[0]), float(shape.close[0])
        h, lo = float(shape.high[0]), float(shape.low[0])
        th, tl = int(shape.high_at[0]), int(shape.low_at[0])
        xs = [0, min(th, tl), max(th, tl), MINUTE_MS]
        ys = [o, h if th < tl else lo, lo if th < tl else h, c]
        start = k * MINUTE_MS
        ov = self._ov(inst.coin)
        cuts = [t - start for t in ov.times if start + x0 < t <= start + x1]
        bounds = [x0, *cuts, x1]
        basis = self._basis(inst)
        highs: list[float] = []
        lows: list[float] = []
        first = last = 0.0
        for i in range(len(bounds) - 1):
            a, b = bounds[i], bounds[i + 1]
            f = basis * ov.factor(start + a)
            pts = [float(np.interp(a, xs, ys)), float(np.interp(b, xs, ys))]
            pts += [y for x, y in zip(xs, ys, strict=True) if a < x < b]
            pts = [p * f for p in pts]
            if i == 0:
                first = pts[0]
            last = pts[1]
            highs.append(max(pts))
            lows.append(min(pts))
        return first, max(highs), min(lows), last, float(shape.volume_factor[0])

    def minutes(self, inst: Instrument, k0: int, k1: int) -> MinuteTable:
        """Complete minutes ``k0..k1-1`` in integer units."""
        shape = self._path(inst.coin).minutes(k0, k1)
        ov = self._ov(inst.coin)
        basis = self._basis(inst)
        f_open = np.full(max(k1 - k0, 0), basis)
        f_close = f_open
        if ov.times:
            starts = np.arange(k0, k1, dtype=np.int64) * MINUTE_MS
            times = np.asarray(ov.times, dtype=np.int64)
            cum = np.concatenate([[1.0], np.cumprod(ov.ratios)])
            f_open = basis * cum[np.searchsorted(times, starts, side="right")]
            f_close = basis * cum[np.searchsorted(times, starts + MINUTE_MS, side="right")]
        o = self._ticks(inst, shape.open * f_open)
        h = self._ticks(inst, shape.high * f_open)
        lo = self._ticks(inst, shape.low * f_open)
        c = self._ticks(inst, shape.close * f_close)
        for t in ov.times:
            k, off = divmod(t, MINUTE_MS)
            if k0 <= k < k1 and off:
                wo, wh, wl, wc, _ = self._window(inst, k, 0, MINUTE_MS)
                i = k - k0
                o[i], h[i], lo[i], c[i] = self._ticks(inst, [wo, wh, wl, wc])
        h = np.maximum(h, np.maximum(o, c))
        lo = np.minimum(lo, np.minimum(o, c))
        vol = self._vol_lots(inst, shape.volume_factor)
        vcq = self._vcq(inst, vol, (o + h + lo + c) / 4.0)
        flat = self._tradeless(inst, k0, k1)
        if flat.any():  # flat at the previous close (= this minute's open on the path), no volume
            h, lo, c = np.where(flat, o, h), np.where(flat, o, lo), np.where(flat, o, c)
            vol, vcq = np.where(flat, 0, vol), np.where(flat, 0, vcq)
        return MinuteTable(k0, o, h, lo, c, vol, vcq)

    def partial(self, inst: Instrument, k: int, x0: int, x1: int) -> Row:
        """Row of minute ``k`` restricted to offsets ``x0..x1`` ms (forming minute, 1s bars)."""
        o, h, lo, c, vf = self._window(inst, k, x0, x1)
        if self.tradeless(inst, k):
            flat = int(self._ticks(inst, [self._window(inst, k, 0, 0)[0]])[0])
            return (flat, flat, flat, flat, 0, 0)
        ticks = self._ticks(inst, [o, h, lo, c])
        full = int(self._vol_lots(inst, [vf])[0])
        vol = full * x1 // MINUTE_MS - full * x0 // MINUTE_MS
        vcq = int(self._vcq(inst, np.asarray([vol]), [float(ticks.mean())])[0])
        return (int(ticks[0]), int(ticks[1]), int(ticks[2]), int(ticks[3]), vol, vcq)

    # -- prices ------------------------------------------------------------------------------
    def _price_float(self, inst: Instrument, t: int) -> float:
        k, off = divmod(t, MINUTE_MS)
        if self.tradeless(inst, k):
            off = 0  # no trade this minute: the last price stays the previous close
        return self._window(inst, k, off, off)[3]

    def price_ticks(self, inst: Instrument, t: int) -> int:
        """Last price at ``t`` (ms) in ticks."""
        return int(self._ticks(inst, [self._price_float(inst, t)])[0])

    def price(self, inst: Instrument, t: int) -> Decimal:
        """Last price at ``t`` as a Decimal on the tick grid."""
        return self.price_ticks(inst, t) * inst.tick_sz

    def extremes(self, inst: Instrument, t0: int, t1: int) -> tuple[int, int]:
        """(low, high) in ticks of the path over the window ``(t0, t1]``."""
        k0, off0 = divmod(t0, MINUTE_MS)
        k1, off1 = divmod(t1, MINUTE_MS)
        if k0 == k1:
            row = self.partial(inst, k0, off0, off1)
            return row[2], row[1]
        lows: list[int] = []
        highs: list[int] = []
        first = self.partial(inst, k0, off0, MINUTE_MS)
        last = self.partial(inst, k1, 0, off1)
        for row in (first, last):
            lows.append(row[2])
            highs.append(row[1])
        if k1 - k0 > 1:
            table = self.minutes(inst, k0 + 1, k1)
            lows.append(int(table.low.min()))
            highs.append(int(table.high.max()))
        return min(lows), max(highs)
