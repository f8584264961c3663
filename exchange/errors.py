"""OKX failures, grouped by how the caller reacts, and the one table mapping OKX codes to them.

::

    ExchangeError (core.errors.OkxfleetError)   .code, .msg, .s_code, .endpoint
    ├── ExchangeAuthError (+ConfigError)    50100-50114, 50119, 51010 ...  stop: keys/mode/account wrong
    ├── ExchangeUnavailable (+TemporaryError) 50001, 50013, 50026, 5xx, network  retry (idempotent only)
    │   └── ExchangeRateLimited (+RateLimitedError) 50011, 50061, HTTP 429      wait, then retry
    ├── OrderRejected                        51000, 51004, 51006, 51016, 51020, 51121 ...
    │   ├── InsufficientFunds                51008, 51119, 51127, 51131
    │   └── UnknownInstrument                51001 (instrument does not exist: refresh instruments)
    ├── OrderNotFound                        51603, 51400 (cancel of an unknown/terminal order)
    ├── UnknownOutcome                       50004, timeouts/dropped connections on an order call:
    │                                        look the order up by clOrdId, never resend blindly
    └── BadResponse                          the reply is not what OKX documents
        └── BadCandle                        an impossible candle (high < low, price <= 0,
                                             negative volume): that instrument fails for the bar
"""

from __future__ import annotations

from core.errors import ConfigError, OkxfleetError, RateLimitedError, TemporaryError

__all__ = [
    "AUTH_CODES",
    "CLOCK_SKEW_CODE",
    "INSUFFICIENT_CODES",
    "NOT_FOUND_CODES",
    "RATE_LIMIT_CODES",
    "RETRYABLE_CODES",
    "UNKNOWN_INSTRUMENT_CODE",
    "UNKNOWN_OUTCOME_CODES",
    "BadCandle",
    "BadResponse",
    "ExchangeAuthError",
    "ExchangeError",
    "ExchangeRateLimited",
    "ExchangeUnavailable",
    "InsufficientFunds",
    "OrderNotFound",
    "OrderRejected",
    "UnknownInstrument",
    "UnknownOutcome",
    "as_unknown",
    "error_for_code",
]


class ExchangeError(OkxfleetError):
    """An OKX reply that is not a success. ``code`` is the top-level or per-item code."""

    def __init__(self, code: str, msg: str, *, endpoint: str = "", s_code: str = "") -> None:
        self.code = code
        self.msg = msg
        self.endpoint = endpoint
        self.s_code = s_code
        where = f"{endpoint}: " if endpoint else ""
        super().__init__(f"{where}OKX {code}: {msg}" if code else f"{where}{msg}")


class ExchangeAuthError(ExchangeError, ConfigError):
    """Credentials, permissions, environment (demo/live) or account mode are wrong. Stop."""

    def __init__(self, code: str, msg: str, *, endpoint: str = "", s_code: str = "") -> None:
        ExchangeError.__init__(self, code, msg, endpoint=endpoint, s_code=s_code)
        self.problems = [str(self)]


class ExchangeUnavailable(ExchangeError, TemporaryError):
    """Maintenance, overload, 5xx or network trouble. Safe to retry idempotent calls."""


class ExchangeRateLimited(ExchangeUnavailable, RateLimitedError):
    """Over an OKX rate budget."""


class OrderRejected(ExchangeError):
    """OKX refused this order (parameters, size, price band, duplicate clOrdId...). Do not retry as is."""


class InsufficientFunds(OrderRejected):
    """Not enough balance or margin."""


class UnknownInstrument(OrderRejected):
    """OKX does not know that instrument (51001), or the instrument cache has no such id."""


class OrderNotFound(ExchangeError):
    """OKX does not know that order (or it aged out of the history)."""


class UnknownOutcome(ExchangeError):
    """The order call may or may not have been executed. Look it up by clOrdId before anything else."""


class BadResponse(ExchangeError):
    """A reply that does not match OKX's documented shape."""


def as_unknown(exc: ExchangeError) -> UnknownOutcome:
    """``exc`` (met while placing an order) as an unknown outcome: only a per-order rejection
    proves that no order exists, so anything else means "look the clOrdId up"."""
    if isinstance(exc, UnknownOutcome):
        return exc
    what = f"{type(exc).__name__}: {exc.msg}" if exc.msg else type(exc).__name__
    return UnknownOutcome(exc.code, f"{what}; outcome unknown", endpoint=exc.endpoint, s_code=exc.s_code)


class BadCandle(BadResponse):
    """A candle no market can produce (high < low, a price <= 0, a negative volume). Rejected at
    the parser, so it is never stored or traded on; the instrument fails for that bar."""


# Codes with the reason each reaction is safe (nautilus_trader style).
RETRYABLE_CODES = {
    "50001": "service temporarily unavailable (maintenance); nothing was executed",
    "50013": "system busy; the request was not processed",
    "50026": "system error; the request was not processed",
    "50040": "too frequent operations; back off",
}
RATE_LIMIT_CODES = {
    "50011": "rate limit reached (HTTP 429 or 200)",
    "50061": "sub-account order rate limit reached",
}
UNKNOWN_OUTCOME_CODES = {
    "50004": "endpoint request timed out: the order may have been placed",
}
AUTH_CODES = frozenset(
    {
        "50100", "50101", "50102", "50103", "50104", "50105", "50106", "50107", "50108", "50109",
        "50110", "50111", "50112", "50113", "50114", "50119", "50120", "50121", "51010", "51039",
    }
)  # fmt: skip
INSUFFICIENT_CODES = frozenset({"51008", "51119", "51127", "51131", "51502"})
NOT_FOUND_CODES = frozenset({"51603", "51400", "51401", "51402"})
UNKNOWN_INSTRUMENT_CODE = "51001"
# 50102 (timestamp expired) is an auth code, but the right reaction is to resync the clock and
# retry once; callers that can do that catch it by code.
CLOCK_SKEW_CODE = "50102"


def error_for_code(code: str, msg: str, *, endpoint: str = "", s_code: str = "") -> ExchangeError:
    """The exception for an OKX error code (top-level or per-item ``sCode``)."""
    key = s_code or code
    kwargs = {"endpoint": endpoint, "s_code": s_code}
    if key in RATE_LIMIT_CODES:
        return ExchangeRateLimited(key, msg, **kwargs)
    if key in RETRYABLE_CODES:
        return ExchangeUnavailable(key, msg, **kwargs)
    if key in UNKNOWN_OUTCOME_CODES:
        return UnknownOutcome(key, msg, **kwargs)
    if key in AUTH_CODES:
        return ExchangeAuthError(key, msg, **kwargs)
    if key in INSUFFICIENT_CODES:
        return InsufficientFunds(key, msg, **kwargs)
    if key in NOT_FOUND_CODES:
        return OrderNotFound(key, msg, **kwargs)
    if key == UNKNOWN_INSTRUMENT_CODE:
        return UnknownInstrument(key, msg, **kwargs)
    if key.startswith("51") or key.startswith("54") or key.startswith("59"):
        return OrderRejected(key, msg, **kwargs)
    return ExchangeError(key, msg, **kwargs)
