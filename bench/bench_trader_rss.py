"""Trader memory: resident set size of ``python -m trader`` running bars, without ccxt vs with it.

``.venv/bin/python -m bench.bench_trader_rss [--bars 3] [--speed 20]``

The trader needs no ccxt (the collector owns market data; the trader reads instruments and
tickers over its account client's connection, :func:`exchange.make_market_client`). Each run
starts a real trader process for one simulated account trading 8 swaps with ``bollinger`` (the
first bar breaks out: it orders), on a clock ``--speed`` times faster than the wall, while this
process plays the collector: it writes each bar's candles and marker. The trader's RSS is sampled
from ``/proc`` every 50 ms; the figure is the median RSS over the bars after the first (steady
state). The baseline is the same trader with ``ccxt`` imported first, as every trader did before
(target: < 100 MB). A DingTalk robot is configured (its client uses httpx, which python-okx already
loads; it used ``requests``, ~5 MB more); the run without one is printed too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from bench.report import emit
from config import load_config
from config.credentials import simulator_credentials
from core.bars import Bar
from core.clock import CLOCK_ENV, ScaledClock, from_ms
from core.intervals import next_close, parse_interval
from core.markers import InstrumentStatus, Marker, MarkerStore
from core.store import CandleStore
from simulator.server import RunningSimulator, start_background

ROOT = Path(__file__).resolve().parents[1]
SWAPS = [f"{c}-USDT-SWAP" for c in ("BTC", "ETH", "SOL", "DOGE", "XRP", "LTC", "ADA", "LINK")]
HISTORY = 60
WITH_CCXT = "import ccxt, runpy, sys; sys.argv[0] = 'trader'; runpy.run_module('trader', run_name='__main__')"


ROBOT = "Notify(dingtalk=DingTalk(webhook_env='RSS_BENCH_WEBHOOK', secret_env=None), report_every_minutes=0)"
NO_ROBOT = "Notify(dingtalk=None, report_every_minutes=0)"


def _config(base_url: str, data: Path, account: str, robot: bool) -> str:
    strategies = ",\n".join(
        f"        Strategy({i!r}, 'bollinger', params={{'n': 20, 'm': 2}}, leverage=2)" for i in SWAPS
    )
    return (
        "from config import Account, DingTalk, Exchange, Notify, Strategy, Trader\n"
        f"EXCHANGE = Exchange(mode='simulator', base_url={base_url!r})\n"
        f"DATA_DIR = {str(data)!r}\nCANDLE_TIMEZONE = 'UTC'\n"
        "TRADER = Trader(order_type='market', marker_deadline_s=30)\n"
        f"NOTIFY = {ROBOT if robot else NO_ROBOT}\n"
        f"ACCOUNTS = {{{account!r}: Account(\n    credentials='OKX_{account.upper()}', interval='1m',\n"
        f"    strategies=[\n{strategies}\n    ])}}\n"
    )


def _rss_kb(pid: int) -> int | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def _publish(
    store: CandleStore, markers: MarkerStore, sim: RunningSimulator, close: datetime, first: bool
) -> None:
    iv = parse_interval("1m")
    statuses = {}
    for inst in SWAPS:
        px = sim.control.price(inst)
        bars = []
        for k in range(HISTORY, 0, -1):
            c = px * (Decimal("1.05") if (first and k == 1) else Decimal(1) + Decimal(k % 3) / 1000)
            bars.append(Bar(close - iv.delta * k, c, c, c, c, Decimal(5), Decimal(5), Decimal(5)))
        store.rewrite(inst, iv, bars)
        statuses[inst] = InstrumentStatus(ok=True, last_candle=close - iv.delta)
    markers.write(Marker(iv.name, close - iv.delta, close, close, statuses))


def one_run(
    sim: RunningSimulator,
    root: Path,
    account: str,
    with_ccxt: bool,
    args: argparse.Namespace,
    robot: bool = True,
) -> float:
    """Median RSS (MB) of a trader process over bars 2..``bars``; ``robot``: DingTalk configured
    (a local port that refuses: messages are dropped, but the robot client is loaded)."""
    bars, speed = args.bars, args.speed
    creds = simulator_credentials(account)
    sim.control.add_account(creds.api_key, creds.secret, creds.passphrase, balance="100000", name=account)
    data = root / account
    data.mkdir()
    (data / "config.py").write_text(_config(sim.base_url, data / "data", account, robot), encoding="utf-8")
    robot_env = {"RSS_BENCH_WEBHOOK": "http://127.0.0.1:9/robot/send?access_token=bench"}
    cfg = load_config(data / "config.py", environ=robot_env, env_file=data / "absent.env")
    iv = parse_interval("1m")
    start_virtual = next_close(from_ms(sim.control.now_ms()), iv, "UTC") - timedelta(seconds=5)
    sim.control.set_clock(start_virtual, mode="running", speed=speed)
    clock = ScaledClock(datetime.now(UTC), from_ms(sim.control.now_ms()), speed)
    env = {**os.environ, **robot_env, CLOCK_ENV: clock.spec()}
    argv = [account, "--config", str(data / "config.py"), "--log-level", "WARNING"]
    cmd = [sys.executable, "-c", WITH_CCXT, *argv] if with_ccxt else [sys.executable, "-m", "trader", *argv]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    samples: list[tuple[datetime, int]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set() and proc.poll() is None:
            kb = _rss_kb(proc.pid)
            if kb is not None:
                samples.append((clock.now(), kb))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    store, markers = CandleStore(cfg.candles_dir, cfg.candle_timezone), MarkerStore(cfg.markers_dir)
    first_close = next_close(clock.now(), iv, "UTC")
    try:
        for n in range(bars):
            close = first_close + iv.delta * n
            clock.sleep_until(close + timedelta(seconds=1))
            _publish(store, markers, sim, close, first=n == 0)
        clock.sleep_until(first_close + iv.delta * bars)
    finally:
        stop.set()
        proc.terminate()
        _, err = proc.communicate(timeout=60)
        sampler.join(timeout=5)
    steady = [kb for at, kb in samples if at >= first_close + iv.delta]
    if not steady or proc.returncode not in (0, -15):
        raise RuntimeError(f"trader exited {proc.returncode}: {err.decode()[-2000:]}")
    journal = cfg.journal_dir / f"{account}.sqlite"
    if not journal.is_file():
        raise RuntimeError("the trader never journaled a cycle")
    return statistics.median(steady) / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_trader_rss", description=__doc__)
    parser.add_argument("--bars", type=int, default=3)
    parser.add_argument("--speed", type=float, default=20.0)
    args = parser.parse_args(argv)
    sim = start_background(seed=9, rate_limits=False)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-rss-") as tmp:
            baseline = one_run(sim, Path(tmp), "rssccxt", True, args)
            lean = one_run(sim, Path(tmp), "rsslean", False, args)
            bare = one_run(sim, Path(tmp), "rssbare", False, args, robot=False)
    finally:
        sim.stop()
    print(f"trader steady-state RSS over {args.bars - 1} bar(s) after the first, 8 strategies, DingTalk on:")
    print(f"  baseline, ccxt imported: {baseline:6.1f} MB")
    print(f"  trader as shipped:       {lean:6.1f} MB   ({baseline / lean:.2f}x less; target < 100 MB)")
    print(f"  (without a DingTalk robot:                     {bare:6.1f} MB)")
    emit("trader", "steady-state RSS of one trader process: without ccxt vs with ccxt imported",
         lean, baseline, unit="MB", target="< 100 MB")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
