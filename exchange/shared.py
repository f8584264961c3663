"""Many accounts over one HTTP client: what a server serving many credential sets (the gateway) needs.

:func:`exchange.make_account_client` gives each account its own python-okx API objects, i.e. its own
``httpx.Client`` each with its own TLS context and connection pool (~1 MB of native memory per
account, not returned to the OS after close), and its own server-time offset, measured with one
``public/time`` call that spends the host's per-IP budget. Right for a trader (one account per
process); wrong for a gateway that sees thousands of credential sets.

:class:`SharedHttp` holds what does not depend on the account, once per exchange mode:

- one ``httpx.Client`` (TLS context, keep-alive connections): requests carry their own signed
  headers, so any account can use any connection;
- one :class:`~exchange.signing.ServerTime`: the offset between this host's clock and OKX's is the
  same for every account, so ``public/time`` is asked once per ``max_age`` for all of them, under the
  public (per-IP) budget.

:meth:`SharedHttp.account_client` then builds an :class:`~exchange.private.AccountClient` from the
account's own parts only (credentials, rate budget, signing transport) in microseconds. python-okx
still builds every request: its endpoint methods are called on an :class:`Endpoints` view whose
``_request_with_params`` goes through the account's :class:`~exchange.transport.SignedTransport`.
"""

from __future__ import annotations

import threading
import types
from datetime import datetime
from typing import Any

import httpx
from okx.Account import AccountAPI
from okx.Trade import TradeAPI

from config.credentials import Credentials
from config.schema import ExchangeSettings
from core.clock import Clock
from core.redaction import register_secret
from exchange.envelope import check_envelope
from exchange.errors import BadResponse
from exchange.factory import _budget_clock, okx_flag
from exchange.logbridge import route_loguru
from exchange.parse import parse_server_time
from exchange.private import AccountClient
from exchange.ratelimit import DEFAULT_PRIVATE_LIMIT, PRIVATE_LIMITS, PUBLIC_LIMITS, RateLimiter
from exchange.signing import ServerTime
from exchange.transport import SignedTransport

__all__ = ["Endpoints", "SharedHttp"]

_TIME = "/api/v5/public/time"
# HTTP/1.1 keep-alive pool (python-okx asks for HTTP/2, one connection per account): many threads
# send at once, and a pool of connections serves them without one connection's flow control.
_LIMITS = httpx.Limits(max_connections=128, max_keepalive_connections=32)


class Endpoints:
    """python-okx's endpoint methods of ``api_class`` (``TradeAPI``, ``AccountAPI``), sending through
    ``transport`` over the shared ``http`` client. No ``httpx.Client`` of its own."""

    debug = False  # python-okx's debug flag, read by SignedTransport

    def __init__(self, api_class: type, transport: SignedTransport, http: httpx.Client) -> None:
        self._api_class = api_class
        self._transport = transport
        self._http = http

    def __getattr__(self, name: str) -> Any:
        function = vars(self._api_class).get(name)
        if name.startswith("_") or not isinstance(function, types.FunctionType):
            raise AttributeError(f"{self._api_class.__name__} has no endpoint method {name!r}")
        return types.MethodType(function, self)

    def _request_with_params(self, method: str, request_path: str, params: Any) -> Any:
        return self._transport.send(self._http, method, request_path, params)

    def _request_without_params(self, method: str, request_path: str) -> Any:
        return self._request_with_params(method, request_path, {})

    def request(self, *args: Any, **kwargs: Any) -> httpx.Response:
        """The shared client's ``request`` (for :meth:`AccountClient.request` passthrough calls)."""
        return self._http.request(*args, **kwargs)

    def close(self) -> None:
        """Nothing to release: the shared client belongs to :class:`SharedHttp`."""


class SharedHttp:
    """One HTTP client and one server-time offset for every account of one exchange mode."""

    def __init__(self, settings: ExchangeSettings, clock: Clock) -> None:
        route_loguru()
        self.settings = settings
        self.clock = clock
        self.flag = okx_flag(settings.mode)
        self.http = httpx.Client(base_url=settings.url, limits=_LIMITS)
        self._budget = _budget_clock(clock)
        self._public = SignedTransport(
            credentials=None, flag=self.flag, limiter=RateLimiter(self._budget, PUBLIC_LIMITS, name="public"),
            timeout_s=settings.timeout_s,
        )  # fmt: skip
        self.server_time = ServerTime(clock, self._fetch_server_time)
        self._closed = threading.Event()

    def _fetch_server_time(self) -> datetime:
        reply = self._public.send(self.http, "GET", _TIME, {}, signed=False)
        data = check_envelope(reply, _TIME)
        if not data:
            raise BadResponse("", "public/time returned no data", endpoint=_TIME)
        return parse_server_time(data[0])

    def account_client(self, credentials: Credentials, *, account: str = "") -> AccountClient:
        """A private client for one account: its own rate budget and signing, the shared rest."""
        if self._closed.is_set():
            raise RuntimeError("shared HTTP client is closed")
        for secret in (credentials.api_key, credentials.secret, credentials.passphrase):
            register_secret(secret)
        limiter = RateLimiter(
            self._budget, PRIVATE_LIMITS, default=DEFAULT_PRIVATE_LIMIT, name=f"account {account}".strip()
        )
        transport = SignedTransport(
            credentials=credentials, flag=self.flag, limiter=limiter, timeout_s=self.settings.timeout_s,
            server_time=self.server_time, account=account,
        )  # fmt: skip
        return AccountClient(
            account=account,
            trade_api=Endpoints(TradeAPI, transport, self.http),
            account_api=Endpoints(AccountAPI, transport, self.http),
            transport=transport,
            clock=self.clock,
        )

    def close(self) -> None:
        """Close the connections; clients built from here stop working."""
        self._closed.set()
        self.http.close()
