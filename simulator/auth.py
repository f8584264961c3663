"""OKX REST request authentication: headers, timestamp skew and the HMAC-SHA256 signature.

sign = base64(HMAC-SHA256(secret, timestamp + METHOD + path?query (raw, as sent) + raw body)).
The ``x-simulated-trading`` header is accepted with any value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Protocol, TypeVar

from simulator.errors import OkxError

__all__ = ["MAX_SKEW_MS", "Credentials", "sign", "verify"]

MAX_SKEW_MS = 30_000


class Credentials(Protocol):
    """What :func:`verify` needs from an account."""

    key: str
    secret: str
    passphrase: str


C = TypeVar("C", bound=Credentials)


def sign(secret: str, prehash: bytes) -> str:
    """base64 HMAC-SHA256 of ``prehash`` keyed with ``secret``."""
    digest = hmac.new(secret.encode(), prehash, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _parse_ts(text: str) -> int:
    if not text.endswith("Z") or "T" not in text:
        raise OkxError("50112")
    try:
        dt = datetime.fromisoformat(text[:-1] + "+00:00")
    except ValueError:
        raise OkxError("50112") from None
    return int(dt.timestamp() * 1000)


def verify(
    headers: Mapping[str, str],
    method: str,
    raw_path: str,
    body: bytes,
    accounts: Mapping[str, C],
    now_ms: int,
    *,
    check_skew: bool = True,
) -> C:
    """The account whose key signed the request, or :class:`OkxError` (HTTP 401)."""
    key = headers.get("OK-ACCESS-KEY", "")
    if not key:
        raise OkxError("50103")
    passphrase = headers.get("OK-ACCESS-PASSPHRASE", "")
    if not passphrase:
        raise OkxError("50104")
    signature = headers.get("OK-ACCESS-SIGN", "")
    if not signature:
        raise OkxError("50106")
    stamp = headers.get("OK-ACCESS-TIMESTAMP", "")
    if not stamp:
        raise OkxError("50107")
    ts = _parse_ts(stamp)
    if check_skew and abs(ts - now_ms) > MAX_SKEW_MS:
        raise OkxError("50102")
    account = accounts.get(key)
    if account is None:
        raise OkxError("50111")
    if not hmac.compare_digest(passphrase, account.passphrase):
        raise OkxError("50105")
    expected = sign(account.secret, (stamp + method.upper() + raw_path).encode() + body)
    if not hmac.compare_digest(expected, signature):
        raise OkxError("50113")
    return account
