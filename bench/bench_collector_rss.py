"""Benchmark: the collector's peak memory with a 1m base, a 1d account, 50 instruments and
``history_bars=1000`` (issue 12, item 12; target: under 300 MB RSS).

    .venv/bin/python -m bench.bench_collector_rss [--instruments 50] [--history-bars 1000]
        [--closes 5] [--speed 20] [--baseline-days 100]

**Measured.** ``python -m collector`` runs as a child process against an in-process simulator (rate
limits off, the 12 catalogue swaps plus synthetic ones, both on one scaled clock): start-up
backfill (1m history plus every 1d bar natively; the virtual start lies minutes before OKX's 1D
close at 16:00 UTC, so a day bar is also derived from 1,440 minutes per instrument during the
run), then ``--closes`` live base closes, then SIGTERM. Its peak RSS is the child's ``ru_maxrss``
(``os.wait4``); the day history is checked to hold ``history_bars`` rows per instrument and to
end with the day that closed during the run.

**Baseline (the old approach, estimated in the same run).** Before, every interval's history was
derived from base bars: a 1d history of 1,000 bars meant 1.44 M 1m bars per instrument, and a
rebuild loaded them all (``collector.derive`` with ``rebuild_bars`` = 1.44 M). That rebuild is
measured in a child process on ``--baseline-days`` of minutes and scaled linearly to 1,000 days:
``import RSS + (rebuild RSS - import RSS) x 1000 / baseline-days``. (Fetching those minutes at
OKX's 20 history requests per 2 s would also take ~20 h for 50 instruments.)
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.report import emit
from simulator.catalogue import CATALOGUE
from simulator.server import start_background

ROOT = Path(__file__).resolve().parents[1]
START = datetime(2025, 6, 2, 15, 57, 5, tzinfo=UTC)  # a few closes before a 1D close (16:00 UTC)
_BASELINE_CHILD = """
import os, resource, sys, time
from datetime import datetime, timedelta, UTC
from decimal import Decimal
from pathlib import Path
from typing import Any
from collector.derive import derive
from collector.plan import CollectPlan
from core.intervals import parse_interval
from core.store import COLUMNS, CandleStore
days, folder = int(sys.argv[1]), Path(sys.argv[2])
m1, d1 = parse_interval("1m"), parse_interval("1d")
plan = CollectPlan("Asia/Shanghai", {m1: ("X-USDT-SWAP",), d1: ("X-USDT-SWAP",)})
store = CandleStore(folder, plan.tz)
start = datetime(2022, 1, 1, 16, tzinfo=UTC)
with store.path("X-USDT-SWAP", m1).open("w") as fh:
    fh.write(",".join(COLUMNS) + "\\n")
    for i in range(days * 1440):
        ts = (start + timedelta(minutes=i)).isoformat()
        fh.write(f"{ts},100.1,100.9,99.8,100.4,12.5,0.125,1255.3\\n")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if sys.argv[3] == "rebuild":
    upto = start + timedelta(days=days - 1)
    result = derive(store, plan, "X-USDT-SWAP", d1, upto, rebuild_bars=days * 1440)
    assert result.ok and result.rebuilt, result
print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def write_config(folder: Path, base_url: str, insts: list[str], history_bars: int) -> Path:
    strategies = ", ".join(f"Strategy({i!r}, 'sma_cross', params={{'fast': 2, 'slow': 5}})" for i in insts)
    text = "\n".join([
        "from config import Account, Collector, Exchange, Notify, Strategy",
        f"EXCHANGE = Exchange(mode='simulator', base_url={base_url!r})",
        f"DATA_DIR = {str(folder / 'data')!r}",
        f"COLLECTOR = Collector(history_bars={history_bars}, verify_every_minutes=0)",
        "NOTIFY = Notify(dingtalk=None)",
        "ACCOUNTS = {",
        f"  'minute': Account(credentials='OKX_MINUTE', interval='1m', strategies=[{strategies}]),",
        f"  'daily': Account(credentials='OKX_DAILY', interval='1d', strategies=[{strategies}]),",
        "}",
    ])  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.py"
    path.write_text(text + "\n")
    return path


