"""Account leases in Redis: at most one trader trades an account, across every host.

The lease is a key ``<prefix>:lease:<account>`` set with ``SET NX PX`` to ``<token>|<holder>``,
where ``token`` is a fencing token from ``INCR <prefix>:fence:<account>`` (it only grows, so a
later holder always has a larger token). The holder renews it every third of the lease period
(:class:`LeaseKeeper`); every order batch is preceded by :meth:`AccountLease.check` (through
:class:`FencedClient`), a compare-and-renew script that fails unless the key still holds *this*
token. A holder that cannot renew (Redis down, or another took over after a pause) stops sending
at once: :class:`LeaseLost`. A second trader for the account waits as a hot standby, trying
:meth:`AccountLease.try_acquire` every tenth of the period, and takes over when the key lapses.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import redis

from bus.connect import REDIS_ERRORS
from bus.keys import Keys
from exchange.errors import ExchangeError
from exchange.records import OrderAck, OrderRequest
from trader.ports import AccountPort

__all__ = ["AccountLease", "FencedClient", "LeaseInfo", "LeaseKeeper", "LeaseLost", "read_lease"]

log = logging.getLogger(__name__)

_ACQUIRE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token .. '|' .. ARGV[1], 'PX', ARGV[2])
redis.call('SET', KEYS[3], token .. '|' .. ARGV[1])
return token
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class LeaseLost(Exception):
    """This process does not (or can no longer prove it does) hold the account's lease."""


@dataclass(frozen=True)
class LeaseInfo:
    """Who holds an account's lease (the operator view)."""

    account: str
    token: int
    holder: str
    ttl_ms: int


def _parse(value: bytes | str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    text = value.decode() if isinstance(value, bytes) else value
    token, _, holder = text.partition("|")
    return int(token), holder


def read_lease(client: redis.Redis, keys: Keys, account: str) -> LeaseInfo | None:
    """The account's current lease, or None if nobody holds it."""
    raw: Any = client
    pipe = raw.pipeline(transaction=True)
    pipe.get(keys.lease(account))
    pipe.pttl(keys.lease(account))
    value, ttl = pipe.execute()
    parsed = _parse(value)
    return None if parsed is None else LeaseInfo(account, parsed[0], parsed[1], int(ttl))


class AccountLease:
    """One process's claim on one account (``holder`` names the host and process)."""

    def __init__(self, client: redis.Redis, keys: Keys, account: str, holder: str, lease_s: float) -> None:
        if "|" in holder:
            raise ValueError(f"lease holder name may not contain '|': {holder!r}")
        self.client: Any = client
        self.keys = keys
        self.account = account
        self.holder = holder
        self.lease_ms = int(lease_s * 1000)
        self.token: int | None = None
        self._acquire = self.client.register_script(_ACQUIRE)
        self._renew = self.client.register_script(_RENEW)
        self._release = self.client.register_script(_RELEASE)
        self._lock = threading.Lock()

    @property
    def value(self) -> str:
        if self.token is None:
            raise LeaseLost(f"account {self.account}: no lease held")
        return f"{self.token}|{self.holder}"

    @property
    def held(self) -> bool:
        return self.token is not None

    def try_acquire(self) -> bool:
        """Take the lease if nobody holds it; True if this process now holds it."""
        acct = self.account
        keys = [self.keys.lease(acct), self.keys.fence(acct), self.keys.lease_holder(acct)]
        token = self._acquire(keys=keys, args=[self.holder, self.lease_ms])
        if token is None:
            return False
        with self._lock:
            self.token = int(token)
        log.info("account %s: lease acquired by %s, fencing token %s", self.account, self.holder, token)
        return True

    def check(self) -> int:
        """Renew the lease if this process still holds it and return the token; else :class:`LeaseLost`.

        Called before every order batch: an order is only sent while the lease is provably ours."""
        with self._lock:
            value = self.value
            try:
                ok = self._renew(keys=[self.keys.lease(self.account)], args=[value, self.lease_ms])
            except REDIS_ERRORS as exc:
                raise LeaseLost(f"account {self.account}: Redis unreachable, lease unproven: {exc}") from exc
            if not ok:
                self.token = None
                raise LeaseLost(f"account {self.account}: lease {value} is no longer held")
            return int(value.split("|", 1)[0])

    def release(self) -> None:
        with self._lock:
            if self.token is None:
                return
            value, self.token = self.value, None
        try:
            self._release(keys=[self.keys.lease(self.account)], args=[value])
        except REDIS_ERRORS as exc:
            log.warning("account %s: lease not released (it lapses by itself): %s", self.account, exc)


class LeaseKeeper:
    """Renews a held lease every third of its period in a thread; on failure calls ``on_lost``
    (which stops the trader) — also when Redis stays unreachable until the lease would lapse."""

    def __init__(self, lease: AccountLease, on_lost: Callable[[str], None]) -> None:
        self.lease = lease
        self.on_lost = on_lost
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{lease.account}", daemon=True)

    def start(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def _run(self) -> None:
        period = self.lease.lease_ms / 1000
        valid_until = time.monotonic() + period
        while not self._stop.wait(period / 3):
            started = time.monotonic()
            try:
                self.lease.check()
                valid_until = started + period
            except LeaseLost as exc:
                cause = exc.__cause__
                if cause is not None and time.monotonic() < valid_until:
                    log.warning("lease renewal failed, retrying: %s", exc)
                    continue
                self.on_lost(str(exc))
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)


class FencedClient:
    """An :class:`~trader.ports.AccountPort` that checks the lease before sending orders.

    Reads pass straight through; ``place_order`` and ``place_orders`` first run
    :meth:`AccountLease.check` and raise :class:`LeaseLost` instead of sending if it fails."""

    def __init__(self, inner: AccountPort, lease: AccountLease) -> None:
        self.inner = inner
        self.lease = lease

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def place_order(self, req: OrderRequest) -> OrderAck:
        self.lease.check()
        return self.inner.place_order(req)

    def place_orders(self, reqs: Sequence[OrderRequest]) -> list[OrderAck | ExchangeError]:
        self.lease.check()
        return self.inner.place_orders(reqs)

    def set_leverage(
        self, inst_id: str, lever: Decimal, mgn_mode: str = "cross", pos_side: str | None = None
    ) -> Any:
        self.lease.check()
        return self.inner.set_leverage(inst_id, lever, mgn_mode, pos_side)
