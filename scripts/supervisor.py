"""A small process supervisor for an okxfleet host: simulator (optional), collector, traders.

Children run in their own process groups, get SIGTERM on stop (SIGKILL after a grace period)
and die with the supervisor even if it is killed (``PR_SET_PDEATHSIG``), so nothing is orphaned.
On stop, the children that others depend on (``stop_last``: the simulator) go after the rest, so
a trader finishing its cycle still reaches its exchange.

A child that exits is restarted with exponential backoff (``backoff_s`` doubling up to
``backoff_max_s``); a child that had run for ``stable_s`` before it exited starts again from
``backoff_s`` (a crash after a day of service is not a crash loop). A child that exits with status 2
(a refused preflight or a config error) or 3 (a trader's journal is corrupt or empty) is not
restarted: restarting would not help — the same codes as ``RestartPreventExitStatus`` in
``scripts/systemd/``.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
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
NO_RESTART_CODES = frozenset({2, 3})
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:  # runs in the child between fork and exec
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass
    if os.getppid() != parent:  # the supervisor died before prctl took effect: do not start at all
        os._exit(1)
    os.setpgrp()


@dataclass
class Child:
    """One supervised process."""

    name: str
    argv: Sequence[str]
    env: dict[str, str] = field(default_factory=dict)
    restart: bool = True
    stop_last: bool = False  # others depend on it (the simulator): stopped after everything else
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    failures: int = 0  # exits in a row that came before ``stable_s`` of running
    started_at: float = 0.0  # time.monotonic() of the last start
    next_start: float = 0.0
    last_exit: int | None = None
    given_up: bool = False
    _out: IO[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class Supervisor:
    """Start, watch, restart and stop a set of children; output goes to ``log_dir/<name>.out``."""

    def __init__(
        self,
        log_dir: Path,
        cwd: Path,
        *,
        restart: bool = True,
        grace_s: float = 15.0,
        backoff_s: float = 2.0,
        backoff_max_s: float = 60.0,
        stable_s: float = 60.0,
    ) -> None:
        self.log_dir = log_dir
        self.cwd = cwd
        self.restart = restart
        self.grace_s = grace_s
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.stable_s = stable_s
        self.children: list[Child] = []
        self.stopping = False

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
            preexec_fn=functools.partial(_die_with_parent, os.getpid()),
        )
        child.starts += 1
        child.started_at = time.monotonic()
        log.info("started %s (pid %s)", child.name, child.proc.pid)

    def start_all(self) -> None:
        for child in self.children:
            if child.proc is None:
                self.spawn(child)

    def poll(self) -> list[str]:
        """Restart children that exited; returns human-readable events."""
        events: list[str] = []
        if self.stopping:
            return events
        now = time.monotonic()
        for child in self.children:
            if child.proc is None or child.given_up:
                continue
            code = child.proc.poll()
            if code is None:
                continue
            if child.next_start == 0.0:
                child.last_exit = code
                child.failures = 0 if now - child.started_at >= self.stable_s else child.failures + 1
                delay = min(self.backoff_max_s, self.backoff_s * 2.0 ** max(0, min(child.failures - 1, 30)))
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
        """SIGTERM every child (traders first, ``stop_last`` ones such as the simulator after the
        others have exited), SIGKILL what outlives the grace period. Nothing restarts afterwards."""
        self.stopping = True
        first = [c for c in reversed(self.children) if not c.stop_last]
        last = [c for c in reversed(self.children) if c.stop_last]
        for group in (first, last):
            self._stop_group(group)

    def _stop_group(self, children: list[Child]) -> None:
        for child in children:
            if child.running and child.proc is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.grace_s
        for child in children:
            if child.proc is not None:
                try:
                    child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    log.warning("%s did not stop in %.0fs: SIGKILL", child.name, self.grace_s)
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(child.proc.pid, signal.SIGKILL)
                    child.proc.wait(timeout=5)
            child.next_start = 0.0
            if child._out is not None:
                child._out.close()
                child._out = None


def python_module(module: str, *args: str) -> list[str]:
    """argv for ``python -m module args`` with this interpreter."""
    return [sys.executable, "-m", module, *args]
