"""Deterministic per-coin price path: a pure function of (seed, coin, minute index).

The log price at minute boundary ``m`` (epoch minute) is::

    L(m) = log(base) + sum_i a_i * sin(2*pi*m / P_i + phi_i) + sigma * n(m)

with a few sinusoids whose periods span half an hour to a year (amplitudes grow with the square
root of the period, like a random walk) and ``n(m)`` an approximately normal hashed noise. Slow
components (periods of a day or more) are evaluated on a fixed hourly grid and linearly
interpolated, so the value at a minute never depends on which range was requested.

Inside minute ``k`` the path is piecewise linear through four vertices: the open ``exp(L(k))`` at
offset 0, the minute's high and low at hashed offsets, and the close ``exp(L(k+1))`` at 60 s. That
makes the price at any millisecond O(1) and keeps a forming bar consistent with the closed bar.

Everything is vectorised with numpy; one hashed 64-bit word per purpose and minute.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["MINUTE_MS", "MinuteShape", "PricePath", "hash_u64", "stable_key"]

MINUTE_MS = 60_000
_HOUR_MIN = 60
_DAY_MIN = 1440
_TABLE_MAX = 1000

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
UIntArray = npt.NDArray[np.uint64]

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_MASK16 = np.uint64(0xFFFF)
_S16, _S32, _S48 = np.uint64(16), np.uint64(32), np.uint64(48)
# (sum of four (field + 0.5) / 65536) - 2, scaled to unit variance
_IH_SCALE = math.sqrt(3.0) / 65536.0
_IH_SHIFT = (4 * 0.5 / 65536.0 - 2.0) * math.sqrt(3.0)


def stable_key(*parts: object) -> int:
    """A 64-bit key from text parts, stable across processes (unlike ``hash``)."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def hash_u64(index: npt.ArrayLike, key: int) -> UIntArray:
    """splitmix64 of ``index + key`` for an integer array (wrap-around arithmetic)."""
    z = np.asarray(index, dtype=np.int64).astype(np.uint64) + np.uint64(key)
    z = z * _M1
    z = (z ^ (z >> _S30)) * _M2
    z = (z ^ (z >> _S27)) * _M3
    out: UIntArray = z ^ (z >> _S31)
    return out


def _u16(words: UIntArray, slot: int) -> FloatArray:
    """The ``slot``-th 16-bit field of each word as a uniform in (0, 1)."""
    raw = (words >> np.uint64(16 * slot)) & _MASK16
    out: FloatArray = (raw.astype(np.float64) + 0.5) / 65536.0
    return out


def _normal(words: UIntArray) -> FloatArray:
    """Approximately standard normal (Irwin-Hall of the four 16-bit fields)."""
    total = (words & _MASK16) + ((words >> _S16) & _MASK16)
    total += (words >> _S32) & _MASK16
    total += words >> _S48
    out: FloatArray = total.astype(np.float64)
    out *= _IH_SCALE
    out += _IH_SHIFT
    return out


@dataclass(frozen=True)
class MinuteShape:
    """Per-minute vertices (prices, not ticks) and volume factor for minutes ``k0..k1-1``."""

    open: FloatArray
    close: FloatArray
    high: FloatArray
    low: FloatArray
    high_at: IntArray  # ms offset of the high inside the minute, in (0, 60000)
    low_at: IntArray
    volume_factor: FloatArray  # mean 1, heavier when the minute moves


