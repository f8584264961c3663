"""The collector in Redis mode through a Redis outage: its CSVs and marker files go on, it alerts,
and once Redis is back the streams get every bar they missed (no hole) and markers resume."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from bus.keys import Keys, time_id
from bus.reader import RedisBars
from bus.server import RedisProcess
from collector.service import CollectorService
from config import load_config
from notify.service import RecordingNotifier
from simulator.server import RunningSimulator
from tests.integration.test_collector_support import LinkedClock, Rig, public_client, write_config

START = datetime(2024, 3, 1, 0, 0, 1, tzinfo=UTC)
INSTS = ["BTC-USDT-SWAP", "ETH-USDT-SWAP"]


@pytest.fixture
def sim(sim_module: RunningSimulator) -> Iterator[RunningSimulator]:
    sim_module.control.reset()
    yield sim_module
    sim_module.control.reset()


def test_collector_keeps_its_files_through_a_redis_outage(
    sim: RunningSimulator, tmp_path: Path, redis_proc: RedisProcess
) -> None:
    sim.control.set_clock(START, mode="frozen")
    settings = 'history_bars=10, confirm_retry_s=5, feed="rest", close_delay_s=0'
    path = write_config(tmp_path, sim.base_url, {"a": ("1m", INSTS)}, tz="UTC", collector=settings)
    bus = f"from config import Redis\nDATA_BUS = Redis({redis_proc.url!r}, prefix='cb', lease_s=2)\n"
    path.write_text(path.read_text() + bus)
    cfg = load_config(path)
    clock = LinkedClock(START, sim)
    client = public_client(cfg, START)
    notifier = RecordingNotifier()
    service = CollectorService(cfg, clock=clock, client=client, notifier=notifier, progress=False)
    rig = Rig(sim, cfg, clock, client, notifier, service)
    keys = Keys("cb")
    r = redis.Redis.from_url(redis_proc.url)
    try:
        rig.service.start_up()
        first = rig.service.last_close
        assert first is not None
        assert r.xrange(keys.markers("1m"), time_id(first), time_id(first))

        redis_proc.stop()
        report = rig.step()  # Redis is down for this close
        assert report is not None
        down_close = report.close
        marker = rig.marker("1m", down_close)
        assert marker is not None  # the collector's own files go on
        assert all(marker.is_ready(i) for i in INSTS)
        assert rig.alerts("bus_down")

        redis_proc.start()  # back (and empty: no persistence in this test)
        report = rig.step()
        assert report is not None
        assert r.xrange(keys.markers("1m"), time_id(report.close), time_id(report.close))
        bars = RedisBars(r, keys, "UTC")
        for inst in INSTS:
            times = [b.ts for b in bars.tail(inst, "1m", 100)]
            assert down_close - timedelta(minutes=1) in times  # the bar of the close Redis missed
            assert times[-1] == report.close - timedelta(minutes=1)
            assert all(b - a == timedelta(minutes=1) for a, b in itertools.pairwise(times))
            assert bars.tail(inst, "1m", 100) == rig.service.store.tail(inst, "1m", len(times))
    finally:
        r.close()
        rig.close()
