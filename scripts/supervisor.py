"""A small process supervisor for an okxfleet host: simulator (optional), collector, traders.

Children run in their own process groups, get SIGTERM on stop (SIGKILL after a grace period)
and die with the supervisor even if it is killed (``PR_SET_PDEATHSIG``), so nothing is orphaned.
A child that exits is restarted with exponential backoff, except a trader that exits with
status 2 (a refused preflight or a config error: restarting would not help).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

__all__ = ["Child", "Supervisor"]

log = logging.getLogger("okxfleet.supervisor")
NO_RESTART_CODES = frozenset({2})
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass
    os.setpgrp()


@dataclass
class Child:
    """One supervised process."""

    name: str
    argv: Sequence[str]
    env: dict[str, str] = field(default_factory=dict)
    restart: bool = True
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    next_start: float = 0.0
    last_exit: int | None = None
    given_up: bool = False
    _out: IO[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class Supervisor:
    """Start, watch, restart and stop a set of children; output goes to ``log_dir/<name>.out``."""

    def __init__(self, log_dir: Path, cwd: Path, *, restart: bool = True, grace_s: float = 15.0) -> None:
        self.log_dir = log_dir
        self.cwd = cwd
        self.restart = restart
        self.grace_s = grace_s
        self.children: list[Child] = []

    def add(self, child: Child) -> Child:
        self.children.append(child)
        return child

    def spawn(self, child: Child) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if child._out is None:
            child._out = (self.log_dir / f"{child.name}.out").open("ab")
        env = {**os.environ, **child.env, "PYTHONUNBUFFERED": "1"}
        child.proc = subprocess.Popen(
            list(child.argv),
            cwd=self.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=child._out,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        child.starts += 1
        log.info("started %s (pid %s)", child.name, child.proc.pid)

    def start_all(self) -> None:
        for child in self.children:
            if child.proc is None:
                self.spawn(child)

    def poll(self) -> list[str]:
        """Restart children that exited; returns human-readable events."""
        events = []
        now = time.monotonic()
        for child in self.children:
            if child.proc is None or child.given_up:
                continue
            code = child.proc.poll()
            if code is None:
                continue
            if child.next_start == 0.0:
                child.last_exit = code
                delay = min(60.0, 2.0 ** min(child.starts, 6))
                if not (self.restart and child.restart) or code in NO_RESTART_CODES:
                    child.given_up = True
                    events.append(f"{child.name} exited with {code}; not restarting")
                    continue
                child.next_start = now + delay
                events.append(f"{child.name} exited with {code}; restarting in {delay:.0f}s")
            elif now >= child.next_start:
                child.next_start = 0.0
                self.spawn(child)
                events.append(f"{child.name} restarted (start #{child.starts})")
        return events

    def stop_all(self) -> None:
        """SIGTERM every child (traders first, simulator last), then SIGKILL stragglers."""
        for child in reversed(self.children):
            if child.running and child.proc is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.grace_s
        for child in reversed(self.children):
            if child.proc is None:
                continue
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %.0fs: SIGKILL", child.name, self.grace_s)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.proc.pid, signal.SIGKILL)
                child.proc.wait(timeout=5)
            if child._out is not None:
                child._out.close()
                child._out = None


def python_module(module: str, *args: str) -> list[str]:
    """argv for ``python -m module args`` with this interpreter."""
    return [sys.executable, "-m", module, *args]
