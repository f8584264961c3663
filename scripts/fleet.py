"""Run a whole okxfleet host under one supervisor, with a live status display.

    python -m scripts.fleet [--config PATH] [--with-simulator] [--with-monitor] [--speed N] [--duration S]
    python -m scripts.fleet status [--config PATH] [--json]   (Redis mode: leases and shares)

Starts (optionally) the local simulator, then the collector and one trader per account of the
config (and the treasury when the config has a ``TREASURY``); restarts what dies (with backoff);
prints the status (bars collected, markers, orders per account, equity) every few seconds; on
Ctrl-C or SIGTERM stops every process and exits.

``--with-monitor`` also runs the web monitor (``python -m monitor``, 127.0.0.1, ``--monitor-port``)
and prints its URL.

``--speed N`` runs virtual time N times faster than the wall clock for every process (through
``OKXFLEET_CLOCK``), which only makes sense with the simulator.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

from config.loader import add_config_argument, load_config
from core.clock import CLOCK_ENV, ScaledClock, clock_from_env
from core.errors import ConfigError
from scripts.status import collect_status, render_status
from scripts.supervisor import Child, Supervisor, python_module

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger("okxfleet.fleet")


def _wait_ready(
    path: Path,
    child: Child,
    offset: int,
    stop: threading.Event,
    timeout_s: float = 60.0,
    ready: bytes = b"listening on",
) -> str | None:
    """Wait for the child's ``ready`` line (written after ``offset`` of its log, so a line from
    an earlier run does not count) and return it; None if ``stop`` was set first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.is_file():
            with path.open("rb") as fh:
                fh.seek(offset)
                text = fh.read()
            if ready in text:
                start = text.index(ready)
                return text[start : text.find(b"\n", start) if b"\n" in text[start:] else None].decode()
        if not child.running:
            raise RuntimeError(f"{child.name} exited during start-up; see {path}")
        if stop.wait(0.1):
            return None
    raise RuntimeError(f"{child.name} not ready after {timeout_s:.0f}s; see {path}")


def build(args: argparse.Namespace) -> tuple[Supervisor, Path]:
    cfg = load_config(args.config)
    config_path = str(cfg.source)
    log_dir = cfg.logs_dir
    env: dict[str, str] = {"OKXFLEET_CONFIG": config_path}
    if args.speed != 1.0:
        now = datetime.now(UTC)
        env[CLOCK_ENV] = ScaledClock(now, now, args.speed).spec()
    sup = Supervisor(log_dir, ROOT, restart=not args.no_restart)
    if args.with_simulator:
        if cfg.exchange.mode != "simulator":
            raise ConfigError("--with-simulator needs EXCHANGE = Exchange(mode='simulator', ...)")
        url = urlparse(cfg.exchange.url)
        sim_args = ["--config", config_path, "--host", url.hostname or "127.0.0.1",
                    "--port", str(url.port or 8081), "--seed", str(args.seed)]
        sup.add(Child("simulator", python_module("simulator", *sim_args), env=env, stop_last=True))
    sup.add(Child("collector", python_module("collector", "--config", config_path), env=env))
    for name in cfg.accounts:
        sup.add(Child(f"trader-{name}", python_module("trader", name, "--config", config_path), env=env))
    if getattr(args, "with_monitor", False):  # a Namespace built by hand may not have it
        port = str(getattr(args, "monitor_port", 8090))
        sup.add(Child("monitor", python_module("monitor", "--config", config_path, "--port", port), env=env))
    if cfg.treasury is not None:  # issue #16: the master-key process, on its daily schedule
        sup.add(Child("treasury", python_module("treasury", "--config", config_path), env=env))
    return sup, log_dir


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["status"]:  # issue #17: leases and collector shares in Redis
        from scripts.bus_status import main as bus_status

        return bus_status(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m scripts.fleet", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_argument(parser)
    parser.add_argument("--with-simulator", action="store_true", help="also run the local simulator")
    parser.add_argument("--with-monitor", action="store_true", help="also run the web monitor")
    parser.add_argument("--monitor-port", type=int, default=8090, help="the monitor's port (0 = any free)")
    parser.add_argument("--seed", type=int, default=7, help="simulator price seed")
    parser.add_argument("--speed", type=float, default=1.0, help="virtual time speed (simulator only)")
    parser.add_argument("--no-restart", action="store_true", help="do not restart processes that exit")
    parser.add_argument("--status-every", type=float, default=3.0, help="seconds between status updates")
    parser.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds (0 = run)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    if args.speed != 1.0 and not args.with_simulator:
        parser.error("--speed needs --with-simulator (a real exchange runs on real time)")
    try:
        sup, log_dir = build(args)
        cfg = load_config(args.config)
    except ConfigError as exc:
        print("config is invalid:\n  - " + "\n  - ".join(exc.problems), file=sys.stderr)
        return 2

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    events: list[str] = []
    labels: dict[str, str] = {}  # a child's name in the status line (the monitor shows its URL)
    tty = sys.stdout.isatty()
    started = time.monotonic()
    try:
        for child in sup.children:
            out = log_dir / f"{child.name}.out"
            offset = out.stat().st_size if out.is_file() else 0
            sup.spawn(child)
            if child.name == "simulator":
                if not _wait_ready(out, child, offset, stop):
                    break
                events.append("simulator ready")
            if child.name == "monitor":
                line = _wait_ready(out, child, offset, stop, ready=b"monitor ready: ")
                if line is None:
                    break
                events.append(line)
                labels["monitor"] = "monitor " + line.removeprefix("monitor ready: ")
                print(line, flush=True)
        clock = clock_from_env({**os.environ, **sup.children[0].env}) if sup.children else clock_from_env()
        while not stop.is_set():
            events = (events + sup.poll())[-50:]
            states = [
                (labels.get(c.name, c.name), "up" if c.running else "stopped" if c.given_up else "restarting")
                for c in sup.children
            ]
            text = render_status(collect_status(cfg), now=clock.now(), children=states, events=events)
            print(("\x1b[H\x1b[2J" if tty else "\n") + text, flush=True)
            if args.duration and time.monotonic() - started >= args.duration:
                break
            stop.wait(args.status_every)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        print("\nstopping every process ...", flush=True)
        sup.stop_all()
        print("all processes stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
