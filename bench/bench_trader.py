"""Trader benchmark: marker-to-all-acknowledged for 20 strategies, batched vs serial.

``.venv/bin/python -m bench.bench_trader [--latency-ms 50] [--repeats 3]``

One simulated OKX account trades 20 instruments (12 swaps + 8 spot pairs), each with a strategy
that reads 60 bars and goes long. Each run starts a flat account and a fresh data directory,
starts the bar's cycle (it waits for the collector's marker, sleeping), writes the marker, and
measures from that moment until OKX has acknowledged the last of the 20 orders. The baseline is
the same trader code placing one order at a time (the original framework's way,
``Executor(batch=False)``); the candidate sends them as ``batch-orders``. Both run in the same
process against the same simulator, alternating, with ``--latency-ms`` of simulated network
latency on every request; the medians and their ratio are printed (target: >= 5x).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import Field

from bench.report import emit
from config import load_config
from config.credentials import simulator_credentials
from core.bars import Bar
from core.clock import ScaledClock, from_ms
from core.intervals import parse_interval
from core.markers import InstrumentStatus, Marker
from core.store import CandleStore
from exchange import make_account_client, make_public_client
from exchange.errors import ExchangeError
from exchange.records import OrderAck, OrderRequest
from notify.service import RecordingNotifier
from simulator.server import RunningSimulator, start_background
from strategies.registry import StrategyParams, register
from trader.context import build_context
from trader.cycle import run_cycle
from trader.preflight import preflight

SWAPS = [f"{c}-USDT-SWAP" for c in ("BTC", "ETH", "SOL", "DOGE", "XRP", "LTC", "ADA", "LINK", "AVAX", "BCH")]
SWAPS += ["DOT-USDT-SWAP", "TRX-USDT-SWAP"]
SPOTS = [f"{c}-USDT" for c in ("BTC", "ETH", "SOL", "DOGE", "XRP", "LTC", "LINK", "AVAX")]
INSTRUMENTS = SWAPS + SPOTS  # 20 strategies
BARS = 60
STRATEGY = "bench_trend"
T0 = datetime(2025, 1, 6, tzinfo=UTC)


class TrendParams(StrategyParams):
    n: int = Field(50, ge=2)


@register(STRATEGY, TrendParams, lookback=lambda p: p.n + 1)
def bench_trend(df: pd.DataFrame, now_pos: int, avg_price: Decimal | None, params: TrendParams) -> int | None:
    """Long when the close is at or above its n-bar mean (always, on the flat bench data)."""
    closes = df["close"].iloc[-params.n :]
    return 1 if closes.iloc[-1] >= closes.mean() * (1 - 1e-9) else 0


class AckClock:
    """Wraps an account client; remembers when the last order acknowledgement arrived."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.last_ack: float | None = None
        self.acks = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def place_order(self, req: OrderRequest) -> OrderAck:
        ack = self._inner.place_order(req)
        self.last_ack, self.acks = time.perf_counter(), self.acks + 1
        return ack

    def place_orders(self, reqs: Sequence[OrderRequest]) -> list[OrderAck | ExchangeError]:
        acks: list[OrderAck | ExchangeError] = self._inner.place_orders(reqs)
        self.last_ack, self.acks = time.perf_counter(), self.acks + sum(isinstance(a, OrderAck) for a in acks)
        return acks


def _config(base_url: str, data: Path, account: str) -> str:
    strategies = ",\n".join(
        f"        Strategy({i!r}, {STRATEGY!r}, leverage={2 if i in SWAPS else 1})" for i in INSTRUMENTS
    )
    return (
        "from config import Account, Exchange, Notify, Strategy, Trader\n"
        f"EXCHANGE = Exchange(mode='simulator', base_url={base_url!r})\n"
        f"DATA_DIR = {str(data)!r}\nCANDLE_TIMEZONE = 'UTC'\n"
        "TRADER = Trader(order_type='market', marker_deadline_s=50)\n"
        "NOTIFY = Notify(dingtalk=None, report_every_minutes=0)\n"
        f"ACCOUNTS = {{{account!r}: Account(\n    credentials='OKX_{account.upper()}', interval='1m',\n"
        "    strategies=[\n"
        f"{strategies}\n    ])}}\n"
    )


