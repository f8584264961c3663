"""Benchmark: the monitor's chart page with 50,000 bars, in Chromium.

    .venv/bin/python -m bench.bench_monitor [--bars 50000] [--loads 5] [--updates 10]

A temp fleet directory with ``--bars`` 1m candles of one instrument (written by ``CandleStore``), a
Bollinger strategy (so its three lines are computed and drawn too), one marker; ``python -m
monitor`` serves it; Debian's ``/usr/bin/chromium`` (Playwright) opens the chart page.

**1. Time to first paint.** From navigation start to the first animation frame after the candles
were set (``window.__okxfleet.firstPaint``), median of ``--loads`` loads after the first (the
first, cold load — the CSV parsed for the first time — is printed too). **Baseline**: the same
page and chart, with ``/api/candles`` answered (through Playwright's request interception) by the
straightforward reader: ``CandleStore.read_all`` (the trader's exact ``Decimal`` parser) on every
request, no cache. Target: under 1 s.

**2. Marker-to-browser latency.** With the chart open, the bench appends a bar to the CSV and
writes its marker (as the collector does), ``--updates`` times at irregular intervals, and takes
the time from the marker's ``os.replace`` to the moment the page has drawn the new candle (wall
clock on both sides, same machine). **Baseline**: in the same page at the same time, a browser
polling loop every 1 s (the fastest the issue allows) that fetches new candles itself. Target:
under 1 s.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, Route, sync_playwright

from bench.report import emit
from core.bars import Bar
from core.markers import InstrumentStatus, Marker, MarkerStore
from core.store import CandleStore

ROOT = Path(__file__).resolve().parents[1]
INST = "BTC-USDT-SWAP"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]  # fmt: skip
_POLLER = """() => {
  const s = window.__okxfleet, q = new URLSearchParams(location.search);
  window.__poll = { seen: s.lastTime, at: {} };
  setInterval(async () => {
    const r = await fetch(`/api/candles?inst=${q.get("inst")}&interval=1m&since=${window.__poll.seen}`);
    const d = await r.json();
    for (const t of d.t) { window.__poll.at[t] = Date.now(); window.__poll.seen = t; }
  }, 1000);
}"""
_CONFIG = """
from config import Account, Exchange, Strategy
EXCHANGE = Exchange(mode="simulator")
DATA_DIR = {data!r}
ACCOUNTS = {{"bench": Account(credentials="OKX_BENCH", interval="1m",
                              strategies=[Strategy({inst!r}, "bollinger", params={{"n": 200, "m": 2}})])}}
