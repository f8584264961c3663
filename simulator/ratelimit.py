"""OKX rate limits as data, enforced with sliding windows on a monotonic clock.

Public endpoints are limited per IP (optionally per IP + instId), private ones per account
(optionally per account + instId). Exceeding a budget gives ``50011`` with HTTP 429.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = ["LIMITS", "Limit", "RateLimiter"]


@dataclass(frozen=True)
class Limit:
    """``count`` requests (or orders) per ``window_s`` seconds, counted per ``scope``."""

    count: int
    window_s: float = 2.0
    scope: str = "ip"  # "ip", "ip+inst", "account", "account+inst"


_P = "/api/v5/"
LIMITS: dict[tuple[str, str], Limit] = {
    ("GET", _P + "public/time"): Limit(10),
    ("GET", _P + "public/instruments"): Limit(20),
    ("GET", _P + "market/candles"): Limit(40),
    ("GET", _P + "market/history-candles"): Limit(20),
    ("GET", _P + "market/ticker"): Limit(20),
    ("GET", _P + "market/tickers"): Limit(20),
    ("GET", _P + "market/books"): Limit(40),
    ("GET", _P + "market/trades"): Limit(100),
    ("GET", _P + "public/funding-rate"): Limit(10, scope="ip+inst"),
    ("GET", _P + "public/funding-rate-history"): Limit(10, scope="ip+inst"),
    ("GET", _P + "public/mark-price"): Limit(10, scope="ip+inst"),
    ("GET", _P + "system/status"): Limit(1, 5.0),
    ("GET", _P + "asset/currencies"): Limit(6, 1.0, "account"),
    ("GET", _P + "account/balance"): Limit(10, scope="account"),
    ("GET", _P + "account/positions"): Limit(10, scope="account"),
    ("GET", _P + "account/config"): Limit(5, scope="account"),
    ("GET", _P + "account/bills"): Limit(5, 1.0, "account"),
    ("POST", _P + "account/set-position-mode"): Limit(5, scope="account"),
    ("POST", _P + "account/set-leverage"): Limit(20, scope="account"),
    ("GET", _P + "account/leverage-info"): Limit(20, scope="account"),
    ("GET", _P + "account/max-size"): Limit(20, scope="account"),
    ("POST", _P + "trade/order"): Limit(60, scope="account+inst"),
    ("POST", _P + "trade/batch-orders"): Limit(300, scope="account+inst"),
    ("POST", _P + "trade/cancel-order"): Limit(60, scope="account+inst"),
    ("POST", _P + "trade/cancel-batch-orders"): Limit(300, scope="account+inst"),
    ("POST", _P + "trade/amend-order"): Limit(60, scope="account+inst"),
    ("POST", _P + "trade/close-position"): Limit(20, scope="account+inst"),
    ("GET", _P + "trade/order"): Limit(60, scope="account+inst"),
    ("GET", _P + "trade/orders-pending"): Limit(60, scope="account"),
    ("GET", _P + "trade/orders-history"): Limit(40, scope="account"),
    ("GET", _P + "trade/fills"): Limit(60, scope="account"),
}


class RateLimiter:
    """Sliding-window counters; ``enabled`` can be switched at run time."""

    def __init__(self, enabled: bool = True, clock: Callable[[], float] = time.monotonic):
        self.enabled = enabled
        self._clock = clock
        self._hits: dict[tuple[str, ...], deque[tuple[float, int]]] = {}
        self._sums: dict[tuple[str, ...], int] = {}

    def reset(self) -> None:
        self._hits.clear()
        self._sums.clear()

    def _used(self, key: tuple[str, ...], window: float, now: float) -> int:
        hits = self._hits.get(key)
        if not hits:
            return 0
        while hits and hits[0][0] <= now - window:
            self._sums[key] -= hits.popleft()[1]
        return self._sums[key]

    def allow(self, limit: Limit, charges: Iterable[tuple[tuple[str, ...], int]]) -> bool:
        """Charge ``weight`` to every key, all or nothing; False when a budget would overflow."""
        if not self.enabled:
            return True
        now = self._clock()
        items = list(charges)
        for key, weight in items:
            if self._used(key, limit.window_s, now) + weight > limit.count:
                return False
        for key, weight in items:
            self._hits.setdefault(key, deque()).append((now, weight))
            self._sums[key] = self._sums.get(key, 0) + weight
        return True

    @staticmethod
    def scope_key(
        endpoint: str, limit: Limit, ip: str, account: str | None, inst: str | None
    ) -> tuple[str, ...]:
        """The counter key of one request for ``limit``'s scope."""
        owner = account if limit.scope.startswith("account") and account else ip
        if limit.scope.endswith("+inst"):
            return (endpoint, owner, inst or "")
        return (endpoint, owner)
