"""The one OKX layer: typed records, checked replies, error mapping, retries, rate limits, ccxt
(public market data) and python-okx (account and trade) clients.

Nothing above this package sees an OKX dict. Build clients with :func:`make_public_client` (one per
process, keyless) and :func:`make_account_client` (one per account).

Modules:

- ``factory``     the one construction point: mode -> URL, demo flag, limiter, clock offset
- ``shared``      many accounts over one HTTP client and one server-time offset (the gateway)
- ``public``      :class:`PublicClient` (ccxt implicit API, thread pool, instrument cache)
- ``private``     :class:`AccountClient` (python-okx Account/Trade APIs)
- ``transport``   the signed HTTP seam under python-okx (server time, budgets, error mapping)
- ``ccxtraw``     ccxt okx configured per mode, raising okxfleet errors
- ``envelope``    ``code``/``sCode`` checks; ``parse``, ``parse_orders``, ``fields``: dict -> record
- ``records``     frozen typed records (``Decimal`` money and sizes)
- ``errors``      the error tree grouped by reaction and the OKX code table
- ``ratelimit``   OKX budgets as data and the sliding-log limiter
- ``retry``       backoff with jitter for idempotent calls
- ``signing``     HMAC signature, timestamp format, server-time offset
- ``history``     candle paging (recent -> history-candles)
- ``orders``      order parameters, clOrdId rules, batch chunks
- ``logbridge``   python-okx's loguru output -> redacted stdlib logging
"""

from exchange.errors import (
    BadCandle,
    BadResponse,
    ExchangeAuthError,
    ExchangeError,
    ExchangeRateLimited,
    ExchangeUnavailable,
    InsufficientFunds,
    OrderNotFound,
    OrderRejected,
    UnknownInstrument,
    UnknownOutcome,
)
from exchange.factory import make_account_client, make_market_client, make_public_client, okx_flag
from exchange.private import AccountClient
from exchange.public import PublicClient

__all__ = [
    "AccountClient",
    "BadCandle",
    "BadResponse",
    "ExchangeAuthError",
    "ExchangeError",
    "ExchangeRateLimited",
    "ExchangeUnavailable",
    "InsufficientFunds",
    "OrderNotFound",
    "OrderRejected",
    "PublicClient",
    "UnknownInstrument",
    "UnknownOutcome",
    "make_account_client",
    "make_market_client",
    "make_public_client",
    "okx_flag",
]
