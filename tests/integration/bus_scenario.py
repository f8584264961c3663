"""Two "hosts" on one machine for the Redis-mode trader tests (no tests here).

A collector directory publishes one 1h bar (BTC short, ETH long, as in the crash tests) through
the real :class:`~bus.sources.PublishingMarkerStore`; each host is its own data directory with a
config whose ``DATA_BUS`` is the test's redis-server. Traders run as ``python -m trader --once``
subprocesses, so a SIGKILL really kills one mid-cycle.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import redis

from bus.keys import Keys
from bus.publisher import BusPublisher
from bus.sources import PublishingMarkerStore
from config import load_config
from config.credentials import simulator_credentials
from config.schema import FleetConfig
from core.clock import CLOCK_ENV, FakeClock, ScaledClock, from_ms
from core.intervals import parse_interval
from core.markers import MarkerStore
from core.store import CandleStore
from exchange import make_account_client
from exchange.private import AccountClient
from exchange.records import OrderRequest
from simulator.server import RunningSimulator
from tests.integration.test_trader_crash import assert_converged_once
from tests.integration.test_trader_helpers import config_text, publish_bar, register_account
from trader.crashpoints import CRASH_ENV

__all__ = ["BAR", "BTC", "ETH", "Hosts"]

ROOT = Path(__file__).resolve().parents[2]
BAR = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
BTC, ETH = "BTC-USDT-SWAP", "ETH-USDT-SWAP"
IV = parse_interval("1h")


class Hosts:
    """One account traded from host A or host B (or files mode), data published from a collector."""

    def __init__(
        self, sim: RunningSimulator, tmp_path: Path, redis_url: str | None, lease_s: float = 2
    ) -> None:
        self.sim = sim
        self.account = "f" + uuid.uuid4().hex[:10]
        self.root = tmp_path / self.account
        self.prefix = "t" + uuid.uuid4().hex[:6]
        self.redis_url = redis_url
        register_account(sim.control, self.account, balance="10000", pos_mode="net")
        self.cfgs: dict[str, FleetConfig] = {}
        for host in ("collector", "A", "B"):
            self.cfgs[host] = self._config(host, lease_s)

    def _config(self, host: str, lease_s: float) -> FleetConfig:
        folder = self.root / host
        folder.mkdir(parents=True)
        trader = {"order_wait_s": 3, "reprice_attempts": 1, "marker_deadline_s": 600}
        text = config_text(
            self.sim.base_url, folder / "data", self.account, {BTC: 3, ETH: 3}, interval="1h", trader=trader,
            register_strategy=True,
        )  # fmt: skip
        if self.redis_url is not None:
            text += (
                f"\nfrom config import Redis\nDATA_BUS = Redis({self.redis_url!r}, prefix={self.prefix!r}, "
                f"lease_s={lease_s!r}, host={'host' + host!r})\n"
            )
        path = folder / "config.py"
        path.write_text(text, encoding="utf-8")
        return load_config(path, environ={}, env_file=folder / "absent.env")

    def clock(self) -> ScaledClock:
        return ScaledClock(datetime.now(UTC), from_ms(self.sim.control.now_ms()), 1.0)

    def client(self) -> AccountClient:
        cfg = self.cfgs["A"]
        return make_account_client(cfg.exchange, simulator_credentials(self.account), self.clock(),
                                   account=self.account)  # fmt: skip

    def prepare(self) -> None:
        """Hold 3 BTC long, then publish the bar (BTC short, ETH long) through the bus (or files)."""
        with self.client() as client:
            client.place_order(OrderRequest(BTC, "cross", "buy", "market", Decimal(3), "earlier1"))
        self.publish(BAR, {BTC: -1, ETH: 1})

    def publish(self, bar: datetime, targets: dict[str, int | None]) -> None:
        """The bar closing at ``bar`` (each instrument's target, None = keep) and its marker."""
        cfg = self.cfgs["collector" if self.redis_url else "A"]
        store = CandleStore(cfg.candles_dir, cfg.candle_timezone)
        markers: MarkerStore = MarkerStore(cfg.markers_dir)
        if self.redis_url is not None:
            publisher = BusPublisher(redis.Redis.from_url(self.redis_url), Keys(self.prefix), store,
                                     FakeClock(bar), {IV: 100})  # fmt: skip
            markers = PublishingMarkerStore(cfg.markers_dir, publisher, {IV: (BTC, ETH)})
        closes = {BTC: self.sim.control.price(BTC), ETH: self.sim.control.price(ETH)}
        publish_bar(store, markers, IV, bar, targets, closes)

    def cli(self, host: str, *args: str) -> subprocess.CompletedProcess[str]:
        """``python -m trader ACCOUNT ARGS`` run by an operator on ``host``."""
        env = {k: v for k, v in os.environ.items() if k not in (CRASH_ENV, CLOCK_ENV)}
        env[CLOCK_ENV] = self.clock().spec()
        cmd = [sys.executable, "-m", "trader", self.account, "--config", str(self.cfgs[host].source), *args]
        return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)

    def start(self, host: str, crash_at: str | None = None, *, once: bool = True) -> subprocess.Popen[str]:
        env = {k: v for k, v in os.environ.items() if k not in (CRASH_ENV, CLOCK_ENV)}
        env[CLOCK_ENV] = self.clock().spec()
        if crash_at:
            env[CRASH_ENV] = crash_at
        cfg = self.cfgs[host]
        return subprocess.Popen(
            [sys.executable, "-m", "trader", self.account, "--config", str(cfg.source), *(["--once"] * once)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def run(self, host: str, crash_at: str | None = None, faults: list[dict[str, Any]] | None = None) -> int:
        self.sim.control.set_faults(faults or [])
        proc = self.start(host, crash_at)
        _, self.last_stderr = proc.communicate(timeout=90)
        self.sim.control.clear_faults()
        return proc.returncode

    def orders(self) -> list[dict[str, Any]]:
        mine = [o for o in self.sim.control.orders() if o["account"] == self.account]
        return [o for o in mine if o["clOrdId"] != "earlier1"]

    def check(self, host: str) -> dict[str, Any]:
        """No clOrdId twice, nothing working, positions = the journaled targets, BTC closed once."""
        orders = self.orders()
        with self.client() as client:
            path = self.cfgs[host].journal_dir / f"{self.account}.sqlite"
            signals = assert_converged_once(orders, path, client, BAR)
        return {"orders": orders, "signals": signals}
