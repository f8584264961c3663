"""Gateway client pool: memory and ``public/time`` calls per credential set, shared vs own HTTP clients.

Run: ``.venv/bin/python -m bench.bench_gateway_pool [--sets 1600] [--max-clients 64]``

A simulator (rate limits off) with ``--sets`` + 1 registered accounts, and for each variant a fresh
process that leases ``--sets`` credential sets in turn through a :class:`gateway.clients.ClientPool`
of ``--max-clients`` and makes one ``balance`` call with each -- more sets than slots, so every lease
builds a client and evicts one:

- **baseline**, the old behaviour: each client from :func:`exchange.make_account_client` (its own
  python-okx ``httpx`` clients, TLS contexts and server-time offset);
- **shared**, the pool's default: clients over one HTTP client and one server-time offset per mode
  (:class:`exchange.shared.SharedHttp`).

Prints RSS growth (after a one-set warm-up), time per set and ``public/time`` calls for both.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
from pathlib import Path

from bench.report import emit

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {"baseline": "own python-okx clients per set (old)", "shared": "one shared HTTP client (new)"}


def _keys(n: int) -> tuple[str, str, str]:
    return f"poolkey{n:05d}", f"poolsecret{n:05d}x", f"PoolPass{n:05d}"


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def worker(variant: str, base_url: str, sets: int, max_clients: int) -> dict[str, float]:
    """One variant in this process; returns its figures."""
    from config.credentials import Credentials
    from config.schema import ExchangeSettings
    from core.clock import Clock, SystemClock
    from exchange import AccountClient, make_account_client
    from gateway.clients import ClientPool
    from gateway.protocol import FmzKeys

    def own(settings: ExchangeSettings, creds: Credentials, clock: Clock, name: str) -> AccountClient:
        return make_account_client(settings, creds, clock, account=name)

    settings = ExchangeSettings(mode="simulator", base_url=base_url, timeout_s=30)
    pool = ClientPool(
        settings,
        SystemClock(),
        max_accounts=max_clients,
        account_factory=own if variant == "baseline" else None,
    )

    def one(n: int) -> None:
        with pool.account(FmzKeys(*_keys(n))) as session:
            session.client.balance()

    one(sets)  # warm-up: imports, allocator pools, the shared client
    gc.collect()
    before = _rss_mb()
    started = time.perf_counter()
    for n in range(sets):
        one(n)
    elapsed = time.perf_counter() - started
    gc.collect()
    after = _rss_mb()
    pool.close()
    return {"rss_before_mb": before, "rss_after_mb": after, "ms_per_set": elapsed / sets * 1000}


def run_variant(variant: str, base_url: str, sets: int, max_clients: int) -> dict[str, float]:
    cmd = [sys.executable, "-m", "bench.bench_gateway_pool", "--worker", variant, "--base-url", base_url,
           "--sets", str(sets), "--max-clients", str(max_clients)]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True, timeout=3600)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--sets", type=int, default=1600, help="credential sets leased in turn")
    ap.add_argument("--max-clients", type=int, default=64, help="the pool's bound (gateway --max-clients)")
    ap.add_argument("--worker", choices=sorted(VARIANTS), help=argparse.SUPPRESS)
    ap.add_argument("--base-url", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.base_url, args.sets, args.max_clients)), flush=True)
        return 0

    from simulator.server import start_background

    results: dict[str, dict[str, float]] = {}
    with start_background(rate_limits=False) as sim:
        for n in range(args.sets + 1):
            key, secret, passphrase = _keys(n)
            sim.control.add_account(key, secret, passphrase, balance="1000", name=f"pool{n:05d}")
        for variant in ("baseline", "shared"):
            sim.control.clear_requests()
            results[variant] = run_variant(variant, sim.base_url, args.sets, args.max_clients)
            results[variant]["time_calls"] = len(sim.control.requests(path="/api/v5/public/time"))

    print(
        f"gateway client pool: {args.sets} credential sets in turn through --max-clients {args.max_clients}"
    )
    for variant, r in results.items():
        grown = r["rss_after_mb"] - r["rss_before_mb"]
        print(
            f"  {variant:<8} {VARIANTS[variant]:<38} "
            f"RSS {r['rss_before_mb']:7.1f} -> {r['rss_after_mb']:7.1f} MB "
            f"(+{grown:.1f} MB, {grown * 1024 / args.sets:.1f} kB/set), {r['ms_per_set']:.2f} ms/set, "
            f"public/time calls {r['time_calls']:.0f}"
        )
    old, new = results["baseline"], results["shared"]
    per_set = {
        v: max(r["rss_after_mb"] - r["rss_before_mb"], 0.0) * 1024 / args.sets for v, r in results.items()
    }
    emit("gateway", f"RSS growth per credential set, {args.sets} sets through {args.max_clients} slots",
         per_set["shared"], per_set["baseline"], unit="kB/set",
         note=f"RSS after: {new['rss_after_mb']:.0f} MB vs {old['rss_after_mb']:.0f} MB")  # fmt: skip
    emit("gateway", "time per new credential set (build client + one balance call)",
         new["ms_per_set"], old["ms_per_set"], unit="ms")  # fmt: skip
    emit("gateway", f"public/time calls for {args.sets} new credential sets",
         new["time_calls"], old["time_calls"], unit="calls")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
