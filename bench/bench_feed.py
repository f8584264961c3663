"""Benchmark: close-to-marker with the WebSocket feed vs the REST feed, 500 instruments, same run.

    .venv/bin/python -m bench.bench_feed [--instruments 500] [--samples 2] [--latency-ms 50]

The simulator runs as a **separate process** (so the CPU figures are the collector's alone) with
``--latency-ms`` per REST request, OKX's rate limits ON (``market/candles`` 40 per 2 s per IP) and
candle pushes 100-300 ms after each close (``delay_ms=100, jitter_ms=200``), its clock running at
wall speed and shared with the collector (``--clock-anchor``). One collector backfills the
instruments' 1m CSVs, then:

1. **websocket** — its feed subscribes every instrument on the business WebSocket; at each of
   ``--samples`` closes the cycle starts at the close and waits for the confirm pushes;
2. **rest** — the WebSocket is closed and the same CSVs are carried on by the REST feed
   (concurrent ``market/candles`` within the per-IP budget, as before this feed existed) for
   ``--samples`` closes; its cycle also starts right at the close (the production default waits
   ``close_delay_s`` = 1 s more, so this baseline is flattered).

Printed per feed: median close-to-marker (process clock, close to the 1m marker on disk), the
collector's CPU seconds per cycle (close to marker), and for the WebSocket feed the CPU seconds of
a whole bar (from one close to the next, including the stream of forming-bar updates in between).
Target: WebSocket under 1.5 s and at least 10x faster than REST.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.bench_collector import instruments, write_config
from bench.report import emit
from collector.service import CollectorService
from collector.ws_feed import WsFeed
from config import load_config
from core.clock import ScaledClock, to_ms
from exchange import PublicClient, make_public_client
from notify.service import RecordingNotifier
from simulator.catalogue import CATALOGUE
from simulator.control import SimControl

M1 = timedelta(minutes=1)


@dataclass
class Sample:
    close_to_marker_s: float
    ready_s: float  # close to every instrument's bars in hand (the rest is disk: CSVs, marker)
    cycle_cpu_s: float
    via_push: int
    via_rest: int


def start_simulator(anchor: str, latency_ms: int, extra: int) -> tuple[subprocess.Popen[str], str]:
    cmd = [sys.executable, "-m", "simulator", "--port", "0", "--latency-ms", str(latency_ms),
           "--rate-limits", "on", "--clock-anchor", anchor, "--extra-instruments", str(extra),
           "--log-level", "ERROR"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening on " not in line:
        proc.kill()
        raise SystemExit(f"simulator did not start: {line!r}")
    return proc, line.split("listening on ")[1].split()[0]


def run_close(service: CollectorService, close: datetime) -> Sample:
    """Sleep to ``close``, run its cycle, measure it."""
    service.clock.sleep_until(close)
    cpu = time.process_time()
    report = service.run_cycle(close)
    cpu = time.process_time() - cpu
    outcome = report.outcome("1m")
    if outcome.failed:
        raise SystemExit(f"cycle failed: {report.summary()}")
    last = service.feed.status().last
    assert last is not None
    return Sample(outcome.latency_s, last.ready_s, cpu, last.via_push, last.via_rest)


def next_close(service: CollectorService, margin_s: float = 3.0) -> datetime:
    now = service.clock.now()
    close = service.plan.last_close(now) + M1
    return close if (close - now).total_seconds() >= margin_s else close + M1


def service_for(folder: Path, base_url: str, insts: Sequence[str], feed: str, clock: ScaledClock,
                client: PublicClient) -> CollectorService:  # fmt: skip
    settings = f"feed={feed!r}, ws_deadline_s=2.0"
    cfg = load_config(write_config(folder, base_url, {"a": ("1m", insts)}, collector=settings))
    return CollectorService(cfg, clock=clock, client=client, notifier=RecordingNotifier(), progress=False)


def bench(n: int, samples: int, latency_ms: int, folder: Path) -> None:
    insts, _ = instruments(n)
    wall = datetime.now(UTC)
    virtual = datetime(2024, 3, 1, tzinfo=UTC) - timedelta(seconds=5)
    clock = ScaledClock(wall, virtual, 1.0)
    anchor = f"{to_ms(wall)}:{to_ms(virtual)}:1"
    proc, base_url = start_simulator(anchor, latency_ms, max(0, n - len(CATALOGUE)))
    control = SimControl(base_url)
    try:
        control.ws(delay_ms=100, jitter_ms=200)
        cfg_probe = load_config(write_config(folder, base_url, {"a": ("1m", insts)}))
        client = make_public_client(cfg_probe.exchange, clock, max_workers=16)
        ws_service = service_for(folder, base_url, insts, "websocket", clock, client)
        started = time.perf_counter()
        ws_service.backfill()
        print(f"backfilled {n} instruments in {time.perf_counter() - started:.1f} s")
        feed = ws_service.feed
        assert isinstance(feed, WsFeed)
        feed.start()
        while feed.status().live_instruments < n:
            time.sleep(0.2)
        print(f"websocket: {n} subscriptions live on {len(feed.groups)} connection(s)")
        ws: list[Sample] = []
        bar_cpu: list[float] = []
        close = next_close(ws_service)
        for k in range(samples + 1):
            cpu = time.process_time()
            sample = run_close(ws_service, close)
            if k:  # the first close only starts the whole-bar CPU measurement
                ws.append(sample)
                bar_cpu.append(time.process_time() - cpu)
            close += M1
        ws_service.close()
        rest_service = service_for(folder, base_url, insts, "rest", clock, client)
        rest = [run_close(rest_service, close + M1 * k) for k in range(samples)]
        rest_service.close()
        client.close()
    finally:
        control.close()
        proc.terminate()
        proc.wait(10)
    report(n, latency_ms, ws, rest, bar_cpu)


def report(n: int, latency_ms: int, ws: list[Sample], rest: list[Sample], bar_cpu: list[float]) -> None:
    print(f"\n== close-to-marker, {n} instruments, REST latency {latency_ms} ms, rate limits ON, "
          f"pushes 100-300 ms after the close ==")  # fmt: skip
    print(f"{'feed':<10} {'close->marker s':>16} {'close->ready s':>15} {'cycle CPU s':>12} "
          f"{'via push':>9} {'via REST':>9}")  # fmt: skip
    for name, rows in (("websocket", ws), ("rest", rest)):
        for s in rows:
            print(f"{name:<10} {s.close_to_marker_s:>16.3f} {s.ready_s:>15.3f} {s.cycle_cpu_s:>12.3f} "
                  f"{s.via_push:>9} {s.via_rest:>9}")  # fmt: skip
    ws_lag = statistics.median(s.close_to_marker_s for s in ws)
    rest_lag = statistics.median(s.close_to_marker_s for s in rest)
    ws_cpu = statistics.median(s.cycle_cpu_s for s in ws)
    rest_cpu = statistics.median(s.cycle_cpu_s for s in rest)
    whole = statistics.median(bar_cpu)
    print(f"median close->marker: websocket {ws_lag:.3f} s, REST {rest_lag:.3f} s, "
          f"ratio {rest_lag / ws_lag:.1f}x")  # fmt: skip
    print(f"collector CPU per bar: websocket {ws_cpu:.3f} s per cycle, {whole:.3f} s per whole 1m bar "
          f"(forming updates included); REST {rest_cpu:.3f} s per cycle")  # fmt: skip
    emit("feed", f"close-to-marker, {n} instruments: websocket vs REST feed", ws_lag, rest_lag, unit="s",
         target="websocket < 1.5 s and >= 10x", note=f"{ws[-1].via_push}/{n} via push")  # fmt: skip
    emit("feed", f"collector CPU per cycle, {n} instruments: websocket vs REST", ws_cpu, rest_cpu, unit="s",
         note=f"websocket whole 1m bar incl. forming updates: {whole:.2f} s CPU")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_feed", description=__doc__.split("\n")[0])
    parser.add_argument("--instruments", type=int, default=500)
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--latency-ms", type=int, default=50)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="bench-feed-") as folder:
        bench(args.instruments, args.samples, args.latency_ms, Path(folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
