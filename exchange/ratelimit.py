"""OKX rate budgets as data, and a thread-safe limiter that waits through the injected clock.

OKX counts requests per endpoint in a window: public endpoints per IP (shared by every thread and
every account of the host), private ones per sub-account UID, order endpoints per UID + instId.
:data:`PUBLIC_LIMITS` and :data:`PRIVATE_LIMITS` hold the documented budgets (okx-v5.md §4-6).

:class:`RateLimiter` keeps, per bucket, the times of the requests it let through (a sliding log)
and admits a request only if the window ending at its send time holds at most ``capacity`` of
them. That is stricter than a token bucket of the same size (which lets up to twice the capacity
through in one window after an idle period), so it is safe whether OKX counts in fixed or sliding
windows. A safety margin shaves ~10 % off each capacity and pads each window, absorbing latency
jitter between our send time and OKX's arrival time. Requests reserve their slot under a lock
(first come, first served) and then sleep outside it. After a 50011 the bucket is closed for a
whole window (:meth:`RateLimiter.penalize`).
"""

from __future__ import annotations

import bisect
import logging
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from core.clock import Clock

__all__ = [
    "DEFAULT_PRIVATE_LIMIT",
    "PRIVATE_LIMITS",
    "PUBLIC_LIMITS",
    "SUB_ACCOUNT_ORDERS",
    "RateLimit",
    "RateLimiter",
]

log = logging.getLogger(__name__)

Scope = Literal["ip", "account", "account+inst"]


@dataclass(frozen=True)
class RateLimit:
    """``capacity`` requests (or orders, for batch endpoints) per ``window_s`` within ``scope``."""

    capacity: int
    window_s: float
    scope: Scope

    def __post_init__(self) -> None:
        if self.capacity < 1 or self.window_s <= 0:
            raise ValueError(f"bad rate limit {self}")


_P = "/api/v5/"
PUBLIC_LIMITS: Mapping[str, RateLimit] = {
    _P + "market/candles": RateLimit(40, 2.0, "ip"),
    _P + "market/history-candles": RateLimit(20, 2.0, "ip"),
    _P + "public/instruments": RateLimit(20, 2.0, "ip"),
    _P + "market/ticker": RateLimit(20, 2.0, "ip"),
    _P + "market/tickers": RateLimit(20, 2.0, "ip"),
    _P + "market/books": RateLimit(40, 2.0, "ip"),
    _P + "market/trades": RateLimit(100, 2.0, "ip"),
    _P + "public/time": RateLimit(10, 2.0, "ip"),
    _P + "public/funding-rate": RateLimit(10, 2.0, "ip"),
    _P + "public/funding-rate-history": RateLimit(10, 2.0, "ip"),
    _P + "public/mark-price": RateLimit(10, 2.0, "ip"),
    _P + "system/status": RateLimit(1, 5.0, "ip"),
}

# Counted on top of the per-endpoint budgets: new + amended orders per sub-account (50061).
SUB_ACCOUNT_ORDERS = "sub-account orders"

PRIVATE_LIMITS: Mapping[str, RateLimit] = {
    _P + "account/balance": RateLimit(10, 2.0, "account"),
    _P + "account/positions": RateLimit(10, 2.0, "account"),
    _P + "account/config": RateLimit(5, 2.0, "account"),
    _P + "account/bills": RateLimit(5, 1.0, "account"),
    _P + "account/set-leverage": RateLimit(20, 2.0, "account"),
    _P + "account/leverage-info": RateLimit(20, 2.0, "account"),
    _P + "account/max-size": RateLimit(20, 2.0, "account"),
    _P + "account/set-position-mode": RateLimit(5, 2.0, "account"),
    _P + "trade/order": RateLimit(60, 2.0, "account+inst"),  # place; GET trade/order below
    _P + "trade/batch-orders": RateLimit(300, 2.0, "account+inst"),  # cost = orders per instId
    _P + "trade/cancel-order": RateLimit(60, 2.0, "account+inst"),
    _P + "trade/amend-order": RateLimit(60, 2.0, "account+inst"),
    "GET " + _P + "trade/order": RateLimit(60, 2.0, "account+inst"),
    _P + "trade/orders-pending": RateLimit(60, 2.0, "account"),
    _P + "trade/orders-history": RateLimit(40, 2.0, "account"),
    _P + "trade/fills": RateLimit(60, 2.0, "account"),
    _P + "trade/close-position": RateLimit(20, 2.0, "account+inst"),
    SUB_ACCOUNT_ORDERS: RateLimit(1000, 2.0, "account"),
    # master account (treasury, issue #16; okx-v5.md §8)
    _P + "users/subaccount/list": RateLimit(20, 2.0, "account"),
    _P + "account/subaccount/balances": RateLimit(6, 2.0, "account"),
    _P + "asset/subaccount/balances": RateLimit(6, 2.0, "account"),
    _P + "account/subaccount/max-withdrawal": RateLimit(20, 2.0, "account"),
    _P + "account/max-withdrawal": RateLimit(20, 2.0, "account"),
    _P + "asset/balances": RateLimit(6, 1.0, "account"),
    _P + "asset/transfer": RateLimit(1, 1.0, "account"),
    _P + "asset/subaccount/transfer": RateLimit(1, 1.0, "account"),
    _P + "asset/transfer-state": RateLimit(10, 1.0, "account"),
    **PUBLIC_LIMITS,  # an account client's own public calls (server time) use the same numbers
}
DEFAULT_PRIVATE_LIMIT = RateLimit(5, 2.0, "account")  # endpoints missing from the table


