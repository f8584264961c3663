"""Retry decisions and backoff: only temporary failures, never unknown outcomes; waits via the clock."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from core.clock import FakeClock
from exchange.errors import (
    BadResponse,
    ExchangeAuthError,
    ExchangeError,
    ExchangeRateLimited,
    ExchangeUnavailable,
    InsufficientFunds,
    OrderNotFound,
    OrderRejected,
    UnknownOutcome,
)
from exchange.retry import RetryPolicy, call_with_retry

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("exc", "retried", "retried_definite_only"),
    [
        (ExchangeUnavailable("50013", "busy"), True, True),
        (ExchangeUnavailable("50001", "maintenance"), True, True),
        (ExchangeUnavailable("503", "HTTP 503"), True, False),  # no OKX code: maybe processed
        (ExchangeUnavailable("", "ReadTimeout"), True, False),
        (ExchangeRateLimited("50011", "rate"), True, True),
        (ExchangeRateLimited("429", "HTTP 429"), True, True),
        (UnknownOutcome("50004", "timeout"), False, False),
        (UnknownOutcome("", "no reply"), False, False),
        (OrderRejected("51000", "bad"), False, False),
        (InsufficientFunds("51008", "margin"), False, False),
        (OrderNotFound("51603", "nope"), False, False),
        (ExchangeAuthError("50113", "sign"), False, False),
        (BadResponse("", "garbage"), False, False),
    ],
)
def test_should_retry_table(exc: ExchangeError, retried: bool, retried_definite_only: bool) -> None:
    policy = RetryPolicy(max_attempts=3)

    assert policy.should_retry(exc, 1) is retried
    assert policy.should_retry(exc, 1, definite_only=True) is retried_definite_only
    assert policy.should_retry(exc, 3) is False  # attempts used up


def test_delay_is_exponential_with_equal_jitter() -> None:
    policy = RetryPolicy(max_attempts=10, base_s=0.5, cap_s=4.0)
    rng = random.Random(1)

    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 4.0), (9, 4.0)]:
        delays = [policy.delay(attempt, rng) for _ in range(200)]
        assert min(delays) >= ceiling / 2
        assert max(delays) <= ceiling
        assert len(set(delays)) > 100  # jittered


def test_retries_temporary_errors_then_succeeds_waiting_on_the_clock() -> None:
    clock = FakeClock(T0)
    outcomes: list[Exception | str] = [
        ExchangeUnavailable("50013", "busy"),
        ExchangeRateLimited("50011", "r"),
        "ok",
    ]

    def fn() -> str:
        item = outcomes.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    result = call_with_retry(fn, policy=RetryPolicy(), clock=clock, rng=random.Random(0))

    assert result == "ok"
    assert len(clock.sleeps) == 2
    assert 0.125 <= clock.sleeps[0] <= 0.25
    assert 0.25 <= clock.sleeps[1] <= 0.5


def test_gives_up_after_max_attempts_with_the_last_error() -> None:
    clock = FakeClock(T0)
    calls = []

    def fn() -> None:
        calls.append(1)
        raise ExchangeUnavailable("50001", f"try {len(calls)}")

    with pytest.raises(ExchangeUnavailable, match="try 3"):
        call_with_retry(fn, policy=RetryPolicy(max_attempts=3), clock=clock, rng=random.Random(0))

    assert len(calls) == 3


@pytest.mark.parametrize("exc", [UnknownOutcome("50004", "t"), OrderRejected("51121", "lot")])
def test_never_retries_unknown_outcomes_or_rejections(exc: ExchangeError) -> None:
    clock = FakeClock(T0)
    calls = []

    def fn() -> None:
        calls.append(1)
        raise exc

    with pytest.raises(type(exc)):
        call_with_retry(fn, policy=RetryPolicy(), clock=clock, rng=random.Random(0))

    assert calls == [1]
    assert clock.sleeps == []


def test_definite_only_does_not_resend_after_an_ambiguous_failure() -> None:
    clock = FakeClock(T0)
    calls = []

    def fn() -> None:
        calls.append(1)
        raise ExchangeUnavailable("", "ReadTimeout")

    with pytest.raises(ExchangeUnavailable):
        call_with_retry(fn, policy=RetryPolicy(), clock=clock, rng=random.Random(0), definite_only=True)

    assert calls == [1]


def test_bad_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="retry policy"):
        RetryPolicy(max_attempts=0)
