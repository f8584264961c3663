"""The bounded LRU cache of account clients (gateway.clients), with stand-in clients."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from config.credentials import Credentials
from config.schema import ExchangeSettings
from core.clock import Clock, FakeClock
from core.redaction import redact
from gateway.clients import ClientPool, fingerprint
from gateway.protocol import FmzKeys


class StandIn:
    """What the pool needs from a client: identity and close()."""

    def __init__(self, settings: ExchangeSettings, creds: Credentials, name: str) -> None:
        self.settings = settings
        self.creds = creds
        self.name = name
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


class Factory:
    def __init__(self) -> None:
        self.made: list[StandIn] = []
        self.lock = threading.Lock()

    def account(self, settings: ExchangeSettings, creds: Credentials, clock: Clock, name: str) -> StandIn:
        client = StandIn(settings, creds, name)
        with self.lock:
            self.made.append(client)
        return client

    def public(self, settings: ExchangeSettings, clock: Clock) -> StandIn:
        return StandIn(settings, Credentials("", "", ""), "public")


def pool(mode: str = "simulator", max_accounts: int = 2) -> tuple[ClientPool, Factory]:
    factory = Factory()
    settings = ExchangeSettings(mode=mode, base_url="http://127.0.0.1:8081")  # type: ignore[arg-type]
    p = ClientPool(
        settings, FakeClock(datetime(2024, 1, 1, tzinfo=UTC)), max_accounts=max_accounts,
        account_factory=factory.account, public_factory=factory.public,  # type: ignore[arg-type]
    )  # fmt: skip
    return p, factory


def keys(n: int, simulate: bool = False) -> FmzKeys:
    return FmzKeys(f"ak{n}-key", f"secret{n}-value", f"pass{n}-phrase", simulate)


def test_same_keys_reuse_one_client() -> None:
    p, f = pool()
    with p.account(keys(1)) as a, p.account(keys(1)) as b:
        assert a is b
    assert len(f.made) == 1
    assert f.made[0].creds == Credentials("ak1-key", "secret1-value", "pass1-phrase")
    assert f.made[0].name.startswith("fmz-")


def test_any_difference_in_the_credentials_is_another_client() -> None:
    p, f = pool(max_accounts=10)
    variants = [keys(1), keys(1, simulate=True), FmzKeys("ak1-key", "secret1-value", "other-pass")]
    for k in variants:
        with p.account(k):
            pass
    assert len(f.made) == 3


def test_lru_eviction_closes_the_least_recently_used() -> None:
    p, f = pool(max_accounts=2)
    for n in (1, 2, 1, 3):  # 1 is used again, so 2 is the LRU when 3 arrives
        with p.account(keys(n)):
            pass
    assert len(p) == 2
    closed = {c.creds.api_key: c.closed for c in f.made}
    assert closed == {"ak1-key": 0, "ak2-key": 1, "ak3-key": 0}


def test_an_evicted_client_in_use_is_closed_only_after_release() -> None:
    p, _ = pool(max_accounts=1)
    with p.account(keys(1)) as first:
        with p.account(keys(2)):
            pass
        assert first.client.closed == 0  # still leased by the outer request
    assert first.client.closed == 1
    with p.account(keys(1)) as again:
        assert again is not first  # rebuilt after eviction


def test_secrets_are_registered_for_redaction_and_never_in_the_fingerprint() -> None:
    p, _ = pool()
    k = keys(7)
    with p.account(k) as session:
        assert "secret7" not in session.name
    line = f"x {k.access_key} {k.secret} {k.passphrase} y"
    assert redact(line) == "x *** *** *** y"
    fp = fingerprint(k, b"s" * 32)
    assert all(part not in fp for part in (k.access_key, k.secret, k.passphrase))
    assert fp != fingerprint(k, b"t" * 32)  # keyed: not reproducible without the process salt


def test_live_mode_with_simulate_uses_demo_settings() -> None:
    p, f = pool(mode="live")
    with p.account(keys(1, simulate=True)), p.account(keys(2)):
        pass
    assert [c.settings.mode for c in f.made] == ["demo", "live"]
    assert all(c.settings.url == "http://127.0.0.1:8081" for c in f.made)
    assert p.public(True).settings.mode == "demo"
    assert p.public(False).settings.mode == "live"
    assert p.public(False) is p.public(False)


@pytest.mark.parametrize("mode", ["demo", "simulator"])
def test_other_modes_ignore_simulate(mode: str) -> None:
    p, f = pool(mode=mode)
    with p.account(keys(1, simulate=True)):
        pass
    assert f.made[0].settings.mode == mode


def test_close_closes_everything_and_refuses_new_leases() -> None:
    p, f = pool(max_accounts=5)
    public = p.public()
    for n in range(3):
        with p.account(keys(n)):
            pass
    p.close()
    assert [c.closed for c in f.made] == [1, 1, 1]
    assert public.closed == 1
    with pytest.raises(RuntimeError, match="closed"), p.account(keys(9)):
        pass


def test_concurrent_leases_build_one_client_per_key() -> None:
    p, f = pool(max_accounts=8)
    barrier = threading.Barrier(16)

    def worker(n: int) -> None:
        barrier.wait()
        for _ in range(20):
            with p.account(keys(n % 4)):
                pass

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(f.made) == 4
    assert all(c.closed == 0 for c in f.made)


class BlockingFactory(Factory):
    """Builds block until released for the access keys listed in ``hold`` (a slow client build)."""

    def __init__(self, hold: set[str]) -> None:
        super().__init__()
        self.hold = hold
        self.release = threading.Event()
        self.entered = threading.Event()
        self.fail_next = False

    def account(self, settings: ExchangeSettings, creds: Credentials, clock: Clock, name: str) -> StandIn:
        if creds.api_key in self.hold:
            self.entered.set()
            assert self.release.wait(10), "never released"
        if self.fail_next:
            self.fail_next = False
            raise OSError("cannot build")
        return super().account(settings, creds, clock, name)


def blocking_pool(hold: set[str], max_accounts: int = 4) -> tuple[ClientPool, BlockingFactory]:
    factory = BlockingFactory(hold)
    settings = ExchangeSettings(mode="simulator", base_url="http://127.0.0.1:8081")
    p = ClientPool(
        settings, FakeClock(datetime(2024, 1, 1, tzinfo=UTC)), max_accounts=max_accounts,
        account_factory=factory.account, public_factory=factory.public,  # type: ignore[arg-type]
    )  # fmt: skip
    return p, factory


def lease_in_thread(p: ClientPool, k: FmzKeys, out: list[object]) -> threading.Thread:
    def run() -> None:
        with p.account(k) as session:
            out.append(session)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_building_a_client_does_not_hold_the_pool_lock() -> None:
    p, f = blocking_pool(hold={"ak1-key"})
    with p.account(keys(2)):
        pass  # cached before the slow build starts
    slow: list[object] = []
    slow_thread = lease_in_thread(p, keys(1), slow)
    assert f.entered.wait(5)
    others: list[object] = []
    fast = [lease_in_thread(p, keys(2), others), lease_in_thread(p, keys(3), others)]
    public = threading.Thread(target=p.public, daemon=True)
    public.start()
    for t in (*fast, public):
        t.join(timeout=3)
    alive = [t.is_alive() for t in (*fast, public)]
    f.release.set()
    slow_thread.join(timeout=5)
    assert alive == [False, False, False]  # a cached client, a new one and the public client
    assert len(others) == 2
    assert len(slow) == 1


def test_concurrent_requests_for_keys_being_built_wait_for_that_one_build() -> None:
    p, f = blocking_pool(hold={"ak1-key"})
    got: list[object] = []
    threads = [lease_in_thread(p, keys(1), got) for _ in range(5)]
    assert f.entered.wait(5)
    f.release.set()
    for t in threads:
        t.join(timeout=5)
    assert len(got) == 5
    assert len({id(s) for s in got}) == 1
    assert len(f.made) == 1


def test_a_failed_build_raises_and_the_next_request_builds_again() -> None:
    p, f = blocking_pool(hold=set())
    f.fail_next = True
    with pytest.raises(OSError, match="cannot build"), p.account(keys(1)):
        pass
    with p.account(keys(1)) as session:
        assert session.client.creds.api_key == "ak1-key"
    assert len(p) == 1