def measure_collector(
    folder: Path, insts: int, history_bars: int, closes: int, speed: float
) -> tuple[float, float]:
    """(peak RSS in MB, wall seconds) of ``python -m collector`` through start-up and ``closes``."""
    swaps = [i for i in CATALOGUE if i.endswith("-SWAP")]
    names = swaps[:insts] + [f"S{i:03d}-USDT-SWAP" for i in range(1, insts - len(swaps) + 1)]
    wall_ms = int(time.time() * 1000)
    virtual_ms = int(START.timestamp() * 1000)
    options: dict[str, Any] = {
        "rate_limits": False, "extra_instruments": max(0, insts - len(swaps)),
        "clock_start_ms": virtual_ms, "clock_anchor_wall_ms": wall_ms, "clock_speed": speed,
    }  # fmt: skip
    with start_background(**options) as sim:
        config = write_config(folder, sim.base_url, names, history_bars)
        env = {**os.environ, "OKXFLEET_CLOCK": f"{wall_ms}:{virtual_ms}:{speed}"}
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "collector", "--config", str(config), "--log-level", "WARNING"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        markers = folder / "data" / "markers" / "1m"
        seen_start: int | None = None
        live_from = 0.0
        while proc.poll() is None:
            time.sleep(0.5)
            count = len(list(markers.glob("*.json"))) if markers.is_dir() else 0
            if count and seen_start is None:
                live_from = time.monotonic()  # start-up done (catch-up markers being written)
                print(f"  start-up done after {live_from - started:.1f} s", flush=True)
                seen_start = count
            # live closes: the base interval's period on the scaled clock, after start-up
            if seen_start is not None and time.monotonic() - live_from > (closes + 0.5) * 60 / speed:
                break
            if time.monotonic() - started > 1800:
                break
        proc.send_signal(signal.SIGTERM)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.monotonic() - started
        err = proc.stderr.read() if proc.stderr else ""
        if seen_start is None:
            raise SystemExit(f"collector never wrote a marker (status {status}):\n{err[-3000:]}")
        day_text = (folder / "data" / "candles" / f"{names[-1]}_1d.csv").read_text()
        days = day_text.count("\n") - 1
        last_day = day_text.splitlines()[-1].split(",")[0]
        if not last_day.startswith("2025-06-02T00:00:00+08:00"):
            raise SystemExit(f"the day that closed during the run was not derived (last day {last_day})")
        minutes = (folder / "data" / "candles" / f"{names[-1]}_1m.csv").read_text().count("\n") - 1
        print(f"  {names[-1]}: {days} 1d rows (last {last_day}), {minutes} 1m rows")
        if days < history_bars:
            raise SystemExit(f"only {days} day rows, expected {history_bars}")
    return usage.ru_maxrss / 1024, elapsed


def baseline(folder: Path, days: int) -> float:
    """Estimated peak RSS (MB) of the old full rebuild of 1,000 days of 1m bars."""
    folder.mkdir(parents=True, exist_ok=True)

    def run(mode: str) -> tuple[int, int]:
        out = subprocess.run([sys.executable, "-c", _BASELINE_CHILD, str(days), str(folder), mode],
                             cwd=ROOT, check=True, capture_output=True, text=True)  # fmt: skip
        before, after = out.stdout.split()
        return int(before), int(after)

    imported, _ = run("import")
    _, rebuilt = run("rebuild")
    per_day = (rebuilt - imported) / days
    print(f"  old rebuild of {days} days of minutes: {rebuilt / 1024:.0f} MB peak ({imported / 1024:.0f} "
          f"MB after imports) -> {per_day / 1024:.2f} MB per day of minutes")  # fmt: skip
    return (imported + per_day * 1000) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--instruments", type=int, default=50)
    parser.add_argument("--history-bars", type=int, default=1000)
    parser.add_argument("--closes", type=int, default=5)
    parser.add_argument("--speed", type=float, default=20.0)
    parser.add_argument("--baseline-days", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-rss-") as tmp:
        folder = Path(tmp)
        print(f"== collector peak RSS: 1m base, 1d account, {args.instruments} instruments, "
              f"history_bars={args.history_bars} ==")  # fmt: skip
        old = baseline(folder / "baseline", args.baseline_days) if args.baseline_days else 0.0
        rss, elapsed = measure_collector(folder / "run", args.instruments, args.history_bars, args.closes,
                                         args.speed)  # fmt: skip
        print(f"  collector: {rss:.0f} MB peak RSS over start-up and {args.closes} closes ({elapsed:.0f} s)")
        figure = f"peak RSS, 1m base + 1d, {args.instruments} inst, history {args.history_bars}"
        note = f"baseline: old full rebuild from 1m, estimated from {args.baseline_days} days"
        emit("collector_rss", figure, rss, old, unit="MB", target="< 300 MB", note=note)


if __name__ == "__main__":
    main()
