"""Benchmark: the last 3 candles of 200 instruments, concurrent within OKX's per-IP budget vs serial.

    .venv/bin/python -m bench.bench_exchange [--latency-ms 50] [--pairs 200] [--workers 16]

Starts the simulator in-process (loopback, ``--latency-ms`` per request, rate limits ON: 40
``market/candles`` requests per 2 s per IP, as OKX) with its 12 catalogue swaps plus synthetic
swaps (``--extra-instruments``) so there are 200 distinct instruments, each fetched with one
``market/candles?bar=1m&limit=3`` request, exactly the request the collector makes per
instrument. Runs, each with a fresh client (fresh limiter):

1. serial baseline: one ``PublicClient.candles`` call after the other;
2. ``PublicClient.candles_many`` (what ``latest_candles_many`` runs) on a thread pool;
3. (``--naive``) the same concurrency with the limiter switched off, to show what it prevents.

Between runs it waits for the simulator's window to empty. The per-IP floor is 200 / 20 req/s =
10 s; a fresh budget lets the first 40 requests go at once, so the true floor is (200 - 40) / 20 =
8 s. The limiter keeps a 10 % margin (36 per 2.05 s), so its own floor is 10.25 s. The target is
concurrent <= 1.25 x 10 s. Exit status 1 if the target is missed or any request earned a 50011.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
from collections.abc import Sequence

from bench.report import emit
from config.schema import ExchangeSettings
from core.clock import SystemClock
from exchange.errors import ExchangeError
from exchange.factory import make_public_client
from exchange.public import PublicClient
from exchange.ratelimit import PUBLIC_LIMITS, RateLimiter
from exchange.retry import RetryPolicy
from simulator.server import RunningSimulator, start_background

ENDPOINT = "/api/v5/market/candles"
TARGET = 1.25


def pairs_for(client: PublicClient, n: int) -> list[tuple[str, str]]:
    ids = [i.inst_id for i in client.instruments("SWAP")]
    pairs = [(inst, "1m") for inst in ids]  # n distinct instruments, one 1m request each
    if len(pairs) < n:
        raise SystemExit(f"only {len(pairs)} (instrument, bar) pairs available, asked for {n}")
    return pairs[:n]


def settle(sim: RunningSimulator) -> None:
    """Wait until the simulator's 2 s window holds none of our requests; clear its log."""
    time.sleep(2.2)
    sim.control.clear_requests()


def rate_limited(sim: RunningSimulator) -> int:
    return sum(1 for r in sim.control.requests(path="/market/candles") if r["code"] == "50011")


def run_serial(client: PublicClient, pairs: Sequence[tuple[str, str]], limit: int) -> tuple[float, int]:
    failed = 0
    started = time.perf_counter()
    for inst, bar in pairs:
        try:
            client.candles(inst, bar, limit=limit)
        except ExchangeError:
            failed += 1
    return time.perf_counter() - started, failed


def run_concurrent(client: PublicClient, pairs: Sequence[tuple[str, str]], limit: int) -> tuple[float, int]:
    started = time.perf_counter()
    got = client.candles_many(pairs, limit=limit)
    elapsed = time.perf_counter() - started
    return elapsed, sum(1 for v in got.values() if isinstance(v, ExchangeError))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--limit", type=int, default=3)
    parser.add_argument("--naive", action="store_true", help="also run without the limiter")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # the naive run's 50011 warnings are counted below

    clock = SystemClock()
    extra = max(0, args.pairs - 12)  # the catalogue lists 12 swaps; the rest are synthetic swaps
    options = {"seed": 7, "latency_ms": args.latency_ms, "rate_limits": True, "extra_instruments": extra}
    with start_background(**options) as sim:
        settings = ExchangeSettings(mode="simulator", base_url=sim.base_url, timeout_s=10)

        def fresh() -> PublicClient:
            return make_public_client(settings, clock, max_workers=args.workers)

        with fresh() as setup:
            pairs = pairs_for(setup, args.pairs)
        settle(sim)
        with fresh() as client:
            serial, serial_failed = run_serial(client, pairs, args.limit)
        serial_429 = rate_limited(sim)
        settle(sim)
        with fresh() as client:
            concurrent, conc_failed = run_concurrent(client, pairs, args.limit)
            margin = client.limiter.effective(PUBLIC_LIMITS[ENDPOINT])
        conc_429 = rate_limited(sim)
        naive = None
        if args.naive:
            settle(sim)
            with fresh() as client:
                client.limiter = RateLimiter(clock, {})
                client.retry = RetryPolicy(max_attempts=1)
                naive = run_concurrent(client, pairs, args.limit)
            naive_429 = rate_limited(sim)

    n = len(pairs)
    limit = PUBLIC_LIMITS[ENDPOINT]
    per_s = limit.capacity / limit.window_s
    floor = n / per_s
    burst_floor = max(0.0, (n - limit.capacity) / per_s)
    cap, window = margin
    own_floor = max(0, math.ceil(n / cap) - 1) * window
    print(f"requests: {n} x market/candles?limit={args.limit}  ({n} (instrument, bar) pairs over "
          f"{len({p[0] for p in pairs})} instruments), simulator latency {args.latency_ms} ms, "
          f"rate limits on, {args.workers} workers")  # fmt: skip
    print(f"OKX per-IP budget: {limit.capacity} per {limit.window_s:g} s = {per_s:g} req/s")
    print(f"  floor {n}/{per_s:g}".ljust(27) + f"= {floor:6.2f} s")
    print(f"  floor after the burst    = {burst_floor:6.2f} s  (first {limit.capacity} at once)")
    print(f"  limiter floor (margin)   = {own_floor:6.2f} s  ({cap} per {window:g} s)")
    print(f"serial baseline            = {serial:6.2f} s  failed {serial_failed}, 50011 {serial_429}")
    print(f"latest_candles_many        = {concurrent:6.2f} s  failed {conc_failed}, 50011 {conc_429}")
    if naive is not None:
        print(f"naive (no limiter)         = {naive[0]:6.2f} s  failed {naive[1]}, 50011 {naive_429}")
    ratio = concurrent / floor
    print(f"ratio concurrent / floor   = {ratio:.3f}  (target <= {TARGET})")
    print(f"ratio concurrent / serial  = {concurrent / serial:.3f}")
    print(f"ratio serial / floor       = {serial / floor:.3f}")
    emit("exchange", f"last {args.limit} candles of {n} instruments: latest_candles_many vs serial",
         concurrent, serial, unit="s", note=f"{conc_429} x 50011")  # fmt: skip
    emit("exchange", f"same vs OKX per-IP floor ({n}/{per_s:g} req/s)", concurrent, floor, unit="s",
         target=f"value <= {TARGET}x floor", note=f"concurrent/floor = {ratio:.3f}")  # fmt: skip
    ok = ratio <= TARGET and conc_429 == 0 and conc_failed == 0
    print("RESULT", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