def one_run(sim: RunningSimulator, root: Path, batch: bool, number: int, rng: random.Random) -> float:
    """Seconds from the marker write to the last order acknowledgement."""
    account = f"{'b' if batch else 's'}{number}"
    creds = simulator_credentials(account)
    sim.control.add_account(creds.api_key, creds.secret, creds.passphrase, balance="200000", name=account)
    data = root / account
    data.mkdir()
    (data / "config.py").write_text(_config(sim.base_url, data / "data", account), encoding="utf-8")
    cfg = load_config(data / "config.py", environ={}, env_file=data / "absent.env")
    iv = parse_interval("1m")
    bar_close = T0 + iv.delta * (2 * number + (1 if batch else 0))  # a fresh bar per run
    sim.control.set_clock(bar_close + timedelta(seconds=1), mode="running", speed=1)
    clock = ScaledClock(datetime.now(UTC), from_ms(sim.control.now_ms()), 1.0)
    client = AckClock(make_account_client(cfg.exchange, creds, clock, account=account))
    public = make_public_client(cfg.exchange, clock)
    waiting = threading.Event()
    shared: dict[str, Any] = {}

    def trader() -> None:  # the whole trader lives in this thread (its journal is thread-bound)
        ctx = build_context(
            cfg, account, client=client, public=public, clock=clock, notifier=RecordingNotifier(), batch=batch
        )
        try:
            preflight(ctx)
            for inst in INSTRUMENTS:
                px = sim.control.price(inst)
                bars = [
                    Bar(bar_close - iv.delta * k, px, px, px, px, Decimal(1), Decimal(1), Decimal(1))
                    for k in range(BARS, 0, -1)
                ]
                CandleStore(ctx.cfg.candles_dir, ctx.cfg.candle_timezone).rewrite(inst, iv, bars)
            shared["markers"] = ctx.markers
            waiting.set()
            shared["result"] = run_cycle(ctx, bar_close)
        finally:
            waiting.set()
            ctx.close()

    worker = threading.Thread(target=trader)
    worker.start()
    try:
        waiting.wait(60)
        time.sleep(0.3 + rng.uniform(0, 0.1))  # the cycle is now waiting (sleeping) for the marker
        statuses = {i: InstrumentStatus(ok=True, last_candle=bar_close - iv.delta) for i in INSTRUMENTS}
        start = time.perf_counter()
        shared["markers"].write(Marker(iv.name, bar_close - iv.delta, bar_close, clock.now(), statuses))
        worker.join(timeout=120)
    finally:
        worker.join(timeout=120)
        client.close()
        public.close()
    if client.acks != len(INSTRUMENTS) or client.last_ack is None:
        result = shared.get("result")
        skipped = result.skipped if result is not None else "no result"
        raise RuntimeError(f"expected {len(INSTRUMENTS)} acknowledgements, got {client.acks}: {skipped}")
    return client.last_ack - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_trader", description=__doc__)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    rng = random.Random(1)
    # OKX's per-2 s budgets are off: they would throttle the baseline's 20 single orders, not this.
    sim = start_background(seed=5, latency_ms=args.latency_ms, rate_limits=False)
    serial: list[float] = []
    batched: list[float] = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-trader-") as tmp:
            for n in range(args.repeats):
                serial.append(one_run(sim, Path(tmp), batch=False, number=n, rng=rng))
                batched.append(one_run(sim, Path(tmp), batch=True, number=n, rng=rng))
                print(f"run {n + 1}: serial {serial[-1] * 1000:7.1f} ms   batch {batched[-1] * 1000:7.1f} ms")
    finally:
        sim.stop()
    s, b = statistics.median(serial), statistics.median(batched)
    print(f"\n{len(INSTRUMENTS)} strategies, {args.latency_ms} ms latency, median of {args.repeats}:")
    print(f"  baseline, one order at a time: {s * 1000:8.1f} ms marker -> all acknowledged")
    print(f"  batch-orders:                  {b * 1000:8.1f} ms marker -> all acknowledged")
    print(f"  speed-up: {s / b:.1f}x (target >= 5x)")
    emit("trader", f"marker -> all acknowledged, {len(INSTRUMENTS)} strategies: batch vs one order at a time",
         b * 1000, s * 1000, unit="ms", target=">= 5x")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
