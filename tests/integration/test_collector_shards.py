"""Two collectors ("hosts" = two data dirs) share the instruments through Redis; one is SIGKILLed;
the survivor takes its share within a lease period, markers stay complete and no bar is missing
from any stream."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis

from bus.keys import Keys
from bus.reader import RedisBars
from bus.server import RedisProcess
from core.clock import ScaledClock, from_ms
from core.markers import Marker
from simulator.server import RunningSimulator
from tests.integration.test_collector_service import ROOT, VIRTUAL_START, sim, wait_for  # noqa: F401
from tests.integration.test_collector_support import write_config

INSTS = [
    "BTC-USDT-SWAP", "ETH-USDT-SWAP", "SOL-USDT-SWAP", "DOGE-USDT-SWAP", "XRP-USDT-SWAP", "LTC-USDT-SWAP",
    "ADA-USDT-SWAP", "LINK-USDT-SWAP", "AVAX-USDT-SWAP", "BCH-USDT-SWAP", "DOT-USDT-SWAP", "TRX-USDT-SWAP",
]  # fmt: skip


SPEED = 20.0  # a 1m bar every 3 s of wall time


def _markers(client: redis.Redis, keys: Keys) -> list[Marker]:
    return [Marker.from_json(f[b"marker"].decode()) for _, f in client.xrange(keys.markers("1m"))]


def test_survivor_covers_every_instrument(
    sim: RunningSimulator, tmp_path: Path, redis_proc: RedisProcess  # noqa: F811
) -> None:
    sim.control.set_clock(VIRTUAL_START, mode="running", speed=SPEED)
    clock = ScaledClock(datetime.now(UTC), from_ms(sim.control.now_ms()), SPEED)
    keys = Keys("shards")
    procs = {}
    for host in ("A", "B"):
        (tmp_path / host).mkdir()
        path = write_config(
            tmp_path / host, sim.base_url, {"a": ("1m", INSTS)}, tz="UTC",
            collector='history_bars=10, confirm_retry_s=5, feed="rest", close_delay_s=0.2',
        )  # fmt: skip
        path.write_text(
            path.read_text() + f"\nfrom config import Redis\nDATA_BUS = Redis({redis_proc.url!r}, "
            f"prefix='shards', lease_s=1.5, host='host{host}')\n"
        )
        procs[host] = subprocess.Popen(
            [sys.executable, "-m", "collector", "--config", str(path)], cwd=ROOT,
            env={**os.environ, "OKXFLEET_CLOCK": clock.spec()}, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
    client = redis.Redis.from_url(redis_proc.url)
    try:
        def split() -> bool:
            shares = {k: json.loads(v) for k, v in client.hgetall(keys.shares()).items()}
            return len(shares) == 2 and all(shares.values())

        assert wait_for(split, timeout=60), procs["A"].stderr
        if not wait_for(lambda: len(_markers(client, keys)) >= 2, timeout=30):
            procs["A"].send_signal(signal.SIGTERM)
            raise AssertionError(procs["A"].communicate(timeout=20)[1][-5000:])
        procs["A"].send_signal(signal.SIGKILL)
        procs["A"].communicate(timeout=10)
        killed_at = len(_markers(client, keys))

        def survivor_owns_all() -> bool:
            shares = {k: json.loads(v) for k, v in client.hgetall(keys.shares()).items()}
            return any(sorted(v) == sorted(INSTS) for v in shares.values())

        started = time.monotonic()
        assert wait_for(survivor_owns_all, timeout=30)
        assert time.monotonic() - started < 1.5 + 3.5  # a lease period, plus up to one 3 s bar to notice
        assert wait_for(lambda: len(_markers(client, keys)) >= killed_at + 2, timeout=60)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.communicate(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.communicate()
    markers = _markers(client, keys)
    closes = [m.bar_close for m in markers]
    assert closes == sorted(closes)
    # every marker published after the kill covers every instrument, all of them ok
    for m in markers[killed_at:]:
        assert sorted(m.instruments) == sorted(INSTS)
        assert all(m.is_ready(i) for i in INSTS), m
    # no bar missing from any stream, through the last marker
    bars = RedisBars(client, keys, "UTC")
    last_open = markers[-1].bar_open
    for inst in INSTS:
        times = [b.ts for b in bars.tail(inst, "1m", 1000)]
        assert times[-1] >= last_open, inst
        assert all(b - a == timedelta(minutes=1) for a, b in itertools.pairwise(times)), inst
    client.close()
