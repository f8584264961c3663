"""Benchmark: the Redis data bus — collectors sharing the universe, and bar fan-out to traders.

    .venv/bin/python -m bench.bench_bus [--instruments 400] [--samples 2] [--latency-ms 20]
        [--traders 50] [--closes 40] [--lease-s 5] [--skip-shards] [--skip-fanout] [--skip-kill]

**1. Close-to-ready, one vs two collectors.** ``--instruments`` 1m swaps, REST feed, OKX's per-IP
rate limits ON. Each "host" is its own simulator (same seed, same frozen clock, so the same
market) — i.e. its own IP and its own per-IP budget — and its own data directory; both publish
to one redis-server (``DATA_BUS = Redis(...)``). Baseline: one collector owns every instrument.
Measured: one close's cycle, from its start until the interval's marker is in the Redis stream
(two collectors: each collects its share concurrently; the marker is published when both shares
have reported). Target: two <= 0.6x of one.

**1b. Takeover.** Two collectors share the instruments for one close; then B stops renewing its
membership (as a SIGKILLed process does) and A alone runs the next close. Printed: how long
after its start A's marker of that close is complete (B's lease lapses, A collects B's share
for the same close), and a check that no stream misses a bar.

**2. Fan-out latency.** ``--traders`` reader processes (each its own Redis connection, as
trader processes have) wait for every close's marker and then read their instrument's 100-bar
tail; the collector side appends a bar and publishes the marker (bars first) once per close.
Measured per reader and close (after one warm-up close): from the collector starting to write
the marker (its CSVs are already appended; in Redis mode this includes publishing the bars) to
marker and tail in hand.
Baseline in the same run: the files bus (marker files polled every 50 ms, as the trader does,
CSV tail read).
Target: p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import logging
import math
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import redis

from bench.bench_collector import CLOSE, START, instruments, seed_row, write_config
from bench.report import emit
from bus.keys import Keys
from bus.publisher import BusPublisher
from bus.reader import Cursor, RedisBars, RedisMarkers
from bus.server import RedisProcess
from bus.sources import PublishingMarkerStore
from collector.service import CollectorService
from config import load_config
from core.bars import Bar
from core.clock import FakeClock, ScaledClock, SystemClock
from core.intervals import parse_interval
from core.markers import InstrumentStatus, Marker, MarkerStore
from core.store import CandleStore
from exchange import make_public_client
from notify.service import RecordingNotifier
from simulator.catalogue import CATALOGUE
from simulator.server import RunningSimulator, start_background

M1 = parse_interval("1m")


# ---- 1. one vs two collectors ---------------------------------------------------------------------
def collector(sim: RunningSimulator, folder: Path, insts: list[str], url: str, prefix: str,
              host: str, lease_s: float = 10) -> CollectorService:  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    path = write_config(folder, sim.base_url, {"a": ("1m", insts)})
    bus = (f"from config import Redis\n"
           f"DATA_BUS = Redis({url!r}, prefix={prefix!r}, lease_s={lease_s}, host={host!r})")
    path.write_text(path.read_text() + bus + "\n")
    cfg = load_config(path)
    client = make_public_client(cfg.exchange, ScaledClock(datetime.now(UTC), START, 1.0), max_workers=16)
    service = CollectorService(cfg, clock=FakeClock(START), client=client, notifier=RecordingNotifier(),
                               progress=False)  # fmt: skip
    for inst in insts:
        service.store.append(inst, M1, [seed_row(CLOSE - M1.delta)])
    assert service.sharded is not None
    service.sharded.membership.beat()
    return service


def close_to_ready(sims: list[RunningSimulator], services: list[CollectorService], client: redis.Redis,
                   keys: Keys, close: datetime, *, beat: bool = True) -> float:  # fmt: skip
    for sim in sims:
        sim.control.set_clock(close + timedelta(seconds=1), mode="frozen")
    for service in services:
        service.clock.set(close + timedelta(seconds=1))  # type: ignore[attr-defined]
        if beat:
            service.sharded.membership.beat()  # type: ignore[union-attr]
    time.sleep(2.2)  # an empty budget window, as after a real bar's idle time
    entry = f"{int(close.timestamp() * 1000)}-0"
    threads = [threading.Thread(target=s.run_cycle, args=(close,)) for s in services]
    started = time.perf_counter()
    for t in threads:
        t.start()
    while not client.xrange(keys.markers(M1), entry, entry):
        time.sleep(0.005)
    took = time.perf_counter() - started
    for t in threads:
        t.join()
    rows: Any = client.xrange(keys.markers(M1), entry, entry)
    marker = Marker.from_json(rows[0][1][b"marker"].decode())
    ready = [i for i in marker.instruments if marker.is_ready(i)]
    if len(ready) != len(services[0].plan.all_instruments):
        raise SystemExit(f"close not complete: {len(ready)} of {len(services[0].plan.all_instruments)} ready")
    return took


def bench_shards(n: int, samples: int, latency_ms: int, tmp: Path, url: str) -> None:
    print(f"\n== close-to-ready: {n} instruments, REST feed, per-IP limits ON, latency {latency_ms} ms ==")
    insts, _ = instruments(n)
    start_ms = int(START.timestamp() * 1000)
    options: dict[str, Any] = {"latency_ms": latency_ms, "rate_limits": True, "clock_start_ms": start_ms,
               "clock_frozen": True, "extra_instruments": max(0, n - len(CATALOGUE)), "seed": 7}  # fmt: skip
    client = redis.Redis.from_url(url)
    results: dict[int, list[float]] = {1: [], 2: []}
    with start_background(**options) as sim_a, start_background(**options) as sim_b:
        for k in range(samples):
            for count in (1, 2):
                prefix = f"shards{count}-{k}"
                sims = [sim_a, sim_b][:count]
                services = [collector(s, tmp / f"{prefix}-{h}", insts, url, prefix, f"bench{h}")
                            for s, h in zip(sims, "AB", strict=False)]  # fmt: skip
                try:
                    took = close_to_ready(sims, services, client, Keys(prefix), CLOSE + M1.delta)
                    results[count].append(took)
                finally:
                    for s in services:
                        s.close()
                        s.client.close()
                print(f"  sample {k + 1}: {count} collector(s): {results[count][-1]:.2f} s")
    one, two = statistics.median(results[1]), statistics.median(results[2])
    emit("bus", f"close-to-ready, {n} instruments: two collectors vs one", two, one, unit="s",
         target="two <= 0.6x of one", note=f"two/one = {two / one:.2f}x")  # fmt: skip
    print(f"one collector {one:.2f} s, two collectors {two:.2f} s: two/one = {two / one:.2f}x "
          "(target <= 0.6x)")
    client.close()


# ---- 1b. kill one of two collectors ----------------------------------------------------------------
def bench_kill(n: int, latency_ms: int, tmp: Path, url: str, lease_s: float) -> None:
    """Two collectors share ``n`` instruments for one close; then B stops renewing its membership (as
    a SIGKILLed process does) and A alone runs the next close: its marker must be complete, taking
    over B's share once B's lease lapses, with no bar missing from any of the ``n`` streams."""
    print(f"\n== takeover: {n} instruments, two collectors, B dies; lease {lease_s:g} s ==")
    insts, _ = instruments(n)
    start_ms = int(START.timestamp() * 1000)
    options: dict[str, Any] = {"latency_ms": latency_ms, "rate_limits": True, "clock_start_ms": start_ms,
                               "clock_frozen": True, "extra_instruments": max(0, n - len(CATALOGUE)),
                               "seed": 7}  # fmt: skip
    client = redis.Redis.from_url(url)
    keys = Keys("kill")
    with start_background(**options) as sim_a, start_background(**options) as sim_b:
        a = collector(sim_a, tmp / "kill-A", insts, url, "kill", "benchA", lease_s)
        b = collector(sim_b, tmp / "kill-B", insts, url, "kill", "benchB", lease_s)
        try:
            first = CLOSE + M1.delta
            close_to_ready([sim_a, sim_b], [a, b], client, keys, first)
            assert b.sharded is not None
            b_share = len(b.sharded.share)
            died = time.perf_counter()  # B stops renewing (its process is gone); nothing removes it
            second = first + M1.delta
            took = close_to_ready([sim_a], [a], client, keys, second, beat=False)
            after = time.perf_counter() - died
        finally:
            a.close()
            a.client.close()
            b.client.close()
    bars = RedisBars(client, keys, "UTC")
    missing = [i for i in insts if [x.ts for x in bars.tail(i, M1, 3)][-2:] != [first - M1.delta, first]]
    client.close()
    if missing:
        raise SystemExit(f"{len(missing)} stream(s) miss a bar, e.g. {missing[:3]}")
    print(f"B owned {b_share} of {n}; A's close after B died complete {took:.2f} s after its start "
          f"({after:.2f} s after B died); every stream has both bars")
    emit("bus", f"takeover of a dead collector's share, {n} instruments: close-to-ready vs lease", took,
         lease_s, unit="s", target="lease + one close of the share",
         note=f"B owned {b_share}; no bar missing in {n} streams")  # fmt: skip


# ---- 2. fan-out -----------------------------------------------------------------------------------
FANOUT_INSTS = [f"I{i:02d}-USDT-SWAP" for i in range(10)]


def _reader(mode: str, root: Path, url: str, inst: str, closes: int, out: Any, finished: Any) -> None:
    """One trader process: wait for each close's marker, read the tail, report when it had both."""
    wall = SystemClock()
    bars: Any
    marks: Any
    if mode == "files":
        bars, marks = CandleStore(root / "candles", "UTC"), MarkerStore(root / "markers")
    else:
        client = redis.Redis.from_url(url)
        keys = Keys("fanout")
        bars = RedisBars(client, keys, "UTC")
        marks = RedisMarkers(client, keys, Cursor(root / f"cursor-{os.getpid()}.json"))
    bars.tail(inst, M1, 100)  # a running trader holds its tail from the bars before (Redis caches it)
    out.put(("ready", None))
    got = []
    cpu = time.process_time()
    for k in range(closes):
        close = START + M1.delta * (k + 1)
        marker = marks.wait(M1, close, wall.now() + timedelta(seconds=60), wall, poll_s=0.05)
        tail = bars.tail(inst, M1, 100)
        got.append(time.perf_counter())  # CLOCK_MONOTONIC: comparable across processes
        if marker is None or close - M1.delta not in {b.ts for b in tail}:  # a later one may be in too
            out.put(("error", f"{mode} close {close}: marker {marker is not None}, bar not in the tail"))
            return
    out.put(("done", (got[1:], (time.process_time() - cpu) / closes)))
    finished.wait(120)  # a trader lives on: exiting now would load the machine while others still read