class PricePath:
    """Deterministic path of one coin (spot and swap derive from it with their own basis)."""

    def __init__(self, seed: int, coin: str, base: float, daily_vol: float) -> None:
        self.seed = seed
        self.coin = coin
        self.base = base
        self._log_base = math.log(base)
        self._sigma = daily_vol / math.sqrt(_DAY_MIN) * 0.8
        self._ext = self._sigma * 0.7
        market = stable_key("market", seed)
        coin_key = stable_key("coin", seed, coin)
        self._noise_key = stable_key("noise", seed, coin)
        self._shape_key = stable_key("shape", seed, coin)
        self._vol_key = stable_key("vol", seed, coin)
        fast, slow = [37.0, 131.0, 487.0], [1440.0, 4464.0, 13968.0, 41760.0, 131040.0, 532800.0]
        self._fast = self._components(fast, daily_vol, market, coin_key, 0)
        self._slow = self._components(slow, daily_vol, market, coin_key, len(fast))

    @staticmethod
    def _components(
        periods: list[float], daily_vol: float, market: int, coin_key: int, first: int
    ) -> tuple[FloatArray, IntArray, FloatArray]:
        """Amplitudes, integer periods (in grid steps) and phases of a set of sinusoids."""
        idx = np.arange(first, first + len(periods), dtype=np.int64)
        jitter = 0.8 + 0.45 * _u16(hash_u64(idx, coin_key), 0)
        per = np.rint(np.asarray(periods) * jitter).astype(np.int64)
        amp = daily_vol * np.sqrt(per / _DAY_MIN) * 0.35
        market_phase = 2 * math.pi * _u16(hash_u64(idx, market), 1)
        coin_phase = (2 * _u16(hash_u64(idx, coin_key), 2) - 1) * math.pi * 0.35
        return amp, per, market_phase + coin_phase

    @staticmethod
    def _sines(
        steps: IntArray, comps: tuple[FloatArray, IntArray, FloatArray], scale: int
    ) -> FloatArray:
        """Sum of the sinusoids at integer grid positions ``steps`` (grid step = ``scale`` min).

        Periods are whole minutes, so a short sinusoid is a table lookup at ``minute % period``.
        """
        total = np.zeros(len(steps), dtype=np.float64)
        minutes = steps * scale
        for a, per, ph in zip(comps[0].tolist(), comps[1].tolist(), comps[2].tolist(),
                              strict=True):
            if per <= _TABLE_MAX:  # fixed per component, so every range agrees bit for bit
                table = a * np.sin(np.arange(per, dtype=np.float64) * (2 * math.pi / per) + ph)
                total += table[minutes % per]
            else:
                total += a * np.sin((minutes % per).astype(np.float64) * (2 * math.pi / per) + ph)
        return total

    def log_at(self, m0: int, m1: int) -> FloatArray:
        """Log price at the minute boundaries ``m0..m1`` inclusive."""
        m = np.arange(m0, m1 + 1, dtype=np.int64)
        h0, h1 = m0 // _HOUR_MIN, m1 // _HOUR_MIN + 1
        slow_grid = self._sines(np.arange(h0, h1 + 1, dtype=np.int64), self._slow, _HOUR_MIN)
        j = m // _HOUR_MIN - h0
        frac = (m % _HOUR_MIN).astype(np.float64) * (1.0 / _HOUR_MIN)
        slow = slow_grid[j] + (slow_grid[j + 1] - slow_grid[j]) * frac
        out: FloatArray = self._sines(m, self._fast, 1)
        out += slow
        out += _normal(hash_u64(m, self._noise_key)) * self._sigma
        out += self._log_base
        return out

    def minutes(self, k0: int, k1: int) -> MinuteShape:
        """Shapes of the minutes ``k0..k1-1`` (prices before basis, overrides and rounding)."""
        if k1 <= k0:
            empty = np.zeros(0, dtype=np.float64)
            ints = np.zeros(0, dtype=np.int64)
            return MinuteShape(empty, empty, empty, empty, ints, ints, empty)
        logs = self.log_at(k0, k1)
        prices = np.exp(logs)
        o, c = prices[:-1], prices[1:]
        k = np.arange(k0, k1, dtype=np.int64)
        words = hash_u64(k, self._shape_key)
        up = _u16(words, 2)
        up *= up
        up *= 2.5 * self._ext
        up += 1.0
        down = _u16(words, 3)
        down *= down
        down *= -2.5 * self._ext
        down += 1.0
        high = np.maximum(o, c) * up
        low = np.minimum(o, c) * down
        t1 = ((words & _MASK16) * np.uint64(58_000) >> np.uint64(16)).astype(np.int64) + 1000
        t2 = ((words >> np.uint64(16) & _MASK16) * np.uint64(58_000) >> np.uint64(16)).astype(
            np.int64
        ) + 1000
        t2 = np.where(t2 == t1, t1 + 1, t2)
        vol_noise = _normal(words * _M2)
        move = np.abs(np.diff(logs)) * (1.0 / max(self._sigma, 1e-12))
        np.minimum(move, 6.0, out=move)
        vol_factor = np.exp(0.45 * vol_noise - 0.1) * (0.6 + 0.25 * move)
        return MinuteShape(o, c, high, low, t1, t2, vol_factor)
