"""Simulator throughput: 200 concurrent candle requests vs the same requests sent serially.

Run: ``.venv/bin/python -m bench.bench_simulator [--requests 200] [--latency-ms 50]``

The simulator runs as a separate process (``python -m simulator``, rate limits off) so client and
server do not share a GIL. Two rounds, each with its baseline measured in the same run:

1. no added latency: serial vs concurrent (asyncio + aiohttp) -> requests/s and the ratio;
2. ``--latency-ms`` added per request: a serial sample (per-request latency) vs all requests
   concurrently. The latency is an ``asyncio.sleep`` on the server, so concurrent requests overlap
   and the whole batch should take little more than one latency — the simulator is not the
   bottleneck.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from bench.report import emit
from simulator.catalogue import CATALOGUE
from simulator.control import SimControl

ROOT = Path(__file__).resolve().parents[1]
_READY = re.compile(r"listening on (http://\S+) ")


def _urls(base: str, n: int) -> list[str]:
    rng = random.Random(7)
    swaps = [i for i, inst in CATALOGUE.items() if inst.is_swap]
    bars = ["1m", "5m", "1H", "4H"]
    return [
        f"{base}/api/v5/market/candles?instId={rng.choice(swaps)}&bar={rng.choice(bars)}&limit=300"
        for _ in range(n)
    ]


async def _fetch(session: aiohttp.ClientSession, url: str) -> None:
    async with session.get(url) as resp:
        body = await resp.json()
        if body["code"] != "0" or len(body["data"]) != 300:
            raise RuntimeError(f"bad reply for {url}: {body.get('code')}")


async def _serial(urls: list[str]) -> float:
    async with aiohttp.ClientSession() as session:
        start = time.perf_counter()
        for url in urls:
            await _fetch(session, url)
        return time.perf_counter() - start


async def _concurrent(urls: list[str]) -> float:
    connector = aiohttp.TCPConnector(limit=len(urls))
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        await asyncio.gather(*(_fetch(session, url) for url in urls))
        return time.perf_counter() - start


def _start_simulator() -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--port", "0", "--rate-limits", "off"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = _READY.search(line)
    if not match:
        proc.kill()
        raise RuntimeError(f"simulator did not start: {line!r}")
    return proc, match.group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--serial-sample", type=int, default=20,
                        help="serial requests measured in the latency round")
    args = parser.parse_args()
    proc, base = _start_simulator()
    try:
        control = SimControl(base)
        urls = _urls(base, args.requests)
        asyncio.run(_concurrent(urls[:20]))  # warm-up (imports, caches)
        n = len(urls)
        print(f"okxfleet simulator benchmark: {n} candle requests (limit 300, 4 bar sizes), "
              f"rate limits off, server in its own process")
        serial = asyncio.run(_serial(urls))
        concurrent = asyncio.run(_concurrent(urls))
        print(f"  no latency   serial     {n} req in {serial:6.3f} s = {n / serial:7.1f} req/s "
              f"({serial / n * 1000:.1f} ms/req)")
        print(f"  no latency   concurrent {n} req in {concurrent:6.3f} s = "
              f"{n / concurrent:7.1f} req/s  -> {serial / concurrent:.2f}x the serial baseline")
        control.set_latency(args.latency_ms)
        sample = urls[: args.serial_sample]
        serial_lat = asyncio.run(_serial(sample)) / len(sample)
        concurrent_lat = asyncio.run(_concurrent(urls))
        print(f"  +{args.latency_ms} ms     serial     {len(sample)} req: "
              f"{serial_lat * 1000:.1f} ms/req -> {n} req would take {serial_lat * n:.2f} s")
        print(f"  +{args.latency_ms} ms     concurrent {n} req in {concurrent_lat:6.3f} s = "
              f"{n / concurrent_lat:7.1f} req/s  -> {serial_lat * n / concurrent_lat:.1f}x the "
              f"serial baseline ({'under' if concurrent_lat < 1 else 'OVER'} 1 s)")
        emit("simulator", f"{n} candle requests, +{args.latency_ms} ms latency: concurrent vs serial",
             concurrent_lat, serial_lat * n, unit="s", target="well under 1 s (not the bottleneck)",
             note=f"{n / concurrent_lat:.0f} req/s")  # fmt: skip
        control.set_latency(0)
        stats = control.requests(limit=n)
        server_ms = sorted(r["duration_ms"] for r in stats)
        print(f"  server-side handling (last {len(server_ms)} req, incl. latency): "
              f"median {server_ms[len(server_ms) // 2]:.1f} ms, max {server_ms[-1]:.1f} ms")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


if __name__ == "__main__":
    main()
