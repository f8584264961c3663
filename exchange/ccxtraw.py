"""ccxt's ``okx`` class as a raw public-REST transport, configured once per mode.

We only use ccxt's implicit API (``request('market/candles', 'public', 'GET', params)``): its
``fetch_ohlcv`` drops the candle ``confirm`` flag, and its own throttle does not know OKX's per-IP
budgets. :class:`RawOkx` replaces ccxt's error handling so that every non-success reply raises an
:mod:`exchange.errors` exception built from the OKX code (or the HTTP status for non-JSON bodies).

Threads: a ccxt sync instance keeps per-call state (``last_http_response``...) and a
``requests.Session`` that is not documented as thread-safe, so :class:`exchange.public.PublicClient`
gives each worker thread its own instance (cheap: markets are never loaded) and shares one
:class:`RateLimiter` between them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import ccxt

from config.schema import DEFAULT_BASE_URLS, ExchangeSettings
from exchange.envelope import check_envelope, envelope_code, error_for_http_status
from exchange.errors import BadResponse, ExchangeError, ExchangeUnavailable

__all__ = ["RawOkx", "call_public", "new_public_exchange"]


class RawOkx(ccxt.okx):
    """ccxt okx whose HTTP error handling raises okxfleet errors (keeps the OKX code)."""

    def handle_errors(
        self,
        code: int,
        reason: str,
        url: str,
        method: str,
        headers: Any,
        body: str | None,
        response: Any,
        request_headers: Any,
        request_body: Any,
    ) -> None:
        endpoint = urlsplit(url).path
        env = envelope_code(response)
        if env is not None and env != "0":
            check_envelope(response, endpoint)  # raises the mapped error
        if code >= 400 or response is None:
            raise error_for_http_status(code, body or "", endpoint=endpoint)
        return None


def new_public_exchange(settings: ExchangeSettings) -> RawOkx:
    """A keyless ccxt okx instance for ``settings.mode`` (sandbox first, then the URL override)."""
    ex = RawOkx(
        {
            "enableRateLimit": False,  # our RateLimiter knows OKX's per-IP budgets
            "timeout": int(settings.timeout_s * 1000),
            "options": {"fetchMarkets": {"types": ["spot", "swap"]}},
        }
    )
    if settings.mode == "demo":
        ex.set_sandbox_mode(True)  # adds x-simulated-trading: 1; must precede the URL override
    default = DEFAULT_BASE_URLS.get(settings.mode)
    if settings.mode == "simulator" or settings.url != default:
        ex.urls["api"]["rest"] = settings.url
    return ex


def call_public(ex: RawOkx, path: str, params: dict[str, Any]) -> Any:
    """GET ``/api/v5/<path>`` through ccxt; ccxt's own exceptions become okxfleet errors."""
    try:
        return ex.request(path, ["public"], "GET", params)
    except ExchangeError:
        raise
    except ccxt.NetworkError as exc:  # timeouts, connection failures, DDoS protection
        raise ExchangeUnavailable("", f"no reply ({type(exc).__name__})", endpoint=path) from exc
    except ccxt.BaseError as exc:
        raise BadResponse("", f"{type(exc).__name__}: {exc}", endpoint=path) from exc
