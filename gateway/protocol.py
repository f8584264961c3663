"""The FMZ custom-protocol envelope: parse a docker request, build ``{"data", "raw"}`` / ``{"error"}``.

Pure: no I/O. The docker POSTs one JSON object::

    {"access_key": "...", "secret_key": "secret,passphrase[,simulate]",
     "method": "ticker", "nonce": 1730275031047002000, "params": {"symbol": "BTC_USDT"}}

``params`` values are mostly strings (``"limit": "30"``) but may be JSON numbers (``historyorders``);
both are accepted everywhere. ``nonce`` (19-digit nanoseconds, beyond float precision) is optional and
never interpreted. The HTTP verb of an ``__api_<path>`` passthrough comes from the ``Http-Method``
header. Every failure is a :class:`BadRequest` whose message never contains a credential.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from core.redaction import redact

__all__ = [
    "API_PREFIX",
    "BadRequest",
    "FmzKeys",
    "FmzRequest",
    "fail",
    "ok",
    "param_decimal",
    "param_int",
    "param_str",
    "parse_body",
    "parse_secret_key",
]

API_PREFIX = "__api_"
_REQUIRED = ("access_key", "secret_key", "method", "params")
_HTTP_VERBS = ("GET", "POST", "PUT", "DELETE")
_MAX_PARAM_LEN = 256


class BadRequest(ValueError):
    """The request cannot be served as sent; the message goes back to FMZ as ``error``."""


@dataclass(frozen=True)
class FmzKeys:
    """OKX credentials carried by one request. ``repr`` never shows them."""

    access_key: str = field(repr=False)
    secret: str = field(repr=False)
    passphrase: str = field(repr=False)
    simulate: bool = False


@dataclass(frozen=True)
class FmzRequest:
    """One validated docker request."""

    method: str
    params: Mapping[str, Any]
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    http_method: str | None = None  # the ``Http-Method`` header, upper case

    @property
    def is_api(self) -> bool:
        return self.method.startswith(API_PREFIX)

    @property
    def api_path(self) -> str:
        """The passthrough path: the prefix stripped exactly once, never split on ``_``."""
        return self.method[len(API_PREFIX) :]

    @property
    def symbol(self) -> str:
        """``params.symbol`` as sent (for logs), or ``""``."""
        value = self.params.get("symbol")
        return value if isinstance(value, str) else ""

    def keys(self) -> FmzKeys:
        """The credentials, or :class:`BadRequest` when they are missing or malformed."""
        return parse_secret_key(self.access_key, self.secret_key)

    def secrets(self) -> list[str]:
        """Every credential-like value of the request (to register with core.redaction)."""
        parts = [self.access_key, self.secret_key, *self.secret_key.split(",")]
        return [p.strip() for p in parts if p.strip() and p.strip().lower() != "simulate"]

    def wants_demo(self) -> bool:
        """True when ``secret_key`` ends with ``,simulate`` (lenient: public calls need no keys)."""
        parts = self.secret_key.split(",")
        return len(parts) >= 3 and parts[-1].strip().lower() == "simulate"


def parse_secret_key(access_key: str, secret_key: str) -> FmzKeys:
    """Split ``secret,passphrase[,simulate]`` (the guide's convention for OKX's third secret)."""
    if not access_key.strip() or not secret_key.strip():
        raise BadRequest("credentials missing: set Access Key and Secret Key in the FMZ exchange config")
    parts = [p.strip() for p in secret_key.split(",")]
    simulate = False
    if len(parts) == 3 and parts[2].lower() == "simulate":
        simulate = True
        parts = parts[:2]
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise BadRequest("secret_key must be 'secret,passphrase' or 'secret,passphrase,simulate'")
    return FmzKeys(access_key.strip(), parts[0], parts[1], simulate)


def parse_body(body: bytes, http_method: str | None = None) -> FmzRequest:
    """Validate a request body (and the ``Http-Method`` header). Raises :class:`BadRequest`."""
    if not body or not body.strip():
        raise BadRequest("empty request body: expected a JSON object")
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        raise BadRequest("invalid JSON") from None
    if not isinstance(doc, dict):
        raise BadRequest(f"request must be a JSON object, got {_kind(doc)}")
    missing = [k for k in _REQUIRED if k not in doc]
    if missing:
        raise BadRequest(f"missing required parameters: {', '.join(missing)}")
    for name in ("access_key", "secret_key", "method"):
        if not isinstance(doc[name], str):
            raise BadRequest(f"{name} must be a string, got {_kind(doc[name])}")
    method = doc["method"].strip()
    if not method:
        raise BadRequest("method is empty")
    params = doc["params"]
    if not isinstance(params, dict):
        raise BadRequest(f"params must be an object, got {_kind(params)}")
    verb = http_method.strip().upper() if http_method else None
    if verb is not None and verb not in _HTTP_VERBS:
        raise BadRequest(f"Http-Method must be one of {', '.join(_HTTP_VERBS)}")
    return FmzRequest(method, params, doc["access_key"], doc["secret_key"], verb)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "object", list: "array", str: "string", bool: "boolean"}.get(type(value), "number")


# ---- params -------------------------------------------------------------------------------


def _scalar(params: Mapping[str, Any], name: str) -> str | None:
    """A param as text (strings and JSON numbers alike); None when absent, null or empty."""
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadRequest(f"{name} must be a string or a number, got {_kind(value)}")
    text = value.strip() if isinstance(value, str) else repr(value)
    if len(text) > _MAX_PARAM_LEN:
        raise BadRequest(f"{name} is too long")
    return text or None


def param_str(params: Mapping[str, Any], name: str, default: str | None = None) -> str:
    """A required (or defaulted) text param."""
    text = _scalar(params, name)
    if text is None:
        if default is None:
            raise BadRequest(f"{name} required")
        return default
    return text


def param_decimal(params: Mapping[str, Any], name: str, default: Decimal | None = None) -> Decimal:
    """A finite decimal param (``"0.1"`` or ``0.1``); ``default`` when absent."""
    text = _scalar(params, name)
    if text is None:
        if default is None:
            raise BadRequest(f"{name} required")
        return default
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise BadRequest(f"{name} must be a number, got {text[:32]!r}") from None
    if not value.is_finite():
        raise BadRequest(f"{name} must be a finite number, got {text[:32]!r}")
    return value


def param_int(
    params: Mapping[str, Any], name: str, default: int, *, minimum: int = 0, maximum: int | None = None
) -> int:
    """An integer param (``"30"``, ``30`` or ``30.0``), clamped to ``maximum``; ``default`` when absent."""
    if _scalar(params, name) is None:
        return default
    value = param_decimal(params, name)
    if value != value.to_integral_value():
        raise BadRequest(f"{name} must be an integer, got {value}")
    number = int(value)
    if number < minimum:
        raise BadRequest(f"{name} must be >= {minimum}, got {number}")
    return number if maximum is None else min(number, maximum)


# ---- replies ------------------------------------------------------------------------------


def ok(data: Any, raw: Any = None) -> dict[str, Any]:
    """A success reply: ``data`` plus, when known, OKX's reply in ``raw``."""
    reply: dict[str, Any] = {"data": data}
    if raw is not None:
        reply["raw"] = raw
    return reply


def fail(message: str) -> dict[str, Any]:
    """An error reply: one non-empty string, with anything secret-looking masked."""
    text = redact(str(message).strip()) or "unknown error"
    return {"error": text}
