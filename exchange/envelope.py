"""Checking OKX reply envelopes: top-level ``code`` and every per-item ``sCode``.

OKX answers ``{"code": "0", "msg": "", "data": [...]}`` with HTTP 200 for most business errors.
Order endpoints put ``sCode``/``sMsg`` on each item; the top-level code is then ``"1"`` (all failed)
or ``"2"`` (batch partly succeeded). Some auth errors arrive with no ``data`` at all. Every reply
the exchange layer receives goes through :func:`check_envelope` (single result) or
:func:`check_batch` (one result per request item). Messages OKX sends back are redacted before
they become part of an exception (an error can echo a key).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.redaction import redact
from exchange.errors import (
    BadResponse,
    ExchangeError,
    ExchangeRateLimited,
    ExchangeUnavailable,
    UnknownOutcome,
    error_for_code,
)

__all__ = ["check_batch", "check_envelope", "envelope_code", "error_for_http_status"]

_ITEM_CODES = ("0", "1", "2")


def envelope_code(reply: Any) -> str | None:
    """The top-level ``code`` of a reply as a string, or None if it has none."""
    if isinstance(reply, Mapping) and "code" in reply and reply["code"] is not None:
        return str(reply["code"])
    return None


def _data(reply: Mapping[str, Any], endpoint: str) -> list[Any]:
    data = reply.get("data")
    if data is None:
        return []
    if not isinstance(data, list):
        raise BadResponse("", f"'data' is {type(data).__name__}, not a list", endpoint=endpoint)
    return data


def _item_error(item: Any, code: str, endpoint: str) -> ExchangeError | None:
    """The error carried by one ``data`` item (``sCode != "0"``), else None."""
    if not isinstance(item, Mapping):
        return None
    s_code = item.get("sCode")
    if s_code is None or str(s_code) in ("", "0"):
        return None
    msg = redact(str(item.get("sMsg") or ""))
    return error_for_code(code, msg, endpoint=endpoint, s_code=str(s_code))


def _top_error(reply: Mapping[str, Any], code: str, endpoint: str) -> ExchangeError:
    return error_for_code(code, redact(str(reply.get("msg") or "")), endpoint=endpoint)


def check_envelope(reply: Any, endpoint: str = "") -> list[Any]:
    """``reply["data"]`` if the call succeeded, else raise the mapped :class:`ExchangeError`.

    A missing ``data`` is an empty list. The first failing item's ``sCode`` wins over the
    top-level code (it carries the real reason: ``code`` "1" only says "see the items").
    """
    if not isinstance(reply, Mapping):
        raise BadResponse("", f"reply is {type(reply).__name__}, not an object", endpoint=endpoint)
    code = envelope_code(reply)
    if code is None:
        raise BadResponse("", "reply has no 'code'", endpoint=endpoint)
    data = _data(reply, endpoint)
    for item in data:
        err = _item_error(item, code, endpoint)
        if err is not None:
            raise err
    if code != "0":
        raise _top_error(reply, code, endpoint)
    return data


def check_batch(reply: Any, endpoint: str, expected: int) -> list[Any | ExchangeError]:
    """One entry per request item: the item's data on success, its :class:`ExchangeError` otherwise.

    A top-level failure that is not about items (e.g. 50011, 50004, auth) raises: it concerns the
    whole request. Code "1"/"2" replies are split per item. A reply whose item count does not match
    ``expected`` is a :class:`BadResponse`.
    """
    if not isinstance(reply, Mapping):
        raise BadResponse("", f"reply is {type(reply).__name__}, not an object", endpoint=endpoint)
    code = envelope_code(reply)
    if code is None:
        raise BadResponse("", "reply has no 'code'", endpoint=endpoint)
    data = _data(reply, endpoint)
    if code not in _ITEM_CODES or (code != "0" and not data):
        raise _top_error(reply, code, endpoint)
    if len(data) != expected:
        raise BadResponse(
            code, f"batch reply has {len(data)} items for {expected} requests", endpoint=endpoint
        )
    out: list[Any | ExchangeError] = []
    for item in data:
        err = _item_error(item, code, endpoint)
        if err is None and code == "1" and not (isinstance(item, Mapping) and "sCode" in item):
            err = _top_error(reply, code, endpoint)
        out.append(err if err is not None else item)
    return out


def error_for_http_status(
    status: int, text: str, *, endpoint: str = "", mutating: bool = False
) -> ExchangeError:
    """An error for an HTTP failure whose body carries no OKX code (e.g. a bare 429 or 502 page).

    ``mutating`` is True for calls that create, amend or cancel orders: a 5xx there may have been
    executed, so the outcome is unknown.
    """
    snippet = redact(" ".join(text.split())[:200])
    msg = f"HTTP {status}" + (f": {snippet}" if snippet else "")
    if status == 429:
        return ExchangeRateLimited("429", msg, endpoint=endpoint)
    if status >= 500:
        if mutating:
            return UnknownOutcome(str(status), msg, endpoint=endpoint)
        return ExchangeUnavailable(str(status), msg, endpoint=endpoint)
    if status in (401, 403):
        # No OKX code: a CDN/WAF page or a proxy, not OKX refusing the keys (OKX says 501xx in
        # JSON). Not a definite refusal, so temporary: the caller retries with backoff.
        return ExchangeUnavailable(str(status), f"{msg} (no OKX error code)", endpoint=endpoint)
    return BadResponse(str(status), msg, endpoint=endpoint)
