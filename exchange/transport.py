"""The HTTP seam under python-okx: signing with server time, rate budgets, timeouts, error mapping.

python-okx builds each request's parameters and then calls ``self._request(method, path, params)``
on its API object (an ``httpx.Client``). :meth:`SignedTransport.install` replaces that method *on one
object* (the instance attribute shadows the class method, so no other client is affected) with
:meth:`SignedTransport.send`, which keeps python-okx's wire format (query string built by
``parse_params_to_str``, body ``json.dumps(params)``, headers from ``utils.get_header`` including
``x-simulated-trading: <flag>``) and changes what python-okx gets wrong for a daemon:

- the timestamp is OKX's time (:class:`ServerTime`), not the local ``utcnow()``;
- every request first waits for its rate budget (:class:`RateLimiter`); a 50011 closes the bucket;
- a timeout is ``settings.timeout_s`` (python-okx: httpx's 5 s default);
- transport failures and non-JSON bodies become :mod:`exchange.errors` exceptions: on order calls
  (``POST /trade/*``) a timeout or dropped connection after sending is :class:`UnknownOutcome`,
  elsewhere :class:`ExchangeUnavailable`; a failure to connect is always ``ExchangeUnavailable``.

The reply dict is returned unchecked; callers pass it through :func:`check_envelope`.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx
from loguru import logger as loguru_logger
from okx import utils as okx_utils

from config.credentials import Credentials
from core.clock import to_ms
from exchange.envelope import envelope_code, error_for_http_status
from exchange.errors import RATE_LIMIT_CODES, ExchangeUnavailable, UnknownOutcome
from exchange.ratelimit import SUB_ACCOUNT_ORDERS, RateLimiter
from exchange.signing import ServerTime, sign

__all__ = ["ORDER_ENTRY_PATHS", "SignedTransport", "is_mutating", "limit_key"]

log = logging.getLogger(__name__)

_TRADE = "/api/v5/trade/"
# Endpoints that create or amend orders (they also count against the sub-account order cap).
ORDER_ENTRY_PATHS = frozenset(
    {_TRADE + "order", _TRADE + "batch-orders", _TRADE + "amend-order", _TRADE + "amend-batch-orders"}
)
_CONNECT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def is_mutating(method: str, path: str) -> bool:
    """True for calls that place, amend, cancel or close: their outcome can be unknown."""
    return method.upper() == "POST" and path.split("?", 1)[0].startswith(_TRADE)


def limit_key(method: str, path: str) -> str:
    """The rate-limit table key of a request (``GET /trade/order`` differs from placing)."""
    bare = path.split("?", 1)[0]
    return f"GET {bare}" if method.upper() == "GET" and bare == _TRADE + "order" else bare


class SignedTransport:
    """Signed (or public) requests for one account over python-okx's httpx clients."""

    def __init__(
        self,
        *,
        credentials: Credentials | None,
        flag: str,
        limiter: RateLimiter,
        timeout_s: float,
        server_time: ServerTime | None = None,
        account: str = "",
    ) -> None:
        if flag not in ("0", "1"):
            raise ValueError(f"python-okx flag must be '0' (live) or '1' (demo), got {flag!r}")
        self._credentials = credentials
        self.flag = flag
        self.limiter = limiter
        self.timeout_s = timeout_s
        self.server_time = server_time
        self.account = account

    def install(self, api: httpx.Client) -> None:
        """Route ``api._request`` (a python-okx API object) through :meth:`send`."""

        def _request(method: str, request_path: str, params: Any) -> Any:
            return self.send(api, method, request_path, params, signed=self._credentials is not None)

        api._request = _request  # type: ignore[attr-defined]

    # ---- rate budgets -----------------------------------------------------------------------

    def _acquire(self, method: str, path: str, params: Any) -> None:
        key = limit_key(method, path)
        if isinstance(params, list):  # batch: cost = orders per instId
            per_inst = Counter(str(p.get("instId", "")) for p in params if isinstance(p, Mapping))
            for inst_id, count in per_inst.items():
                self.limiter.acquire(key, inst_id, count)
            n_orders = len(params)
        else:
            inst = params.get("instId") if isinstance(params, Mapping) else None
            self.limiter.acquire(key, str(inst) if inst else None)
            n_orders = 1
        if method.upper() == "POST" and path in ORDER_ENTRY_PATHS:
            self.limiter.acquire(SUB_ACCOUNT_ORDERS, None, n_orders)

    def _penalize(self, method: str, path: str, params: Any) -> None:
        key = limit_key(method, path)
        if isinstance(params, list):
            insts = {str(p.get("instId", "")) for p in params if isinstance(p, Mapping)}
            for inst_id in insts or {""}:
                self.limiter.penalize(key, inst_id or None)
            return
        inst = params.get("instId") if isinstance(params, Mapping) else None
        self.limiter.penalize(key, str(inst) if inst else None)

    # ---- one request ------------------------------------------------------------------------

    def send(
        self,
        http: httpx.Client,
        method: str,
        request_path: str,
        params: Any,
        *,
        signed: bool = True,
        exp_time: datetime | None = None,
    ) -> Any:
        """Send one request; return the decoded JSON reply (envelope not checked).

        ``exp_time`` (on the caller's clock) becomes OKX's ``expTime`` header in server time:
        OKX refuses the request if it arrives later, so a delayed order is never executed late."""
        method = method.upper()
        path = request_path
        if method == "GET" and isinstance(params, Mapping) and params:
            path = request_path + okx_utils.parse_params_to_str(params)
        body = json.dumps(params) if method == "POST" else ""
        debug = bool(getattr(http, "debug", False))
        self._acquire(method, request_path, params)
        if signed and self._credentials is not None:
            if self.server_time is None:
                raise ValueError("a signed request needs a ServerTime")
            creds = self._credentials
            ts = self.server_time.timestamp()
            signature = sign(creds.secret, ts, method, path, body)
            headers = okx_utils.get_header(creds.api_key, signature, ts, creds.passphrase, self.flag, debug)
            if exp_time is not None:
                headers["expTime"] = str(to_ms(exp_time + (self.server_time.offset or timedelta(0))))
        else:
            headers = okx_utils.get_header_no_sign(self.flag, debug)
        if debug:  # what python-okx itself logs in debug mode
            loguru_logger.debug(f"url: {path}")
            loguru_logger.debug(f"body:{body}")
        mutating = is_mutating(method, request_path)
        try:
            response = http.request(
                method, path, content=body or None, headers=headers, timeout=self.timeout_s
            )
        except _CONNECT_ERRORS as exc:
            raise ExchangeUnavailable(
                "", f"cannot reach OKX: {type(exc).__name__}", endpoint=request_path
            ) from exc
        except httpx.TransportError as exc:
            what = f"no reply ({type(exc).__name__})"
            if mutating:
                raise UnknownOutcome(
                    "", f"{what}: look the order up by clOrdId", endpoint=request_path
                ) from exc
            raise ExchangeUnavailable("", what, endpoint=request_path) from exc
        return self._decode(response, method, request_path, params, mutating)

    def _decode(self, response: httpx.Response, method: str, path: str, params: Any, mutating: bool) -> Any:
        status = response.status_code
        try:
            reply = response.json()
        except ValueError:
            reply = None
        code = envelope_code(reply)
        if code in RATE_LIMIT_CODES or (status == 429 and code in (None, "0")):
            self._penalize(method, path, params)
        no_code = code is None or code == "0"
        if (status >= 400 and no_code) or reply is None:
            raise error_for_http_status(status, response.text, endpoint=path, mutating=mutating)
        if status >= 400:
            log.debug("%s %s: HTTP %s with OKX code %s", method, path, status, code)
        return reply
