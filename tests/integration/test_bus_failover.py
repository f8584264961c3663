"""Redis mode end to end: traders on host B trade from host A's collector exactly as from files,
and a trader SIGKILLed mid-cycle (also between send and acknowledgement) is replaced by the standby
on the other host without any clOrdId used twice or anything traded twice."""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis

from bus.keys import Keys
from bus.server import RedisProcess
from core.clock import from_ms
from simulator.server import RunningSimulator, start_background
from tests.integration.bus_scenario import BAR, BTC, ETH, Hosts
from trader.lease import AccountLease, read_lease
from trader.standby import LEASE_LOST_EXIT

LOST_SINGLE = {"kind": "lost_response", "path": "/api/v5/trade/order", "method": "POST", "count": 1}
LOST_BATCH = {"kind": "lost_response", "path": "/api/v5/trade/batch-orders", "count": 1}


@pytest.fixture(scope="module")
def bus_sim() -> Iterator[RunningSimulator]:
    running = start_background(seed=11, clock_start_ms=int((BAR + timedelta(seconds=5)).timestamp() * 1000))
    try:
        yield running
    finally:
        running.stop()


def _shape(orders: list[dict]) -> list[tuple]:  # type: ignore[type-arg]
    return sorted(
        (o["clOrdId"][:3], o["order"]["instId"], o["order"]["side"], o["order"]["ordType"], o["order"]["sz"])
        for o in orders
    )


def test_redis_mode_trades_as_files_mode(
    bus_sim: RunningSimulator, tmp_path: Path, redis_proc: RedisProcess
) -> None:
    now = from_ms(bus_sim.control.now_ms())
    bus_sim.control.set_clock(now, mode="frozen")  # one market for both runs: same prices, same sizes
    try:
        files = Hosts(bus_sim, tmp_path, None)
        files.prepare()
        assert files.run("A") == 0, files.last_stderr[-2000:]
        via_files = files.check("A")

        bus = Hosts(bus_sim, tmp_path, redis_proc.url)
        bus.prepare()
        assert bus.run("B") == 0, bus.last_stderr[-2000:]  # host B: no CSV, no marker file of its own
        via_redis = bus.check("B")
    finally:
        bus_sim.control.set_clock(from_ms(bus_sim.control.now_ms()), mode="running", speed=1.0)

    assert not bus.cfgs["B"].candles_dir.exists()
    assert {i: (r.target, r.desired) for i, r in via_redis["signals"].items()} == {
        i: (r.target, r.desired) for i, r in via_files["signals"].items()
    }
    assert _shape(via_redis["orders"]) == _shape(via_files["orders"])
    assert len(via_redis["orders"]) == 3


POINTS = [
    ("after_send", [LOST_SINGLE]),  # the close accepted at OKX, the reply lost, then killed
    ("after_ack:2", None),  # the opens acknowledged, not yet filled-and-journaled
]


@pytest.mark.parametrize(("crash_at", "faults"), POINTS, ids=[p for p, _ in POINTS])
def test_standby_takes_over_after_sigkill(
    bus_sim: RunningSimulator, tmp_path: Path, redis_proc: RedisProcess, crash_at: str, faults: list | None
) -> None:
    hosts = Hosts(bus_sim, tmp_path, redis_proc.url, lease_s=2)
    hosts.prepare()
    assert hosts.run("A", crash_at, faults) == -9, hosts.last_stderr[-2000:]
    client = redis.Redis.from_url(redis_proc.url)
    held = read_lease(client, Keys(hosts.prefix), hosts.account)
    assert held is not None  # the dead holder's lease is still there...
    assert held.holder.startswith("hostA:")
    started = time.monotonic()
    assert hosts.run("B") == 0, hosts.last_stderr[-2000:]  # ...so B waits as a standby, then takes over
    assert time.monotonic() - started >= held.ttl_ms / 1000 - 0.5
    assert "adopted from Redis" in hosts.last_stderr
    hosts.check("B")
    raw = client.hgetall(Keys(hosts.prefix).account_state(hosts.account))
    state = {k.decode(): json.loads(v)["target"] for k, v in raw.items() if k.startswith(b"target:")}
    assert state == {f"target:{BTC}": -1, f"target:{ETH}": 1}  # the standing targets live in Redis
    client.close()


def test_hot_standby_waits_while_the_holder_lives(
    bus_sim: RunningSimulator, tmp_path: Path, redis_proc: RedisProcess
) -> None:
    hosts = Hosts(bus_sim, tmp_path, redis_proc.url, lease_s=5)  # outlasts B's start-up on a busy machine
    hosts.prepare()
    client = redis.Redis.from_url(redis_proc.url)
    keys = Keys(hosts.prefix)
    a = hosts.start("A", "after_send:2")  # killed between sending the opens and their acknowledgement
    deadline = time.monotonic() + 30
    while read_lease(client, keys, hosts.account) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    b = hosts.start("B")  # a hot standby on the other host
    a.communicate(timeout=60)
    assert a.returncode == -9
    _, err = b.communicate(timeout=90)
    assert b.returncode == 0, err[-2000:]
    assert "hot standby; lease held by hostA" in err
    hosts.check("B")
    info = read_lease(client, keys, hosts.account)
    assert info is None  # released on a clean stop
    client.close()
    assert {BTC, ETH} <= {o["order"]["instId"] for o in hosts.orders()}


MORE_POINTS = [
    ("after_intent", None),  # the close journaled (and replicated), not sent
    ("after_closes", None),
    ("after_send:2", [LOST_BATCH]),  # the opens' batch accepted, its reply lost, then killed
    ("before_done", None),
]


@pytest.mark.slow
@pytest.mark.parametrize(("crash_at", "faults"), MORE_POINTS, ids=[p for p, _ in MORE_POINTS])
def test_standby_takes_over_at_every_step(
    bus_sim: RunningSimulator, tmp_path: Path, redis_proc: RedisProcess, crash_at: str, faults: list | None
) -> None:
    hosts = Hosts(bus_sim, tmp_path, redis_proc.url, lease_s=1)
    hosts.prepare()
    assert hosts.run("A", crash_at, faults) == -9, hosts.last_stderr[-2000:]
    assert hosts.run("B") == 0, hosts.last_stderr[-2000:]
    hosts.check("B")
    assert 3 <= len(hosts.orders()) <= 4  # close, open, open — plus one whose first try never reached OKX


def test_a_holder_that_loses_its_lease_stops_at_once(
    bus_sim: RunningSimulator, tmp_path: Path, redis_proc: RedisProcess
) -> None:
    hosts = Hosts(bus_sim, tmp_path, redis_proc.url, lease_s=1.5)
    client = redis.Redis.from_url(redis_proc.url)
    keys = Keys(hosts.prefix)
    proc = hosts.start("A", once=False)  # the service loop, not --once
    try:
        deadline = time.monotonic() + 30
        while read_lease(client, keys, hosts.account) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert read_lease(client, keys, hosts.account) is not None
        client.delete(keys.lease(hosts.account))  # the lease lapsed (say A was paused) ...
        other = AccountLease(client, keys, hosts.account, "hostB:1", 30)
        assert other.try_acquire()  # ... and host B took over
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == LEASE_LOST_EXIT, err[-2000:]
    # whichever noticed first: the renewal thread, the next fenced write or the next order batch
    assert re.search(r"no longer held|lease lost; write|no lease held", err), err[-2000:]
    assert hosts.orders() == []
    client.close()
