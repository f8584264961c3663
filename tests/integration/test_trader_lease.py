"""Account leases against a real redis-server: one holder, fencing tokens, lapse and takeover,
fenced writes refused to a holder that lost the lease."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import redis

from bus.keys import Keys
from trader.account_store import RedisAccountStore
from trader.halt import HaltStore
from trader.journal import Journal
from trader.lease import AccountLease, LeaseKeeper, LeaseLost, read_lease
from trader.targets import TargetBook

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


def test_state_store_writes_are_fenced_and_restored(redis_client: redis.Redis, tmp_path: Path) -> None:
    a, b = lease(redis_client, "hostA:1"), lease(redis_client, "hostB:2")
    assert a.try_acquire()
    on_a, on_b = Journal(tmp_path / "a.sqlite"), Journal(tmp_path / "b.sqlite")
    book_a = TargetBook(on_a)
    book_a.set("BTC-USDT-SWAP", "sma", -1, "strategy", T0, bar_close=T0)
    book_a.set_size("BTC-USDT-SWAP", Decimal("2.5"), T0)
    book_a.record_bar("BTC-USDT-SWAP", reached=False, failed=True, bar_close=T0)
    halt = HaltStore(on_a.path)
    halt.halt("max drawdown: 12%", T0)
    halt.close()
    store_a = RedisAccountStore(redis_client, Keys("t"), a)
    store_a.push(on_a)
    TargetBook(on_b).set("ETH-USDT-SWAP", "sma", 1, "manual", T0)  # B's stale local view
    time.sleep(1.2)
    assert b.try_acquire()
    store_b = RedisAccountStore(redis_client, Keys("t"), b)
    store_b.restore(on_b)  # the successor's journal now holds exactly the account's state
    assert TargetBook(on_b).all() == TargetBook(on_a).all()
    halted = HaltStore(on_b.path)
    assert halted.load().halted
    assert halted.flatten_pending()
    halted.close()
    book_a.set("BTC-USDT-SWAP", "sma", 1, "strategy", T0, bar_close=T0)
    with pytest.raises(LeaseLost):
        store_a.push(on_a)  # a stale holder cannot overwrite it
    assert TargetBook(on_b).all()["BTC-USDT-SWAP"].target == -1
    on_a.close()
    on_b.close()


def test_first_redis_run_seeds_the_state_from_the_journal(redis_client: redis.Redis, tmp_path: Path) -> None:
    a = lease(redis_client, "hostA:1")
    assert a.try_acquire()
    journal = Journal(tmp_path / "j.sqlite")
    TargetBook(journal).set("BTC-USDT-SWAP", "sma", 1, "manual", T0)
    store = RedisAccountStore(redis_client, Keys("t"), a)
    assert store.restore(journal) == "seeded from the journal"
    assert set(store.fields()) == {"seeded", "target:BTC-USDT-SWAP"}
    journal.close()


def test_redis_down_means_no_proof_no_orders(redis_proc, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client = redis.Redis.from_url(redis_proc.url, socket_timeout=0.5, socket_connect_timeout=0.5)
    a = lease(client, "hostA:1")
    assert a.try_acquire()
    redis_proc.stop()
    with pytest.raises(LeaseLost, match="unreachable"):
        a.check()
    redis_proc.start()
    client.close()
