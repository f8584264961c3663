"""The fleet supervisor (scripts/supervisor.py) with real child processes: restart backoff,
backoff reset after a stable run, no restart for exit status 2, stop order and stop grace."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from scripts.supervisor import Child, Supervisor
from tests.e2e.fleet_harness import alive, wait_for

ROOT = Path(__file__).resolve().parents[2]


def _py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_backoff_doubles_for_a_crash_loop_and_resets_after_a_stable_run(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path, ROOT, backoff_s=0.2, backoff_max_s=0.8, stable_s=1.0)
    child = sup.add(Child("crasher", _py("import sys; sys.exit(1)")))
    sup.spawn(child)
    delays = []
    for n in range(2, 6):
        wait_for("an exit", lambda: not child.running, 10, poll_s=0.01)
        events = sup.poll()
        assert len(events) == 1, events
        assert "exited with 1; restarting in" in events[0]
        delays.append(round(child.next_start - time.monotonic(), 1))
        wait_for("the restart", lambda n=n: (sup.poll(), child.starts)[1] == n, 10, poll_s=0.01)
    assert delays == [0.2, 0.4, 0.8, 0.8], delays  # doubling, capped
    assert child.starts == 5

    stable = sup.add(Child("stable", _py("import time; time.sleep(1.3)")))
    sup.spawn(stable)
    stable.failures = 3  # as if it had been crash-looping before
    wait_for("the stable child's exit", lambda: not stable.running, 10, poll_s=0.01)
    sup.poll()
    assert stable.failures == 0
    assert stable.next_start - time.monotonic() <= 0.2  # back to the base delay
    sup.stop_all()
    assert sup.poll() == []  # nothing restarts once stopped


def test_exit_status_2_is_not_restarted(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path, ROOT, backoff_s=0.1)
    child = sup.add(Child("refused", _py("import sys; sys.exit(2)")))
    sup.spawn(child)
    wait_for("an exit", lambda: not child.running, 10, poll_s=0.01)
    assert sup.poll() == ["refused exited with 2; not restarting"]
    assert child.given_up
    time.sleep(0.2)
    assert sup.poll() == []
    assert child.starts == 1
    sup.stop_all()


def test_stop_order_and_grace(tmp_path: Path) -> None:
    """stop_last children are stopped after the others have exited; a child ignoring SIGTERM is
    SIGKILLed after the grace period; output goes to <log_dir>/<name>.out."""
    stamp = tmp_path / "order.txt"
    on_term = (
        "import signal, sys, time\n"
        f"def bye(*_):\n    open({str(stamp)!r}, 'a').write(NAME + '\\n'); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, bye)\nprint(NAME, 'up', flush=True)\ntime.sleep(60)\n"
    )
    sup = Supervisor(tmp_path / "logs", ROOT, grace_s=2.0)
    sim = sup.add(Child("sim", _py("NAME = 'sim'\n" + on_term), stop_last=True))
    worker = sup.add(Child("worker", _py("NAME = 'worker'\n" + on_term)))
    ignore = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    stubborn = sup.add(Child("stubborn", _py(ignore + "print('up', flush=True); time.sleep(60)")))
    sup.start_all()
    wait_for("everyone up", lambda: all(
        (tmp_path / "logs" / f"{c.name}.out").read_text().strip() for c in sup.children
    ), 20)  # fmt: skip
    pids = [c.proc.pid for c in sup.children if c.proc is not None]
    started = time.monotonic()
    sup.stop_all()
    took = time.monotonic() - started
    assert stamp.read_text().split() == ["worker", "sim"]
    assert 2.0 <= took < 10, took
    assert sim.proc is not None
    assert sim.proc.returncode == 0
    assert worker.proc is not None
    assert worker.proc.returncode == 0
    assert stubborn.proc is not None
    assert stubborn.proc.returncode == -9
    assert not [pid for pid in pids if alive(pid)]
