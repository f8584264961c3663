"""Redis mode: a takeover keeps the account's standing targets (with their sizes and counters),
the manual targets set with ``--set-target`` and the halt of a ``--flatten``, whichever host the
operator ran the command on. The holder is SIGKILLed at the start of a bar whose strategies all
say None (keep), so everything the standby does on that bar comes from the handed-over state."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import redis

from bus.keys import Keys
from bus.server import RedisProcess
from simulator.server import RunningSimulator, start_background
from tests.integration.bus_scenario import BAR, BTC, ETH, Hosts
from trader.halt import HaltStore
from trader.journal import Journal
from trader.targets import StandingTarget, TargetBook

BAR2 = BAR + timedelta(hours=1)


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    running = start_background(seed=12, clock_start_ms=int((BAR + timedelta(seconds=5)).timestamp() * 1000))
    try:
        yield running
    finally:
        running.stop()


def _targets(hosts: Hosts, host: str) -> dict[str, StandingTarget]:
    journal = Journal(hosts.cfgs[host].journal_dir / f"{hosts.account}.sqlite")
    try:
        return TargetBook(journal).all()
    finally:
        journal.close()


def _halted(hosts: Hosts, host: str) -> bool:
    store = HaltStore(hosts.cfgs[host].journal_dir / f"{hosts.account}.sqlite")
    try:
        return store.load().halted
    finally:
        store.close()


def _positions(hosts: Hosts) -> dict[str, Decimal]:
    with hosts.client() as client:
        return {i: sum((p.signed_pos for p in client.positions(inst_id=i)), Decimal(0)) for i in (BTC, ETH)}


def _bar1_on_a(hosts: Hosts) -> None:
    """Host A trades the first bar (BTC short, ETH long), then the market moves on to a bar whose
    strategies all say None."""
    hosts.prepare()
    assert hosts.run("A") == 0, hosts.last_stderr[-2000:]
    hosts.sim.control.set_clock(BAR2 + timedelta(seconds=5), mode="running", speed=1.0)
    hosts.publish(BAR2, {BTC: None, ETH: None})


def _kill_a_then_b_takes_over(hosts: Hosts) -> None:
    assert hosts.run("A", "cycle_start") == -9, hosts.last_stderr[-2000:]  # holding the lease
    assert hosts.run("B") == 0, hosts.last_stderr[-2000:]
    assert "adopted from Redis" in hosts.last_stderr


def _shape(rows: dict[str, StandingTarget]) -> dict[str, tuple[object, ...]]:
    return {
        i: (t.strategy, t.target, t.size, t.bar_close, t.source, t.misses, t.fails) for i, t in rows.items()
    }


def test_standby_keeps_standing_targets_and_sizes_through_none_bars(
    sim: RunningSimulator, tmp_path: Path, redis_proc: RedisProcess
) -> None:
    hosts = Hosts(sim, tmp_path, redis_proc.url, lease_s=1)
    _bar1_on_a(hosts)
    on_a, held = _targets(hosts, "A"), _positions(hosts)
    assert {i: (t.target, t.size is not None) for i, t in on_a.items()} == {BTC: (-1, True), ETH: (1, True)}
    sent = len(hosts.orders())
    _kill_a_then_b_takes_over(hosts)
    assert _shape(_targets(hosts, "B")) == _shape(on_a)  # same targets, sizes, sources, counters
    assert len(hosts.orders()) == sent  # no re-sizing, no flatten: nothing to do on a None bar
    assert _positions(hosts) == held
    client = redis.Redis.from_url(redis_proc.url)
    stored = client.hgetall(Keys(hosts.prefix).account_state(hosts.account))
    client.close()
    assert json.loads(stored[f"target:{BTC}".encode()])["size"] == str(on_a[BTC].size)


def test_standby_keeps_a_manual_target_set_on_the_dead_host(
    sim: RunningSimulator, tmp_path: Path, redis_proc: RedisProcess
) -> None:
    hosts = Hosts(sim, tmp_path, redis_proc.url, lease_s=1)
    _bar1_on_a(hosts)
    btc = _positions(hosts)[BTC]
    done = hosts.cli("A", "--set-target", ETH, "0")  # the operator on host A; A applies it, then dies
    assert done.returncode == 0, done.stderr[-2000:]
    _kill_a_then_b_takes_over(hosts)
    on_b = _targets(hosts, "B")
    assert (on_b[ETH].target, on_b[ETH].source) == (0, "manual")
    assert _positions(hosts) == {BTC: btc, ETH: Decimal(0)}  # B closed ETH, kept BTC
    client = redis.Redis.from_url(redis_proc.url)
    assert client.llen(Keys(hosts.prefix).commands(hosts.account)) == 0  # applied once, then dropped
    client.close()
    assert "queued" in done.stdout


def test_standby_stays_halted_after_a_flatten(
    sim: RunningSimulator, tmp_path: Path, redis_proc: RedisProcess
) -> None:
    hosts = Hosts(sim, tmp_path, redis_proc.url, lease_s=1)
    _bar1_on_a(hosts)
    assert hosts.run("A", "cycle_start") == -9, hosts.last_stderr[-2000:]  # the holder dies
    done = hosts.cli("B", "--flatten")  # the operator on host B, while A's lease still runs
    assert done.returncode == 0, done.stderr[-2000:]
    assert hosts.run("B") == 0, hosts.last_stderr[-2000:]  # B takes over: halts and flattens
    assert _positions(hosts) == {BTC: Decimal(0), ETH: Decimal(0)}
    assert _halted(hosts, "B")
    assert hosts.run("A") == 0, hosts.last_stderr[-2000:]  # A back as the holder: still halted
    assert _halted(hosts, "A")
    assert {t.target for t in _targets(hosts, "A").values()} == {0}  # flattened targets, not re-entered
    resumed = hosts.cli("A", "--resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert hosts.run("B") == 0, hosts.last_stderr[-2000:]  # B applies the resume on takeover
    assert not _halted(hosts, "B")
