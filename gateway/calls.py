"""What a handler gets for one request (:class:`Call`) and gateway-wide options (:class:`Options`).

Handlers are plain functions ``(Call) -> (data, raw)`` that run in worker threads (the exchange
layer is synchronous). The account client is leased from the :class:`ClientPool` only when a handler
asks for it, and released when the request ends.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from exchange import AccountClient, PublicClient
from gateway.clients import AccountSession, ClientPool
from gateway.protocol import FmzRequest, param_str
from gateway.symbols import Market, parse_symbol

__all__ = ["Call", "Handler", "Options", "Reply"]

Reply = tuple[Any, Any]  # (data, raw)
Handler = Callable[["Call"], Reply]


@dataclass(frozen=True)
class Options:
    """Gateway-wide choices (CLI flags)."""

    margin_mode: str = "cross"  # tdMode of swap orders
    candle_timezone: str = "Asia/Shanghai"  # 6h+ bars: OKX native (UTC+8) or "UTC" (1Dutc...)


class Call:
    """What a handler may use for one request: params, clients (leased lazily), options."""

    def __init__(self, request: FmzRequest, pool: ClientPool, options: Options, stack: ExitStack) -> None:
        self.request = request
        self.params = request.params
        self.options = options
        self._pool = pool
        self._stack = stack
        self._session: AccountSession | None = None

    def public(self) -> PublicClient:
        return self._pool.public(self.request.wants_demo())

    def session(self) -> AccountSession:
        """The account session of the request's credentials (BadRequest if they are missing)."""
        if self._session is None:
            keys = self.request.keys()
            self._session = self._stack.enter_context(self._pool.account(keys))
        return self._session

    def account(self) -> AccountClient:
        return self.session().client

    def market(self, name: str = "symbol") -> Market:
        return parse_symbol(param_str(self.params, name))
