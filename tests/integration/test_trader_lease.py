"""Account leases against a real redis-server: one holder, fencing tokens, lapse and takeover,
fenced writes refused to a holder that lost the lease."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from bus.keys import Keys
from core.clock import FakeClock
from trader.account_store import HaltState, JournalAccountStore, RedisAccountStore
from trader.journal import Journal
from trader.lease import AccountLease, LeaseKeeper, LeaseLost, read_lease

T0 = datetime(2025, 1, 6, tzinfo=UTC)


def lease(client: redis.Redis, holder: str, lease_s: float = 1.0) -> AccountLease:
    return AccountLease(client, Keys("t"), "acct1", holder, lease_s)


def test_one_holder_and_growing_fencing_tokens(redis_client: redis.Redis) -> None:
    a, b = lease(redis_client, "hostA:1"), lease(redis_client, "hostB:2")
    assert a.try_acquire()
    assert not b.try_acquire()
    info = read_lease(redis_client, Keys("t"), "acct1")
    assert info is not None
    assert (info.holder, info.token) == ("hostA:1", a.token)
    assert a.check() == a.token
    time.sleep(1.2)  # a stops renewing (a dead process): the lease lapses
    assert b.try_acquire()
    assert b.token is not None
    assert a.token is not None
    assert b.token > a.token
    with pytest.raises(LeaseLost, match="no longer held"):
        a.check()  # the old holder's next order batch is refused


def test_keeper_renews_and_reports_loss(redis_client: redis.Redis) -> None:
    a, b = lease(redis_client, "hostA:1"), lease(redis_client, "hostB:2")
    assert a.try_acquire()
    lost: list[str] = []
    keeper = LeaseKeeper(a, lost.append).start()
    time.sleep(1.5)  # longer than the lease: only renewals keep it
    assert not b.try_acquire()
    redis_client.delete(Keys("t").lease("acct1"))  # e.g. an operator, or an expiry after a long pause
    assert b.try_acquire()
    deadline = time.monotonic() + 3
    while not lost and time.monotonic() < deadline:
        time.sleep(0.05)
    keeper.stop()
    assert lost
    assert "no longer held" in lost[0]


def test_release_lets_the_standby_in_at_once(redis_client: redis.Redis) -> None:
    a, b = lease(redis_client, "hostA:1", 30), lease(redis_client, "hostB:2", 30)
    assert a.try_acquire()
    a.release()
    assert b.try_acquire()


def test_state_store_writes_are_fenced(redis_client: redis.Redis) -> None:
    a, b = lease(redis_client, "hostA:1"), lease(redis_client, "hostB:2")
    assert a.try_acquire()
    store_a = RedisAccountStore(redis_client, Keys("t"), a)
    store_a.set_target("BTC-USDT-SWAP", -1, T0)
    store_a.set_halt(HaltState("daily loss limit", T0))
    time.sleep(1.2)
    assert b.try_acquire()
    store_b = RedisAccountStore(redis_client, Keys("t"), b)
    # the successor sees the account's standing targets and halt state
    assert store_b.standing_targets() == {"BTC-USDT-SWAP": -1}
    assert store_b.halt() == HaltState("daily loss limit", T0)
    with pytest.raises(LeaseLost):
        store_a.set_target("BTC-USDT-SWAP", 1, T0)  # a stale holder cannot overwrite it
    store_b.set_halt(None)
    assert store_b.halt() is None
    assert store_b.standing_targets() == {"BTC-USDT-SWAP": -1}


def test_redis_down_means_no_proof_no_orders(redis_proc, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client = redis.Redis.from_url(redis_proc.url, socket_timeout=0.5, socket_connect_timeout=0.5)
    a = lease(client, "hostA:1")
    assert a.try_acquire()
    redis_proc.stop()
    with pytest.raises(LeaseLost, match="unreachable"):
        a.check()
    redis_proc.start()
    client.close()


def test_journal_store_keeps_halt_state(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    store = JournalAccountStore(journal, ("BTC-USDT-SWAP",), FakeClock(T0))
    assert store.halt() is None
    store.set_halt(HaltState("manual", T0))
    assert store.halt() == HaltState("manual", T0)
    store.set_halt(None)
    assert store.halt() is None
    assert store.standing_targets() == {}
    journal.close()
