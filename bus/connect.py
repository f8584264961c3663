"""Connecting to Redis: one place for timeouts, the error the fleet reacts to, and URL redaction.

A Redis that cannot be reached is a :class:`BusUnavailable` (a :class:`~core.errors.TemporaryError`):
traders wait and alert, never trade on what they could not read; the collector keeps writing its
CSVs and re-publishes what the streams missed once Redis is back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis

from core.errors import TemporaryError

__all__ = ["REDIS_ERRORS", "BusUnavailable", "call", "connect", "guarded", "redacted_url"]

_T = TypeVar("_T")
REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError, OSError)


class BusUnavailable(TemporaryError):
    """Redis could not be reached (or timed out): wait and retry, never guess."""


def redacted_url(url: str) -> str:
    """``url`` without its password (Redis URLs may carry one: ``redis://:secret@host``)."""
    parts = urlsplit(url)
    if parts.password is None and "@" not in parts.netloc:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def connect(url: str, *, timeout_s: float = 5.0, password: str | None = None) -> redis.Redis:
    """A client for ``url`` (``redis://host:port/db``); the connection opens lazily."""
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"Redis URL must start with redis://, rediss:// or unix://: {redacted_url(url)!r}")
    extra = {"password": password} if password else {}
    return redis.Redis.from_url(
        url,
        **extra,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        health_check_interval=30,
    )


@contextmanager
def guarded(what: str) -> Iterator[None]:
    """Turn Redis connection trouble into :class:`BusUnavailable` naming ``what`` was attempted."""
    try:
        yield
    except REDIS_ERRORS as exc:
        raise BusUnavailable(f"Redis unavailable while {what}: {type(exc).__name__}: {exc}") from exc


def call(what: str, fn: Callable[[], _T]) -> _T:
    with guarded(what):
        return fn()
