"""Keeping secrets out of every log line, message and file.

Two nets: exact values registered at start-up (API keys, secrets, passphrases, webhook tokens,
robot secrets) and patterns for things that look like credentials wherever they come from
(``OK-ACCESS-SIGN: …``, ``access_token=…``, ``"secret_key": "…"``, DingTalk ``SEC…`` secrets).

The registry is bounded: a gateway registers the keys of every request it sees, and an unbounded
set would grow with every new credential set (and every log line would scan all of them). Past
:data:`MAX_SECRETS` values the least recently registered is forgotten; registering a value again
(the gateway does, on every request) makes it the most recent. A trader or collector registers a
handful at start and never comes near the bound.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict

__all__ = ["MASK", "MAX_SECRETS", "clear_secrets", "redact", "register_secret", "registered_count"]

MASK = "***"
MAX_SECRETS = 4096
_MIN_SECRET_LEN = 4
_lock = threading.Lock()
_secrets: OrderedDict[str, None] = OrderedDict()  # least recently registered first
_by_length: tuple[str, ...] | None = None  # longest first; rebuilt after a change

_KEY_NAMES = (
    r"ok-access-(?:key|sign|passphrase)|api[_-]?key|apikey|secret(?:[_-]?key)?|passphrase|"
    r"password|access[_-]?key|access_token|sign|token"
)
_PATTERNS = [
    # key: value / key=value / "key": "value" (value up to a delimiter)
    re.compile(r"(?i)(?P<k>[\"']?\b(?:" + _KEY_NAMES + r")\b[\"']?\s*[:=]\s*[\"']?)(?P<v>[^\"'\s,&}\]]+)"),
    # DingTalk signing secrets
    re.compile(r"(?P<k>)(?P<v>\bSEC[0-9a-fA-F]{20,})"),
]


def register_secret(value: str | None) -> None:
    """Remember a secret value so :func:`redact` masks it wherever it appears."""
    global _by_length
    if value and len(value) >= _MIN_SECRET_LEN:
        with _lock:
            if value in _secrets:
                _secrets.move_to_end(value)
                return
            _secrets[value] = None
            while len(_secrets) > MAX_SECRETS:
                _secrets.popitem(last=False)
            _by_length = None


def registered_count() -> int:
    """How many values are registered (at most :data:`MAX_SECRETS`)."""
    with _lock:
        return len(_secrets)


def clear_secrets() -> None:
    """Forget registered secrets (tests)."""
    global _by_length
    with _lock:
        _secrets.clear()
        _by_length = None


def redact(text: str) -> str:
    """``text`` with every registered secret and credential-looking value masked."""
    if not text:
        return text
    global _by_length
    with _lock:
        if _by_length is None:
            _by_length = tuple(sorted(_secrets, key=len, reverse=True))
        secrets = _by_length
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group("k") + MASK, text)
    return text