def fanout(mode: str, traders: int, closes: int, root: Path, url: str) -> list[float]:
    store = CandleStore(root / "candles", "UTC")
    one = Decimal(1)
    first = START - M1.delta * 200
    for inst in FANOUT_INSTS:
        store.rewrite(inst, M1, [Bar(first + M1.delta * j, one, one, one, one, one, one, one)
                                 for j in range(200)])  # fmt: skip
    markers = MarkerStore(root / "markers")
    pub: redis.Redis | None = None
    if mode == "redis":
        pub = redis.Redis.from_url(url)
        publisher = BusPublisher(pub, Keys("fanout"), store, FakeClock(START), {M1: 200})
        markers = PublishingMarkerStore(root / "markers", publisher, {M1: tuple(FANOUT_INSTS)})
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    finished = ctx.Event()
    procs = [ctx.Process(target=_reader,
                         args=(mode, root, url, FANOUT_INSTS[i % 10], closes + 1, out, finished))
             for i in range(traders)]  # fmt: skip
    for proc in procs:
        proc.start()
    for _ in procs:
        kind, _value = out.get(timeout=60)
    time.sleep(0.5)
    published = []
    for k in range(closes + 1):  # close 0 warms the publisher up (its first stream look-ups): not counted
        close = START + M1.delta * (k + 1)
        bar = Bar(close - M1.delta, one, one, one, one, one, one, one)
        for inst in FANOUT_INSTS:
            store.append(inst, M1, [bar])  # the collector's CSVs (fsync each): not part of fan-out
        statuses = {i: InstrumentStatus(ok=True, last_candle=close - M1.delta) for i in FANOUT_INSTS}
        published.append(time.perf_counter())
        markers.write(Marker("1m", close - M1.delta, close, close, statuses))
        time.sleep(0.2)
    lat: list[float] = []
    cpus: list[float] = []
    for _ in procs:
        kind, value = out.get(timeout=120)
        if kind != "done":
            raise SystemExit(str(value))
        times, cpu = value
        cpus.append(cpu)
        lat.extend(got - sent for got, sent in zip(times, published[1:], strict=True))
    finished.set()
    for proc in procs:
        proc.join(timeout=30)
    if pub is not None:
        pub.close()
    print(f"  {mode:>5}: reader CPU per close {statistics.mean(cpus) * 1000:.2f} ms (x {traders} readers)")
    return sorted(lat)


