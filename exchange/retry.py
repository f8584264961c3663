"""Retries with exponential backoff and jitter — for idempotent calls only, waiting through the clock.

What is retried is decided by the error's class (see :mod:`exchange.errors`): only
:class:`ExchangeUnavailable` (maintenance, overload, 5xx, network trouble before a reply) and its
subclass :class:`ExchangeRateLimited`. Rejections, auth errors, bad replies and above all
:class:`UnknownOutcome` are never retried here: an order whose outcome is unknown is looked up by
its clOrdId, not sent again.

Order-creating calls are not idempotent in general; they may pass ``definite_only=True`` to retry
only replies in which OKX itself says the request was not processed (:data:`NOT_PROCESSED_CODES`).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from core.clock import Clock
from exchange.errors import (
    RATE_LIMIT_CODES,
    RETRYABLE_CODES,
    ExchangeError,
    ExchangeUnavailable,
)

__all__ = ["NOT_PROCESSED_CODES", "NO_RETRY", "RetryPolicy", "call_with_retry"]

log = logging.getLogger(__name__)
T = TypeVar("T")

# OKX codes whose reply guarantees nothing was executed (plus a bare HTTP 429).
NOT_PROCESSED_CODES = frozenset(RATE_LIMIT_CODES) | frozenset(RETRYABLE_CODES) | {"429"}


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` tries in all; delay n (1-based) is drawn from [d/2, d] with
    d = min(cap_s, base_s * 2**(n-1)) ("equal jitter": never zero, never synchronised)."""

    max_attempts: int = 4
    base_s: float = 0.25
    cap_s: float = 8.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_s < 0 or self.cap_s < self.base_s:
            raise ValueError(f"bad retry policy {self}")

    def should_retry(self, exc: BaseException, attempt: int, *, definite_only: bool = False) -> bool:
        """Whether to try again after ``exc`` ended try number ``attempt`` (1-based)."""
        if attempt >= self.max_attempts or not isinstance(exc, ExchangeUnavailable):
            return False
        return not definite_only or exc.code in NOT_PROCESSED_CODES

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based)."""
        ceiling = min(self.cap_s, self.base_s * (2 ** (attempt - 1)))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


NO_RETRY = RetryPolicy(max_attempts=1)


def call_with_retry(
    fn: Callable[[], T],
    *,
    policy: RetryPolicy,
    clock: Clock,
    rng: random.Random,
    what: str = "",
    definite_only: bool = False,
) -> T:
    """``fn()``, retried per ``policy``; the last error propagates."""
    attempt = 1
    while True:
        try:
            return fn()
        except ExchangeError as exc:
            if not policy.should_retry(exc, attempt, definite_only=definite_only):
                raise
            wait = policy.delay(attempt, rng)
            log.warning(
                "%s failed (%s); retry %d/%d in %.2fs",
                what or "OKX call",
                exc,
                attempt,
                policy.max_attempts - 1,
                wait,
            )
            clock.sleep(wait)
            attempt += 1