"""


def _bar(ts: datetime, rnd: random.Random, price: float) -> Bar:
    c = price + rnd.uniform(-5, 5)
    d = [Decimal(f"{x:.1f}") for x in (price, max(price, c) + 2, min(price, c) - 2, c)]
    vol = Decimal(rnd.randint(1, 900))
    return Bar(ts, d[0], d[1], d[2], d[3], vol, vol / 100, vol * d[3])


def build(folder: Path, bars: int) -> tuple[Path, CandleStore, MarkerStore, datetime]:
    rnd = random.Random(7)
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    out, price = [], 60_000.0
    for i in range(bars):
        bar = _bar(end - timedelta(minutes=bars - 1 - i), rnd, price)
        price = float(bar.close)
        out.append(bar)
    config = folder / "config.py"
    config.write_text(_CONFIG.format(data=str(folder / "data"), inst=INST), encoding="utf-8")
    store = CandleStore(folder / "data" / "candles")
    store.rewrite(INST, "1m", out)
    markers = MarkerStore(folder / "data" / "markers")
    return config, store, markers, end


def publish(store: CandleStore, markers: MarkerStore, bar: Bar) -> float:
    """Append ``bar`` and write its marker, as the collector does; the wall time of the marker."""
    store.append(INST, "1m", [bar])
    close = bar.ts + timedelta(minutes=1)
    markers.write(Marker("1m", bar.ts, close, close, {INST: InstrumentStatus(True, bar.ts)}))
    return time.time()


def naive_candles(store: CandleStore) -> str:
    bars = store.read_all(INST, "1m")
    cols: dict[str, list[Any]] = {"t": [int(b.ts.timestamp()) for b in bars]}
    for name in ("open", "high", "low", "close", "volume"):
        cols[name] = [float(getattr(b, name)) for b in bars]
    import json

    return json.dumps(cols)


def first_paint(page: Page, url: str) -> float:
    page.goto(url)
    page.wait_for_function(
        "() => window.__okxfleet?.firstPaint !== null && window.__okxfleet?.ready", timeout=60_000
    )
    return float(page.evaluate("() => window.__okxfleet.firstPaint")) / 1000


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_monitor", description=__doc__.splitlines()[0])
    ap.add_argument("--bars", type=int, default=50_000)
    ap.add_argument("--loads", type=int, default=5)
    ap.add_argument("--updates", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-monitor-") as tmp:
        config, store, markers, end = build(Path(tmp), args.bars)
        publish_rnd = random.Random(3)
        out = Path(tmp) / "monitor.out"
        with out.open("w") as fh:
            proc = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "--port", "0"],
                                    cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT)  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while not (m := re.search(r"monitor ready: (http://\S+)", out.read_text())):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit(f"monitor did not start:\n{out.read_text()}")
                time.sleep(0.1)
            chart = f"{m[1]}chart?inst={INST}&interval=1m&account=bench"
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 800})
                cold = first_paint(page, chart)
                drawn = page.evaluate("() => window.__okxfleet.bars")
                assert drawn == args.bars, (drawn, args.bars)
                warm = statistics.median(first_paint(page, chart) for _ in range(args.loads))

                def baseline_route(route: Route) -> None:
                    route.fulfill(status=200, content_type="application/json", body=naive_candles(store))

                page.route("**/api/candles?*", baseline_route)
                base = statistics.median(first_paint(page, chart) for _ in range(args.loads))
                page.unroute("**/api/candles?*")
                print(f"first paint, {args.bars:,} bars: cold {cold:.3f}s, warm median {warm:.3f}s; "
                      f"baseline (read_all per request) {base:.3f}s", flush=True)  # fmt: skip
                note = f"cold (first) load {cold:.3f}s; baseline = Decimal read_all per request"
                emit("monitor", f"chart first paint, {args.bars:,} bars (warm median)", warm, base, unit="s",
                     target="< 1 s", note=note)  # fmt: skip

                first_paint(page, chart)
                page.evaluate(_POLLER)
                push, poll = [], []
                ts = end
                for _ in range(args.updates):
                    time.sleep(publish_rnd.uniform(1.2, 2.2))
                    ts += timedelta(minutes=1)
                    before = page.evaluate("() => window.__okxfleet.bars")
                    written = publish(store, markers, _bar(ts, publish_rnd, 60_000.0))
                    page.wait_for_function(f"() => window.__okxfleet.bars > {before}", timeout=10_000)
                    at = page.evaluate("() => performance.timeOrigin + window.__okxfleet.lastBarDrawn")
                    push.append(at / 1000 - written)
                    key = int(ts.timestamp())
                    page.wait_for_function(f"() => window.__poll.at[{key}] !== undefined", timeout=10_000)
                    poll.append(page.evaluate(f"() => window.__poll.at[{key}]") / 1000 - written)
                browser.close()
            med_push, med_poll = statistics.median(push), statistics.median(poll)
            print(f"marker-to-browser: push median {med_push:.3f}s max {max(push):.3f}s; "
                  f"1 s polling median {med_poll:.3f}s max {max(poll):.3f}s", flush=True)  # fmt: skip
            note = f"max {max(push):.3f}s vs polling max {max(poll):.3f}s; n={len(push)}"
            emit("monitor", "marker-to-browser latency, new bar (median)", med_push, med_poll, unit="s",
                 target="< 1 s", note=note)  # fmt: skip
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
