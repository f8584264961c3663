"""The trader's loop: bar after bar, temporary errors survived, clean stop on SIGTERM, refusals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core.clock import CLOCK_ENV
from notify.events import BarReport, DataAlert, Event, ProcessStarted, ProcessStopped
from notify.service import RecordingNotifier
from simulator.server import RunningSimulator
from tests.integration.test_trader_helpers import T0, TraderRig, config_text, register_account
from trader.__main__ import main
from trader.service import TraderService

ROOT = Path(__file__).resolve().parents[2]
MINUTE = timedelta(minutes=1)
BTC = "BTC-USDT-SWAP"


class StopAfter(RecordingNotifier):
    """Records events, calls ``on_report`` after each bar report, stops after ``n`` of them."""

    def __init__(self, n: int, on_report: Callable[[int], None]) -> None:
        super().__init__()
        self.n = n
        self.on_report = on_report
        self.service: TraderService | None = None

    def notify(self, event: Event) -> None:
        super().notify(event)
        if isinstance(event, BarReport):
            count = sum(isinstance(e, BarReport) for e in self.events)
            self.on_report(count)
            if count >= self.n:
                assert self.service is not None
                self.service.stop.set()


def rig(sim: RunningSimulator, tmp_path: Path, **kwargs: Any) -> TraderRig:
    name = "s" + uuid.uuid4().hex[:10]
    return TraderRig(sim, tmp_path / name, account=name, **kwargs)


def test_loop_runs_each_bar_then_stops(sim_module: RunningSimulator, tmp_path: Path) -> None:
    holder: list[TraderRig] = []

    def collector(count: int) -> None:  # the next bar's data arrives after this bar was traded
        if count == 1:
            holder[0].publish(T0 + MINUTE, {BTC: -1})

    notifier = StopAfter(2, collector)
    r = rig(sim_module, tmp_path, notifier=notifier, trader={"marker_deadline_s": 8})
    holder.append(r)
    try:
        r.publish(T0, {BTC: 1})
        service = TraderService(r.ctx)
        notifier.service = service
        assert service.run() == 0
    finally:
        r.close()
    kinds = [type(e).__name__ for e in notifier.events]
    assert kinds == ["ProcessStarted", "BarReport", "BarReport", "ProcessStopped"]
    reports = [e for e in notifier.events if isinstance(e, BarReport)]
    assert [rep.bar_close for rep in reports] == [T0, T0 + MINUTE]
    assert [rep.signals for rep in reports] == [((BTC, 1),), ((BTC, -1),)]
    assert service.cycles == 2


def test_catch_up_runs_the_bar_that_just_closed(sim_module: RunningSimulator, tmp_path: Path) -> None:
    r = rig(sim_module, tmp_path, trader={"marker_deadline_s": 8})
    try:
        r.publish(T0, {BTC: 1})
        r.clock.set(T0 + timedelta(seconds=4))  # started 4 s after the close
        service = TraderService(r.ctx)
        r.preflight()
        result = service.catch_up()
        assert result is not None
        assert result.status == "done"
        assert r.position(BTC) > 0
        r.clock.set(T0 + timedelta(seconds=200))  # 20 s into the next bar, past its 8 s deadline
        assert service.catch_up() is None
    finally:
        r.close()


def test_temporary_errors_are_retried_not_fatal(sim_module: RunningSimulator, tmp_path: Path) -> None:
    r = rig(sim_module, tmp_path)
    try:
        r.preflight()
        r.publish(T0, {BTC: 1})
        # The client tries 4 times; all fail, so the first attempt of the bar fails; the retry works.
        r.control.set_faults([{"kind": "http_503", "path": "/api/v5/account/positions", "count": 4}])
        r.clock.set(T0 + timedelta(seconds=2))
        result = TraderService(r.ctx).run_bar(T0)
        assert result is not None
        assert result.status == "done"
        assert r.position(BTC) > 0
        # Down for good: the bar is given up (journal "failed", alert), the service carries on.
        r.publish(T0 + MINUTE, {BTC: -1})
        r.control.set_faults([{"kind": "http_503", "path": "/api/v5/account/positions"}])
        r.clock.set(T0 + MINUTE + timedelta(seconds=2))
        assert TraderService(r.ctx).run_bar(T0 + MINUTE) is None
        r.control.clear_faults()
        assert r.ctx.journal.cycle(T0 + MINUTE).status == "failed"  # type: ignore[union-attr]
        assert [a.kind for a in r.events(DataAlert)] == ["exchange_unavailable"]
        assert r.position(BTC) > 0
    finally:
        r.control.clear_faults()
        r.close()


def test_preflight_refusal_exits_2(sim_module: RunningSimulator, tmp_path: Path) -> None:
    sim_module.control.set_clock(datetime.now(UTC), mode="running", speed=1)
    name = "p" + uuid.uuid4().hex[:10]
    register_account(sim_module.control, name, balance="100", pos_mode="net")
    path = tmp_path / "config.py"
    path.write_text(
        config_text(sim_module.base_url, tmp_path / "data", name, {"NOPE-USDT-SWAP": 2}), encoding="utf-8"
    )
    assert main([name, "--config", str(path), "--once"]) == 2


def test_sigterm_stops_the_process_cleanly(sim_module: RunningSimulator, tmp_path: Path) -> None:
    sim_module.control.set_clock(datetime.now(UTC), mode="running", speed=1)
    name = "g" + uuid.uuid4().hex[:10]
    register_account(sim_module.control, name, balance="1000", pos_mode="long_short")
    data = tmp_path / "data"
    path = tmp_path / "config.py"
    path.write_text(
        config_text(sim_module.base_url, data, name, {BTC: 2}, interval="1h", register_strategy=True),
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k != CLOCK_ENV}
    log = data / "logs" / f"trader-{name}.log"
    with (tmp_path / "stderr.txt").open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "trader", name, "--config", str(path)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if log.is_file() and "preflight of" in log.read_text():
                    break
                assert proc.poll() is None, (tmp_path / "stderr.txt").read_text()
                time.sleep(0.1)
            else:
                raise AssertionError("the trader did not finish its preflight")
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    text = log.read_text()
    assert "received SIGTERM" in text
    assert "posMode long_short_mode" in text
    assert "Traceback" not in text


def test_process_events_are_typed() -> None:
    assert ProcessStarted("trader-x").process == ProcessStopped("trader-x").process


def test_preflight_waits_out_an_exchange_outage(sim_module: RunningSimulator, tmp_path: Path) -> None:
    r = rig(sim_module, tmp_path)
    try:
        r.control.set_faults([{"kind": "http_503", "path": "/api/v5/account/config", "count": 6}])
        start = r.clock.now()
        result = TraderService(r.ctx)._preflight()
        assert result is not None
        assert result.config.pos_mode == "net_mode"
        assert r.clock.now() - start >= timedelta(seconds=5)  # it slept (on the clock) between tries
    finally:
        r.control.clear_faults()
        r.close()


def test_an_old_interrupted_bar_is_superseded(sim_module: RunningSimulator, tmp_path: Path) -> None:
    r = rig(sim_module, tmp_path, trader={"marker_deadline_s": 8})
    try:
        r.preflight()
        journal = r.ctx.journal
        journal.start_cycle(T0 - 5 * MINUTE, "1m", T0 - 5 * MINUTE)  # a crash left it "started"
        r.clock.set(T0 + timedelta(seconds=30))
        assert TraderService(r.ctx).catch_up() is None  # the latest bar is past its deadline too
        old = journal.cycle(T0 - 5 * MINUTE)
        assert old is not None
        assert (old.status, old.reason) == ("skipped", "interrupted; superseded by a later bar")
        assert journal.unfinished_cycles() == []
    finally:
        r.close()
