"""A bounded LRU cache of OKX account clients, one per FMZ credential set, plus the public clients.

The docker sends the credentials with every request; building a client (python-okx objects, a rate
limiter, a server-time offset) per request would waste the account's rate budget and time. Clients
are cached under a **fingerprint**: a keyed BLAKE2b of (access key, secret, passphrase, simulate)
with a random per-process key, so no raw secret is ever a dict key and the fingerprint cannot be
brute-forced offline. The fingerprint's first 8 hex digits name the account in logs (``fmz-1a2b3c4d``).

Leases are reference-counted: when the cache is over ``max_accounts`` the least recently used
client is evicted and closed as soon as no in-flight request still holds it. Secrets are registered
with :mod:`core.redaction` the first time a credential set is seen.

What a client costs is bounded, not just how many are cached: every account client of a mode shares
one HTTP client (TLS context, connections) and one server-time offset (:class:`exchange.shared.SharedHttp`),
so a new credential set costs a few kB and no ``public/time`` call, and more credential sets than
``max_accounts`` in rotation re-create only that light part. A client is built outside the pool
lock (concurrent requests for the same keys wait for the one build); other requests go on meanwhile.

Mode per request: ``--exchange live`` plus ``secret_key`` ending in ``,simulate`` -> OKX demo
trading (``x-simulated-trading: 1``) on the same host; ``demo`` and ``simulator`` ignore the flag.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from config.credentials import Credentials
from config.schema import ExchangeSettings
from core.clock import Clock
from core.redaction import register_secret
from exchange import AccountClient, PublicClient, make_public_client
from exchange.shared import SharedHttp
from gateway.protocol import FmzKeys

__all__ = ["AccountSession", "ClientPool", "fingerprint"]

log = logging.getLogger(__name__)


AccountFactory = Callable[[ExchangeSettings, Credentials, Clock, str], AccountClient]
PublicFactory = Callable[[ExchangeSettings, Clock], PublicClient]


def fingerprint(keys: FmzKeys, salt: bytes) -> str:
    """A keyed hash of the credential set (hex); never reveals the secrets."""
    h = hashlib.blake2b(key=salt, digest_size=16)
    for part in (keys.access_key, keys.secret, keys.passphrase, "1" if keys.simulate else "0"):
        h.update(part.encode())
        h.update(b"\x00")
    return h.hexdigest()


@dataclass
class AccountSession:
    """A cached account client and facts learnt about the account (e.g. its position mode)."""

    client: AccountClient
    name: str
    memo: dict[str, Any] = field(default_factory=dict)
    leases: int = 0
    evicted: bool = False


class ClientPool:
    """Thread-safe client cache shared by every request handler."""

    def __init__(
        self,
        settings: ExchangeSettings,
        clock: Clock,
        *,
        max_accounts: int = 64,
        account_factory: AccountFactory | None = None,
        public_factory: PublicFactory | None = None,
    ) -> None:
        if max_accounts < 1:
            raise ValueError("max_accounts must be >= 1")
        self.settings = settings
        self.clock = clock
        self.max_accounts = max_accounts
        self._shared: dict[str, SharedHttp] = {}
        self._build_lock = threading.Lock()
        self._account_factory = account_factory or self._shared_account_client
        self._public_factory = public_factory or _default_public_factory
        self._salt = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._accounts: OrderedDict[str, AccountSession] = OrderedDict()
        self._building: dict[str, threading.Event] = {}
        self._public: dict[str, PublicClient] = {}
        self._closed = False

    def settings_for(self, simulate: bool) -> ExchangeSettings:
        """The exchange settings of a request: live + ``simulate`` -> demo on the same host."""
        if self.settings.mode == "live" and simulate:
            return self.settings.model_copy(update={"mode": "demo"})
        return self.settings

    def public(self, simulate: bool = False) -> PublicClient:
        """The shared public client of the request's mode (public budgets are per IP)."""
        settings = self.settings_for(simulate)
        with self._build_lock:  # not the pool lock: account leases go on while it is built
            if self._closed:
                raise RuntimeError("client pool is closed")
            client = self._public.get(settings.mode)
            if client is None:
                client = self._public_factory(settings, self.clock)
                self._public[settings.mode] = client
            return client

    @contextmanager
    def account(self, keys: FmzKeys) -> Iterator[AccountSession]:
        """Lease the account client of ``keys`` for the duration of one request."""
        session = self._acquire(keys)
        try:
            yield session
        finally:
            self._release(session)

    def _acquire(self, keys: FmzKeys) -> AccountSession:
        fp = fingerprint(keys, self._salt)
        while True:
            with self._lock:
                if self._closed:
                    raise RuntimeError("client pool is closed")
                session = self._accounts.get(fp)
                if session is not None:
                    self._accounts.move_to_end(fp)
                    session.leases += 1
                    return session
                building = self._building.get(fp)
                if building is None:
                    self._building[fp] = threading.Event()
                    break
            building.wait()  # another request is building this client: use it (or build if that failed)
        try:
            session = self._build(fp, keys)
        except BaseException:
            with self._lock:
                self._building.pop(fp).set()
            raise
        return self._insert(fp, session)

    def _build(self, fp: str, keys: FmzKeys) -> AccountSession:
        """Build one account client; runs without the pool lock."""
        for value in (keys.access_key, keys.secret, keys.passphrase):
            register_secret(value)
        name = f"fmz-{fp[:8]}"
        creds = Credentials(keys.access_key, keys.secret, keys.passphrase)
        client = self._account_factory(self.settings_for(keys.simulate), creds, self.clock, name)
        return AccountSession(client, name)

    def _insert(self, fp: str, session: AccountSession) -> AccountSession:
        evicted: list[AccountSession] = []
        with self._lock:
            self._building.pop(fp).set()
            closed = self._closed
            if closed:
                evicted.append(session)
            else:
                self._accounts[fp] = session
                session.leases += 1
                log.info("new account client %s (%d cached)", session.name, len(self._accounts))
                while len(self._accounts) > self.max_accounts:
                    _, old = self._accounts.popitem(last=False)
                    old.evicted = True
                    if old.leases == 0:
                        evicted.append(old)
        for old in evicted:
            _close(old)
        if closed:
            raise RuntimeError("client pool is closed")
        return session

    def _shared_account_client(
        self, settings: ExchangeSettings, creds: Credentials, clock: Clock, name: str
    ) -> AccountClient:
        with self._build_lock:  # not the pool lock: cached clients stay available meanwhile
            if self._closed:
                raise RuntimeError("client pool is closed")
            shared = self._shared.get(settings.mode)
            if shared is None:
                shared = self._shared[settings.mode] = SharedHttp(settings, clock)
        return shared.account_client(creds, account=name)

    def _release(self, session: AccountSession) -> None:
        with self._lock:
            session.leases -= 1
            close_now = session.evicted and session.leases == 0
        if close_now:
            _close(session)

    def __len__(self) -> int:
        with self._lock:
            return len(self._accounts)

    def close(self) -> None:
        """Close every client (in-flight leases keep theirs until released)."""
        with self._lock:
            self._closed = True
            sessions = list(self._accounts.values())
            self._accounts.clear()
            idle = []
            for s in sessions:
                s.evicted = True
                if s.leases == 0:
                    idle.append(s)
        for s in idle:
            _close(s)
        with self._build_lock:
            publics = list(self._public.values())
            self._public.clear()
            shared = list(self._shared.values())
            self._shared.clear()
        for client in publics:
            _safe_close(client, "public client")
        for http in shared:
            _safe_close(http, f"shared {http.settings.mode} HTTP client")


def _close(session: AccountSession) -> None:
    log.info("closing account client %s", session.name)
    _safe_close(session.client, session.name)


def _safe_close(client: Any, name: str) -> None:
    try:
        client.close()
    except Exception:
        log.exception("closing %s failed", name)


def _default_public_factory(settings: ExchangeSettings, clock: Clock) -> PublicClient:
    return make_public_client(settings, clock)
