"""Keeping secrets out of every log line, message and file.

Two nets: exact values registered at start-up (API keys, secrets, passphrases, webhook tokens,
robot secrets) and patterns for things that look like credentials wherever they come from
(``OK-ACCESS-SIGN: …``, ``access_token=…``, ``"secret_key": "…"``, DingTalk ``SEC…`` secrets).
"""

from __future__ import annotations

import re
import threading

__all__ = ["MASK", "clear_secrets", "redact", "register_secret"]

MASK = "***"
_MIN_SECRET_LEN = 4
_lock = threading.Lock()
_secrets: set[str] = set()

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
    if value and len(value) >= _MIN_SECRET_LEN:
        with _lock:
            _secrets.add(value)


def clear_secrets() -> None:
    """Forget registered secrets (tests)."""
    with _lock:
        _secrets.clear()


def redact(text: str) -> str:
    """``text`` with every registered secret and credential-looking value masked."""
    if not text:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group("k") + MASK, text)
    return text
