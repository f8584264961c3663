"""The gateway's client pool against the simulator: many credential sets, bounded cost.

More credential sets than ``max_accounts`` in rotation must neither grow memory per set (every
python-okx client used to carry its own TLS context, ~1 MB of native memory that stays allocated)
nor spend the per-IP ``public/time`` budget once per new client.
"""

from __future__ import annotations

import gc
from pathlib import Path

from config.schema import ExchangeSettings
from core.clock import SystemClock
from gateway.clients import ClientPool
from gateway.protocol import FmzKeys
from simulator.server import RunningSimulator

TIME = "/api/v5/public/time"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def fmz_keys(n: int) -> FmzKeys:
    return FmzKeys(f"pool-ak-{n:04d}", f"pool-secret-{n:04d}", f"PoolPass{n:04d}")


def test_new_clients_share_one_server_time_measurement(sim: RunningSimulator) -> None:
    for n in range(6):
        k = fmz_keys(n)
        sim.control.add_account(k.access_key, k.secret, k.passphrase, name=f"pool{n}")
    settings = ExchangeSettings(mode="simulator", base_url=sim.base_url, timeout_s=5)
    pool = ClientPool(settings, SystemClock(), max_accounts=2)
    try:
        sim.control.clear_requests()
        for _ in range(2):  # six accounts through two slots: every lease builds a client
            for n in range(6):
                with pool.account(fmz_keys(n)) as session:
                    assert session.client.balance().total_eq > 0
        assert len(pool) == 2
    finally:
        pool.close()
    assert len(sim.control.requests(path=TIME)) == 1
    assert len(sim.control.requests(path="/api/v5/account/balance")) == 12


def test_memory_per_credential_set_stays_bounded() -> None:
    settings = ExchangeSettings(mode="simulator", base_url="http://127.0.0.1:9")
    pool = ClientPool(settings, SystemClock(), max_accounts=8)
    try:
        for n in range(20):  # warm up: imports, the shared HTTP client, allocator pools
            with pool.account(fmz_keys(n)):
                pass
        gc.collect()
        before = rss_mb()
        for n in range(20, 320):
            with pool.account(fmz_keys(n)):
                pass
        gc.collect()
        grown = rss_mb() - before
    finally:
        pool.close()
    assert len(pool) == 0
    assert grown < 20, f"RSS grew {grown:.1f} MB over 300 credential sets"
