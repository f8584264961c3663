"""The rate limiter's arithmetic on a fake clock, the budget table, and thread safety."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime

import pytest

from core.clock import FakeClock
from exchange.ratelimit import (
    PRIVATE_LIMITS,
    PUBLIC_LIMITS,
    SUB_ACCOUNT_ORDERS,
    RateLimit,
    RateLimiter,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CANDLES = "/api/v5/market/candles"
ORDER = "/api/v5/trade/order"


def send_times(limiter: RateLimiter, clock: FakeClock, n: int, endpoint: str = CANDLES) -> list[float]:
    out = []
    for _ in range(n):
        limiter.acquire(endpoint)
        out.append(clock.now().timestamp() - T0.timestamp())
    return out


def max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


@pytest.mark.parametrize(
    ("path", "capacity", "scope"),
    [
        ("market/candles", 40, "ip"),
        ("market/history-candles", 20, "ip"),
        ("public/instruments", 20, "ip"),
        ("market/ticker", 20, "ip"),
        ("market/tickers", 20, "ip"),
        ("market/books", 40, "ip"),
        ("market/trades", 100, "ip"),
        ("public/time", 10, "ip"),
        ("public/funding-rate", 10, "ip"),
        ("public/funding-rate-history", 10, "ip"),
        ("public/mark-price", 10, "ip"),
    ],
)
def test_public_table_has_okx_numbers(path: str, capacity: int, scope: str) -> None:
    assert PUBLIC_LIMITS["/api/v5/" + path] == RateLimit(capacity, 2.0, scope)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("key", "capacity", "scope"),
    [
        ("account/balance", 10, "account"),
        ("account/positions", 10, "account"),
        ("account/config", 5, "account"),
        ("account/set-leverage", 20, "account"),
        ("account/leverage-info", 20, "account"),
        ("account/max-size", 20, "account"),
        ("account/set-position-mode", 5, "account"),
        ("trade/order", 60, "account+inst"),
        ("trade/batch-orders", 300, "account+inst"),
        ("trade/cancel-order", 60, "account+inst"),
        ("trade/amend-order", 60, "account+inst"),
        ("trade/orders-pending", 60, "account"),
        ("trade/orders-history", 40, "account"),
        ("trade/fills", 60, "account"),
        ("trade/close-position", 20, "account+inst"),
    ],
)
def test_private_table_has_okx_numbers(key: str, capacity: int, scope: str) -> None:
    assert PRIVATE_LIMITS["/api/v5/" + key] == RateLimit(capacity, 2.0, scope)  # type: ignore[arg-type]
    assert PRIVATE_LIMITS["GET /api/v5/trade/order"].capacity == 60
    assert PRIVATE_LIMITS[SUB_ACCOUNT_ORDERS].capacity == 1000


def test_burst_then_steady_rate_with_margin() -> None:
    clock = FakeClock(T0)
    limiter = RateLimiter(clock, PUBLIC_LIMITS, safety=0.1, slack_s=0.05)

    times = send_times(limiter, clock, 200)

    assert limiter.effective(PUBLIC_LIMITS[CANDLES]) == (36, 2.05)
    assert times[:36] == [0.0] * 36  # the initial burst
    assert times[36] == pytest.approx(2.05)
    assert times[-1] == pytest.approx(5 * 2.05)  # 200 = 5 windows of 36 + 20
    assert max_in_window(times, 2.0) <= 40  # never over OKX's budget


def test_no_margin_reaches_the_exact_floor() -> None:
    clock = FakeClock(T0)
    limiter = RateLimiter(clock, PUBLIC_LIMITS, safety=0.0, slack_s=0.0)

    times = send_times(limiter, clock, 200)

    assert times[-1] == pytest.approx(8.0)  # 40 at once, then 40 per 2 s
    assert max_in_window(times, 2.0) == 40


def test_random_arrivals_never_exceed_the_budget() -> None:
    clock = FakeClock(T0)
    limiter = RateLimiter(clock, PUBLIC_LIMITS)
    rng = random.Random(7)
    times = []
    for _ in range(500):
        clock.advance(rng.expovariate(30.0))
        limiter.acquire(CANDLES)
        times.append(clock.now().timestamp())

    assert max_in_window(times, 2.0) <= 36


def test_per_instrument_scope_and_unknown_endpoints() -> None:
    clock = FakeClock(T0)
    limiter = RateLimiter(clock, PRIVATE_LIMITS, safety=0.0, slack_s=0.0)
    for _ in range(60):
        assert limiter.reserve(ORDER, "BTC-USDT-SWAP") == 0

    assert limiter.reserve(ORDER, "ETH-USDT-SWAP") == 0  # another instrument: own bucket
    assert limiter.reserve(ORDER, "BTC-USDT-SWAP") == pytest.approx(2.0)
    assert limiter.reserve("/api/v5/unknown") == 0  # no table entry and no default: unlimited


def test_cost_counts_orders_of_a_batch() -> None:
    clock = FakeClock(T0)
    limiter = RateLimiter(clock, PRIVATE_LIMITS, safety=0.0, slack_s=0.0)
    batch = "/api/v5/trade/batch-orders"

    assert limiter.reserve(batch, "BTC-USDT-SWAP", 200) == 0
    assert limiter.reserve(batch, "BTC-USDT-SWAP", 100) == 0
    assert limiter.reserve(batch, "BTC-USDT-SWAP", 1) == pytest.approx(2.0)


def test_default_limit_for_endpoints_missing_from_the_table() -> None:
    clock = FakeClock(T0)
    limiter = RateLimiter(clock, {}, default=RateLimit(2, 1.0, "account"), safety=0.0, slack_s=0.0)

    waits = [limiter.reserve("/api/v5/asset/balances") for _ in range(3)]

    assert waits == [0, 0, pytest.approx(1.0)]


def test_penalize_closes_the_bucket_for_a_window() -> None:
    clock = FakeClock(T0)
    limiter = RateLimiter(clock, PUBLIC_LIMITS, safety=0.0, slack_s=0.0)
    limiter.acquire(CANDLES)

    limiter.penalize(CANDLES)

    assert limiter.reserve(CANDLES) == pytest.approx(2.0)
    assert limiter.reserve("/api/v5/market/books") == 0  # other endpoints unaffected


def test_waits_go_through_the_clock() -> None:
    clock = FakeClock(T0)
    limiter = RateLimiter(clock, {"/x": RateLimit(1, 1.0, "ip")}, safety=0.0, slack_s=0.0)

    limiter.acquire("/x")
    waited = limiter.acquire("/x")

    assert waited == pytest.approx(1.0)
    assert clock.sleeps == [pytest.approx(1.0)]


def test_concurrent_reservations_respect_the_budget() -> None:
    clock = FakeClock(T0)  # time does not move: every slot comes from the reservations alone
    limiter = RateLimiter(clock, PUBLIC_LIMITS, safety=0.0, slack_s=0.0)
    slots: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(25):
            wait = limiter.reserve(CANDLES)
            with lock:
                slots.append(wait)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(slots) == 200
    assert max_in_window(slots, 2.0) == 40
    assert max(slots) == pytest.approx(8.0)


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="rate limit"):
        RateLimit(0, 2.0, "ip")
    with pytest.raises(ValueError, match="safety"):
        RateLimiter(FakeClock(T0), {}, safety=1.0)
