"""The one construction point for OKX clients: mode (live | demo | simulator) -> URL, demo flag.

- ``live``: ``https://www.okx.com`` (or ``base_url``), python-okx ``flag="0"``, no demo header.
- ``demo``: the same host, ``flag="1"`` (``x-simulated-trading: 1``) and ccxt sandbox mode.
- ``simulator``: ``settings.url`` (loopback), ``flag="0"``.

python-okx defaults to demo (``flag='1'``): the flag is always passed explicitly here.
"""

from __future__ import annotations

from datetime import datetime

from okx.Account import AccountAPI
from okx.Trade import TradeAPI

from config.credentials import Credentials
from config.schema import ExchangeSettings
from core.clock import Clock, ScaledClock, SystemClock
from core.redaction import register_secret
from exchange.envelope import check_envelope
from exchange.errors import BadResponse
from exchange.logbridge import route_loguru
from exchange.parse import parse_server_time
from exchange.private import AccountClient
from exchange.public import PublicClient
from exchange.ratelimit import DEFAULT_PRIVATE_LIMIT, PRIVATE_LIMITS, PUBLIC_LIMITS, RateLimiter
from exchange.signing import ServerTime
from exchange.transport import SignedTransport

__all__ = ["make_account_client", "make_market_client", "make_public_client", "okx_flag"]

_TIME = "/api/v5/public/time"


class _OkxApi(TradeAPI, AccountAPI):
    """python-okx's trade and account endpoints on ONE ``httpx.Client`` (both classes are thin
    endpoint sets over :class:`okx.okxclient.OkxClient`; their method names do not overlap).
    Two API objects meant two TLS contexts and connection pools per account (~1 MB of RSS in a
    trader, issue #12) and two connections to OKX; one serves both."""


def _budget_clock(clock: Clock) -> Clock:
    """OKX counts its budgets in wall-clock seconds. A :class:`ScaledClock` (fast-forward demos)
    runs faster than that, so rate limiting then waits on the system clock; every other clock
    (system, fake) is used as is."""
    return SystemClock() if isinstance(clock, ScaledClock) else clock


def okx_flag(mode: str) -> str:
    """python-okx ``flag`` (the ``x-simulated-trading`` header): "1" for demo, "0" otherwise."""
    if mode not in ("live", "demo", "simulator"):
        raise ValueError(f"unknown exchange mode {mode!r}")
    return "1" if mode == "demo" else "0"


def make_public_client(settings: ExchangeSettings, clock: Clock, *, max_workers: int = 16) -> PublicClient:
    """The keyless market-data client; make one per process (public budgets are per IP)."""
    from exchange.ccxtraw import new_public_exchange  # ccxt: only processes that use it load it

    route_loguru()
    return PublicClient(
        new_exchange=lambda: new_public_exchange(settings),
        clock=clock,
        limiter=RateLimiter(_budget_clock(clock), PUBLIC_LIMITS, name="public"),
        max_workers=max_workers,
    )


def make_market_client(via: AccountClient, clock: Clock) -> PublicClient:
    """A keyless client for instruments and tickers without ccxt (the trader's): its unsigned
    requests use the account client's connection, under the per-IP public budgets."""
    limiter = RateLimiter(_budget_clock(clock), PUBLIC_LIMITS, name="public")
    return PublicClient(fetch=via.public_get, clock=clock, limiter=limiter, max_workers=1)


def make_account_client(
    settings: ExchangeSettings, credentials: Credentials, clock: Clock, *, account: str = ""
) -> AccountClient:
    """A private client for one account with its own rate budget and server-time offset."""
    route_loguru()
    for secret in (credentials.api_key, credentials.secret, credentials.passphrase):
        register_secret(secret)
    flag = okx_flag(settings.mode)
    kwargs = {
        "api_key": credentials.api_key,
        "api_secret_key": credentials.secret,
        "passphrase": credentials.passphrase,
        "flag": flag,
        "domain": settings.url,
        "debug": False,
    }
    api = _OkxApi(**kwargs)
    limiter = RateLimiter(
        _budget_clock(clock), PRIVATE_LIMITS, default=DEFAULT_PRIVATE_LIMIT, name=f"account {account}".strip()
    )
    transport = SignedTransport(
        credentials=credentials, flag=flag, limiter=limiter, timeout_s=settings.timeout_s,
        account=account,
    )  # fmt: skip

    def fetch_server_time() -> datetime:
        data = check_envelope(transport.send(api, "GET", _TIME, {}, signed=False), _TIME)
        if not data:
            raise BadResponse("", "public/time returned no data", endpoint=_TIME)
        return parse_server_time(data[0])

    transport.server_time = ServerTime(clock, fetch_server_time)
    transport.install(api)
    return AccountClient(account=account, trade_api=api, account_api=api, transport=transport, clock=clock)