class RateLimiter:
    """Sliding-log limiter over a table of :class:`RateLimit`; one per process (public) or per
    account (private). Thread-safe; waits through ``clock.sleep``."""

    def __init__(
        self,
        clock: Clock,
        limits: Mapping[str, RateLimit],
        *,
        default: RateLimit | None = None,
        safety: float = 0.1,
        slack_s: float = 0.05,
        name: str = "",
    ) -> None:
        if not 0 <= safety < 1 or slack_s < 0:
            raise ValueError("safety must be in [0, 1) and slack_s >= 0")
        self._clock = clock
        self._limits = dict(limits)
        self._default = default
        self._safety = safety
        self._slack_s = slack_s
        self._name = name
        self._lock = threading.Lock()
        self._logs: dict[tuple[str, str], list[tuple[float, int]]] = {}
        self._blocked_until: dict[tuple[str, str], float] = {}

    def limit_for(self, endpoint: str) -> RateLimit | None:
        return self._limits.get(endpoint, self._default)

    def effective(self, limit: RateLimit) -> tuple[int, float]:
        """(capacity, window) after the safety margin."""
        margin = math.ceil(limit.capacity * self._safety) if self._safety else 0
        return max(1, limit.capacity - margin), limit.window_s + self._slack_s

    def _key(self, endpoint: str, limit: RateLimit, inst_id: str | None) -> tuple[str, str]:
        return (endpoint, inst_id or "") if limit.scope == "account+inst" else (endpoint, "")

    def reserve(self, endpoint: str, inst_id: str | None = None, cost: int = 1) -> float:
        """Book a slot for one request; return how many seconds to wait before sending it."""
        limit = self.limit_for(endpoint)
        if limit is None:
            return 0.0
        capacity, window = self.effective(limit)
        cost = max(1, min(cost, capacity))
        key = self._key(endpoint, limit, inst_id)
        now = self._clock.now().timestamp()
        with self._lock:
            entries = self._logs.setdefault(key, [])
            slot = max(now, self._blocked_until.get(key, 0.0))
            del entries[: bisect.bisect_right(entries, (now - window, math.inf))]
            expired = bisect.bisect_right(entries, (slot - window, math.inf))
            used = sum(c for _, c in entries[expired:])
            i = expired
            while used + cost > capacity:  # the oldest counted request must leave the window
                t, c = entries[i]
                slot = max(slot, t + window)
                used -= c
                i += 1
            bisect.insort(entries, (slot, cost))
        return max(0.0, slot - now)

    def acquire(self, endpoint: str, inst_id: str | None = None, cost: int = 1) -> float:
        """Wait (through the clock) until a request to ``endpoint`` fits its budget; return the wait."""
        wait = self.reserve(endpoint, inst_id, cost)
        if wait > 0:
            if wait > 1.0:
                log.debug("%s: waiting %.2fs for %s budget", self._name or "limiter", wait, endpoint)
            self._clock.sleep(wait)
        return wait

    def penalize(self, endpoint: str, inst_id: str | None = None, seconds: float | None = None) -> None:
        """OKX said 50011 (or HTTP 429): close the bucket for a whole window (or ``seconds``)."""
        limit = self.limit_for(endpoint) or RateLimit(1, 2.0, "account")
        _, window = self.effective(limit)
        key = self._key(endpoint, limit, inst_id)
        until = self._clock.now().timestamp() + (window if seconds is None else seconds)
        with self._lock:
            self._blocked_until[key] = max(self._blocked_until.get(key, 0.0), until)
        log.warning("%s: rate limited on %s; pausing it", self._name or "limiter", endpoint)
