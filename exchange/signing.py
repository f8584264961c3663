"""Request signing and the server-time offset it depends on.

OKX rejects a signed request whose ``OK-ACCESS-TIMESTAMP`` is more than 30 s away from its own
clock (50102). :class:`ServerTime` measures the offset between the injected clock and OKX's
``public/time`` (midpoint of the round trip) and signs with ``clock.now() + offset``; it re-measures
after ``max_age_s`` and whenever a 50102 says the offset went stale.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from core.clock import Clock

__all__ = ["ServerTime", "okx_timestamp", "sign"]

log = logging.getLogger(__name__)


def okx_timestamp(ts: datetime) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``: ``2020-12-08T09:08:57.715Z``."""
    if ts.tzinfo is None:
        raise ValueError("okx_timestamp needs an aware datetime")
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sign(secret: str, ts: str, method: str, path_with_query: str, body: str) -> str:
    """base64(HMAC-SHA256(secret, ts + METHOD + path?query + body))."""
    message = f"{ts}{method.upper()}{path_with_query}{body}"
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class ServerTime:
    """OKX's clock as seen from ``clock``: ``now() = clock.now() + offset``. Thread-safe.

    ``fetch`` returns OKX's time (one ``public/time`` call); it is called lazily, on the first
    :meth:`now`, again after ``max_age_s``, and on :meth:`resync`.
    """

    def __init__(self, clock: Clock, fetch: Callable[[], datetime], *, max_age_s: float = 3600.0) -> None:
        self._clock = clock
        self._fetch = fetch
        self._max_age = timedelta(seconds=max_age_s)
        self._lock = threading.Lock()
        self._offset: timedelta | None = None
        self._measured_at: datetime | None = None

    @property
    def offset(self) -> timedelta | None:
        """The last measured offset (None before the first measurement)."""
        return self._offset

    def measure(self) -> timedelta:
        """Ask OKX for its time now and store the offset."""
        with self._lock:
            return self._measure_locked()

    def _measure_locked(self) -> timedelta:
        sent = self._clock.now()
        server = self._fetch()
        received = self._clock.now()
        offset = server - (sent + (received - sent) / 2)
        if self._offset is None or abs(offset - self._offset) > timedelta(seconds=1):
            log.info("server time offset %.3fs", offset.total_seconds())
        self._offset = offset
        self._measured_at = received
        return offset

    def resync(self, stale: timedelta | None = None) -> timedelta:
        """Re-measure unless another thread already did since ``stale`` was read."""
        with self._lock:
            if stale is not None and self._offset is not None and self._offset != stale:
                return self._offset
            return self._measure_locked()

    def now(self) -> datetime:
        """OKX's current time."""
        local = self._clock.now()
        with self._lock:
            too_old = self._measured_at is None or local - self._measured_at > self._max_age
            if self._offset is None or too_old:
                self._measure_locked()
                local = self._clock.now()
            assert self._offset is not None
            return local + self._offset

    def timestamp(self) -> str:
        """The ``OK-ACCESS-TIMESTAMP`` value for a request sent now."""
        return okx_timestamp(self.now())
