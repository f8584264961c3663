"""The collector as a running service: APScheduler on an accelerated clock shared with the
simulator, ``python -m collector`` stopped by SIGTERM, and alerts reaching a fake DingTalk."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from collector.service import CollectorService
from config import load_config
from core.clock import CLOCK_ENV, FakeClock, ScaledClock, SystemClock, from_ms
from core.markers import MarkerStore
from notify.events import ProcessStarted, ProcessStopped
from notify.service import RecordingNotifier, make_notifier
from simulator.server import RunningSimulator
from tests.fakes.dingtalk import FakeDingTalk
from tests.integration.test_collector_support import public_client, write_config
from tests.plugins.notify import dingtalk_env

ROOT = Path(__file__).resolve().parents[2]
VIRTUAL_START = datetime(2024, 3, 1, 0, 0, 30, tzinfo=UTC)
SPEED = 60.0  # one virtual minute per wall second
ACCOUNTS = {"a": ("1m", ["BTC-USDT-SWAP", "ETH-USDT-SWAP"]), "b": ("5m", ["BTC-USDT-SWAP"])}


@pytest.fixture
def sim(sim_module: RunningSimulator) -> Iterator[RunningSimulator]:
    sim_module.control.reset()
    yield sim_module
    sim_module.control.reset()


def shared_clock(sim: RunningSimulator) -> ScaledClock:
    """Run the simulator at SPEED and return a clock anchored to what it reports."""
    sim.control.set_clock(VIRTUAL_START, mode="running", speed=SPEED)
    wall = datetime.now(UTC)
    virtual = from_ms(sim.control.now_ms())
    return ScaledClock(wall, virtual, SPEED)


def wait_for(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def ready_markers(markers: MarkerStore, interval: str) -> list[datetime]:
    folder = markers.root / interval
    out = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        close = datetime.strptime(path.stem, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        marker = markers.read(interval, close)
        if marker is not None and all(marker.is_ready(i) for i in marker.instruments):
            out.append(close)
    return out


def test_scheduler_runs_a_cycle_at_every_bar_close(sim: RunningSimulator, tmp_path: Path) -> None:
    clock = shared_clock(sim)
    cfg = load_config(write_config(tmp_path, sim.base_url, ACCOUNTS))
    notifier = RecordingNotifier()
    service = CollectorService(cfg, clock=clock, client=public_client(cfg, clock.now()), notifier=notifier)
    thread = threading.Thread(target=service.serve, name="collector-under-test")
    thread.start()
    try:
        assert wait_for(lambda: len(ready_markers(service.markers, "1m")) >= 4, timeout=20)
    finally:
        service.request_stop("test over")
        thread.join(timeout=20)
    assert not thread.is_alive()

    closes = ready_markers(service.markers, "1m")
    assert closes == [closes[0] + timedelta(minutes=i) for i in range(len(closes))]  # no bar skipped
    assert closes[0] == datetime(2024, 3, 1, 0, 0, tzinfo=UTC)  # start-up caught up the latest close
    assert ready_markers(service.markers, "5m")[0] == closes[0]
    for inst in ("BTC-USDT-SWAP", "ETH-USDT-SWAP"):
        rows = service.store.read_all(inst, "1m")
        assert len({b.ts for b in rows}) == len(rows)
        assert rows[-1].ts >= closes[-1] - timedelta(minutes=1)
    kinds = [type(e) for e in notifier.events]
    assert kinds[0] is ProcessStarted
    assert kinds[-1] is ProcessStopped
    service.close()


def test_cli_runs_until_sigterm(sim: RunningSimulator, tmp_path: Path) -> None:
    clock = shared_clock(sim)
    path = write_config(tmp_path, sim.base_url, ACCOUNTS)
    env = {**os.environ, CLOCK_ENV: clock.spec()}
    markers = MarkerStore(tmp_path / "data" / "markers")
    proc = subprocess.Popen(
        [sys.executable, "-m", "collector", "--config", str(path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for(lambda: len(ready_markers(markers, "1m")) >= 3, timeout=60), proc.stderr
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()

    assert proc.returncode == 0, err
    assert "received SIGTERM" in err
    assert "close->marker" in err  # the one-line cycle log
    closes = ready_markers(markers, "1m")
    assert closes == [closes[0] + timedelta(minutes=i) for i in range(len(closes))]
    assert (tmp_path / "data" / "logs" / "collector.log").is_file()


def test_failed_instrument_alert_reaches_dingtalk(
    sim: RunningSimulator, tmp_path: Path, dingtalk: FakeDingTalk
) -> None:
    start = datetime(2024, 3, 1, 0, 0, 1, tzinfo=UTC)
    sim.control.set_clock(start, mode="frozen")
    accounts = {"a": ("1m", ["BTC-USDT-SWAP", "NOPE-USDT-SWAP"])}
    notify = (
        'Notify(dingtalk=DingTalk(webhook_env="DINGTALK_WEBHOOK", secret_env="DINGTALK_SECRET", '
        'keyword="okxfleet"))'
    )
    cfg = load_config(
        write_config(tmp_path, sim.base_url, accounts, notify=notify), environ=dingtalk_env(dingtalk)
    )
    notifier = make_notifier(cfg, process="collector", clock=SystemClock())
    service = CollectorService(
        cfg, clock=FakeClock(start), client=public_client(cfg, start), notifier=notifier
    )

    report = service.start_up()

    assert report is not None
    assert report.outcome("1m").failed.keys() == {"NOPE-USDT-SWAP"}
    assert wait_for(lambda: dingtalk.count("NOPE-USDT-SWAP") >= 1, timeout=10)
    text = next(t for t in dingtalk.texts() if "NOPE-USDT-SWAP" in t)
    assert "instrument_failed" in text
    assert "51001" in text
    assert dingtalk.rejections == []
    service.close()
    notifier.close()