def bench_fanout(traders: int, closes: int, tmp: Path, url: str) -> None:
    load = os.getloadavg()[0]
    print(f"\n== fan-out: {traders} subscribed trader processes, {closes} closes, 100-bar tails; "
          f"{os.cpu_count()} CPU(s), load average {load:.1f} ==")
    p99 = {}
    for mode in ("files", "redis"):
        lat = fanout(mode, traders, closes, tmp / f"fanout-{mode}", url)
        p99[mode] = lat[math.ceil(len(lat) * 0.99) - 1] * 1000
        print(f"  {mode:>5}: {len(lat)} deliveries, p50 {lat[len(lat) // 2] * 1000:.1f} ms, "
              f"p99 {p99[mode]:.1f} ms, max {lat[-1] * 1000:.1f} ms")  # fmt: skip
    emit("bus", f"bar fan-out p99 to {traders} traders: Redis vs files polling", p99["redis"], p99["files"],
         unit="ms", target="< 50 ms", note=f"load average {load:.1f} on {os.cpu_count()} CPU(s)")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_bus", description=__doc__.split("\n")[0])
    parser.add_argument("--instruments", type=int, default=400)
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--traders", type=int, default=50)
    parser.add_argument("--closes", type=int, default=40)
    parser.add_argument("--skip-shards", action="store_true")
    parser.add_argument("--skip-fanout", action="store_true")
    parser.add_argument("--skip-kill", action="store_true")
    parser.add_argument("--lease-s", type=float, default=5.0, help="collector lease in the takeover run")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="bench-bus-") as folder:
        tmp = Path(folder)
        with RedisProcess(tmp / "redis") as server:
            if not args.skip_fanout:
                bench_fanout(args.traders, args.closes, tmp, server.url)
            if not args.skip_shards:
                bench_shards(args.instruments, args.samples, args.latency_ms, tmp, server.url)
            if not args.skip_kill:
                bench_kill(args.instruments, args.latency_ms, tmp, server.url, args.lease_s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
