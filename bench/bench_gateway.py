"""FMZ gateway throughput: 32 concurrent FMZ clients vs the seed's single-threaded server design.

Run: ``.venv/bin/python -m bench.bench_gateway [--clients 32] [--latency-ms 50] [--duration 5]``

Three processes, so no two of them share a GIL:

- the OKX simulator (``python -m simulator``, ``--latency-ms`` added to every ``/api/v5`` call,
  simulator-side rate limits off; the exchange layer still enforces OKX's budgets client-side);
- the server under test, started from this file: first the **baseline** -- the seed's design,
  ``http.server.HTTPServer`` serving one request at a time, implemented minimally below over the
  *same* request parsing, handlers and cached exchange clients -- then the gateway
  (``python -m gateway``);
- this process: ``--clients`` threads, each an FMZ robot with its own OKX account (OKX's private
  budgets are per account), looping ``orders`` / ``order`` calls for ``--duration`` seconds.

Both servers get the same warm-up (one order placed per account, clients built, server time
measured) and the same load. Prints requests/s, latency percentiles and errors of each, and the
ratio (target >= 10x).
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from bench.report import emit

ROOT = Path(__file__).resolve().parents[1]
_SIM_READY = re.compile(r"listening on (http://\S+) ")
_READY = re.compile(r"ready: (http://\S+)")


# ---- the baseline server: the seed's design over the same exchange layer ---------------------


def serve_baseline(host: str, port: int, base_url: str) -> None:
    """``http.server.HTTPServer`` (one request at a time), as in the guide's example plugin."""
    from config.schema import ExchangeSettings
    from core.clock import SystemClock
    from gateway.calls import Options
    from gateway.clients import ClientPool
    from gateway.methods import handle
    from gateway.protocol import BadRequest, fail, parse_body

    pool = ClientPool(ExchangeSettings(mode="simulator", base_url=base_url), SystemClock(), max_accounts=64)
    options = Options()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                reply = handle(parse_body(body, self.headers.get("Http-Method")), pool, options)
            except BadRequest as exc:
                reply = fail(str(exc))
            payload = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    class Server(http.server.HTTPServer):
        request_queue_size = 128  # do not let the listen backlog (5) add SYN retries to the baseline

    server = Server((host, port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"baseline ready: http://{host}:{server.server_address[1]}/OKX", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        pool.close()


# ---- processes ---------------------------------------------------------------------------------


def _spawn(args: list[str], ready: re.Pattern[str]) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = ready.search(line)
    if not match:
        proc.kill()
        raise RuntimeError(f"{args[1]} did not start: {line!r}")
    return proc, match.group(1)


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _accounts(n: int) -> list[tuple[str, str, str]]:
    return [(f"benchkey{i:02d}", f"benchsecret{i:02d}x", f"BenchPass{i:02d}") for i in range(n)]


# ---- load --------------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    ok: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    samples: list[str] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


class Robot:
    """One FMZ robot: its own account, one HTTP session, the protocol envelope."""

    def __init__(self, url: str, account: tuple[str, str, str]) -> None:
        self.url = url
        self.access_key = account[0]
        self.secret_key = f"{account[1]},{account[2]}"
        self.session = requests.Session()
        self.order_id = ""

    def call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        body = {"access_key": self.access_key, "secret_key": self.secret_key, "nonce": time.time_ns(),
                "method": method, "params": params}  # fmt: skip
        reply: dict[str, Any] = self.session.post(self.url, data=json.dumps(body), timeout=30).json()
        return reply

    def warm_up(self) -> None:
        reply = self.call("trade", {"symbol": "BTC_USDT", "type": "buy", "price": "1000", "amount": "0.001"})
        if "data" not in reply:
            raise RuntimeError(f"warm-up trade failed: {reply}")
        self.order_id = reply["data"]["id"]
        self.call("orders", {"symbol": "BTC_USDT"})

    def step(self, i: int) -> dict[str, Any]:
        if i % 2:
            return self.call("order", {"id": self.order_id, "symbol": "BTC_USDT"})
        return self.call("orders", {"symbol": "BTC_USDT"})


def run_load(name: str, url: str, accounts: list[tuple[str, str, str]], duration: float) -> Result:
    robots = [Robot(url, acct) for acct in accounts]
    for robot in robots:  # sequential: the baseline could not do it any other way
        robot.warm_up()
    result = Result(name)
    lock = threading.Lock()
    start_gate = threading.Barrier(len(robots) + 1)
    deadline = 0.0

    def loop(robot: Robot) -> None:
        start_gate.wait()
        i = 0
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            try:
                reply = robot.step(i)
                good = "data" in reply
            except requests.RequestException as exc:
                reply, good = {"error": type(exc).__name__}, False
            took = time.perf_counter() - t0
            with lock:
                if good:
                    result.ok += 1
                    result.latencies.append(took)
                else:
                    result.errors += 1
                    if len(result.samples) < 3:
                        result.samples.append(str(reply.get("error"))[:120])
            i += 1

    threads = [threading.Thread(target=loop, args=(r,)) for r in robots]
    for t in threads:
        t.start()
    deadline = time.perf_counter() + duration
    started = time.perf_counter()
    start_gate.wait()
    for t in threads:
        t.join()
    result.elapsed = time.perf_counter() - started
    for robot in robots:
        robot.session.close()
    return result


def report(r: Result) -> str:
    mean = statistics.fmean(r.latencies) * 1000 if r.latencies else 0.0
    return (
        f"{r.name:<38} {r.rps:8.1f} req/s   ok {r.ok:6d}  errors {r.errors:4d}   "
        f"latency ms mean {mean:6.1f} p50 {r.pct(0.5):6.1f} p95 {r.pct(0.95):6.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--clients", type=int, default=32, help="concurrent FMZ robots (one account each)")
    ap.add_argument("--latency-ms", type=int, default=50, help="simulator latency per OKX call")
    ap.add_argument("--duration", type=float, default=5.0, help="seconds of load per server")
    ap.add_argument("--baseline-server", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--host", default="127.0.0.1", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--base-url", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.baseline_server:
        serve_baseline(args.host, args.port, args.base_url)
        return 0

    accounts = _accounts(args.clients)
    sim_args = [
        "-m",
        "simulator",
        "--port",
        "0",
        "--rate-limits",
        "off",
        "--latency-ms",
        str(args.latency_ms),
    ]
    for key, secret, passphrase in accounts:
        sim_args += ["--account", f"{key}:{secret}:{passphrase}:100000"]
    sim, sim_url = _spawn(sim_args, _SIM_READY)
    results: list[Result] = []
    try:
        servers = [
            ("baseline: http.server, one at a time", ["-m", "bench.bench_gateway", "--baseline-server",
                                                       "--base-url", sim_url]),
            ("gateway: aiohttp + worker threads", ["-m", "gateway", "--port", "0", "--exchange", "simulator",
                                                    "--base-url", sim_url, "--log-level", "WARNING"]),
        ]  # fmt: skip
        for name, cmd in servers:
            proc, url = _spawn(cmd, _READY)
            try:
                results.append(run_load(name, url, accounts, args.duration))
            finally:
                _stop(proc)
    finally:
        _stop(sim)

    print(
        f"FMZ gateway bench: {args.clients} concurrent clients (one OKX account each), simulator latency "
        f"{args.latency_ms} ms, {args.duration:g} s per server, orders/order calls"
    )
    for r in results:
        print(report(r))
        for sample in r.samples:
            print(f"    error sample: {sample}")
    baseline, gateway = results
    ratio = gateway.rps / baseline.rps if baseline.rps else float("inf")
    verdict = "meets" if ratio >= 10 else "BELOW"
    print(f"ratio gateway / baseline: {ratio:.1f}x ({verdict} the 10x target)")
    emit("gateway", f"requests/s, {args.clients} concurrent FMZ clients vs single-threaded server",
         gateway.rps, baseline.rps, unit="req/s", higher_is_better=True, target=">= 10x",
         note=f"{args.latency_ms} ms simulator latency")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
