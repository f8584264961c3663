"""Collector start-up against the simulator: fresh backfill, resume, torn rows, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from core.intervals import floor_to_bar, parse_interval
from core.store import CandleStore
from simulator.server import RunningSimulator
from tests.integration.test_collector_support import make_rig, minutes, native_bars, write_config

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2024, 3, 1, 0, 0, 1, tzinfo=UTC)
ACCOUNTS = {"a": ("1m", ["BTC-USDT-SWAP", "ETH-USDT-SWAP"]), "b": ("5m", ["BTC-USDT-SWAP"])}
HK = "Asia/Shanghai"


@pytest.fixture
def sim(sim_module: RunningSimulator) -> Iterator[RunningSimulator]:
    sim_module.control.reset()
    yield sim_module
    sim_module.control.reset()


def test_fresh_backfill_matches_the_exchange(sim: RunningSimulator, tmp_path: Path) -> None:
    rig = make_rig(sim, tmp_path, ACCOUNTS, START)
    span = rig.service.history.span  # 30 bars of 1m (history_bars=30 of every interval)

    report = rig.service.backfill()

    assert report.ok, report
    first = floor_to_bar(START - span, "1m")
    end = datetime(2024, 3, 1, tzinfo=UTC)  # open of the forming bar
    for inst in ("BTC-USDT-SWAP", "ETH-USDT-SWAP"):
        assert rig.csv(inst, "1m") == native_bars(rig.client, inst, "1m", HK, first, end)
    five = rig.csv("BTC-USDT-SWAP", "5m")
    assert five == native_bars(rig.client, "BTC-USDT-SWAP", "5m", HK, five[0].ts, end)
    assert five[-1].ts == end - minutes(5)
    assert len(five) >= 30  # its own history, fetched natively where the 1m rows do not reach
    assert report.native[("BTC-USDT-SWAP", "5m")] > 0
    assert not rig.service.store.path("ETH-USDT-SWAP", "5m").exists()  # no account trades ETH on 5m
    rig.close()


def test_resume_fetches_only_the_gap(sim: RunningSimulator, tmp_path: Path) -> None:
    rig = make_rig(sim, tmp_path, ACCOUNTS, START)
    rig.service.backfill()
    before = rig.csv("BTC-USDT-SWAP")
    sim.control.clear_requests()
    rig.advance(20 * 60)  # the collector was down for 20 minutes

    report = rig.service.backfill()

    after = rig.csv("BTC-USDT-SWAP")
    assert report.ok
    assert report.fetched == {"BTC-USDT-SWAP": 20, "ETH-USDT-SWAP": 20}
    assert after[: len(before)] == before
    assert [b.ts for b in after[len(before) :]] == [
        START - timedelta(seconds=1) + minutes(m) for m in range(20)
    ]
    assert len({b.ts for b in after}) == len(after)
    candle_requests = [r for r in sim.control.requests() if "candles" in r["path"]]
    assert len(candle_requests) <= 2 * 2  # one page each (plus at most one probe each)
    five = rig.csv("BTC-USDT-SWAP", "5m")
    assert five[-1].ts == START - timedelta(seconds=1) + minutes(15)
    rig.close()


def test_torn_row_is_cut_and_the_bar_fetched_again(sim: RunningSimulator, tmp_path: Path) -> None:
    rig = make_rig(sim, tmp_path, ACCOUNTS, START)
    rig.service.backfill()
    path = rig.service.store.path("ETH-USDT-SWAP", "1m")
    good = path.read_bytes()
    lines = good.splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]) + lines[-1][:25])  # a crash mid-append

    report = rig.service.backfill()

    assert report.torn_rows_repaired == 1
    assert path.read_bytes() == good
    rig.close()


def test_unknown_instrument_fails_alone(sim: RunningSimulator, tmp_path: Path) -> None:
    accounts = {"a": ("1m", ["BTC-USDT-SWAP", "NOPE-USDT-SWAP"])}
    rig = make_rig(sim, tmp_path, accounts, START)

    report = rig.service.backfill()

    assert set(report.failed) == {"NOPE-USDT-SWAP"}
    assert "51001" in report.failed["NOPE-USDT-SWAP"]
    assert rig.csv("BTC-USDT-SWAP")[-1].ts == START - timedelta(seconds=1) - minutes(1)
    rig.close()


def test_progress_bar_counts_bars(
    sim: RunningSimulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rig = make_rig(sim, tmp_path, ACCOUNTS, START)
    rig.service.backfiller.progress = True

    rig.service.backfill()

    err = capsys.readouterr().err
    assert "backfill 1m" in err
    assert "60/60" in err  # 30 bars of 1m (history_bars=30) for two instruments
    rig.close()


def test_cli_backfill_subprocess(sim: RunningSimulator, tmp_path: Path) -> None:
    """``python -m collector --backfill --config PATH`` on the wall clock (the reset simulator
    follows it), then exits 0."""
    path = write_config(tmp_path, sim.base_url, {"a": ("1m", ["BTC-USDT-SWAP"]), "b": ("15m", ["SOL-USDT"])})
    env = {k: v for k, v in os.environ.items() if k != "OKXFLEET_CLOCK"}

    result = subprocess.run(
        [sys.executable, "-m", "collector", "--backfill", "--config", str(path), "--log-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    store = CandleStore(tmp_path / "data" / "candles", HK)
    now = datetime.now(UTC)
    for inst, interval in (("BTC-USDT-SWAP", "1m"), ("SOL-USDT", "1m"), ("SOL-USDT", "15m")):
        last = store.last_time(inst, interval)
        assert last is not None, (inst, interval)
        newest_closed = floor_to_bar(now, interval) - parse_interval(interval).delta
        assert newest_closed - parse_interval(interval).delta * 2 <= last <= newest_closed
    assert not store.path("BTC-USDT-SWAP", "15m").exists()
    assert not (tmp_path / "data" / "markers").exists()  # --backfill writes no markers


def test_a_daily_account_on_a_minute_base_gets_its_days_natively(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    """Issue 12, item 12: a 1d account with a 1m base used to backfill (and rebuild from) every
    minute of its whole day history; the days now come from OKX's own 1D bars, the minutes only
    cover two days, and the days the minutes cover are derived and checked against OKX's."""
    accounts = {"a": ("1m", ["BTC-USDT-SWAP"]), "d": ("1d", ["BTC-USDT-SWAP"])}
    rig = make_rig(sim, tmp_path, accounts, START, collector="history_bars=20, confirm_retry_s=5")
    end = datetime(2024, 3, 1, tzinfo=UTC)

    report = rig.service.backfill()

    assert report.ok, report
    minutes_rows = rig.csv("BTC-USDT-SWAP", "1m")
    assert len(minutes_rows) == 2 * 1440  # was 20 days of minutes: 28,800 rows
    days = rig.csv("BTC-USDT-SWAP", "1d")
    assert len(days) >= 20
    assert days == native_bars(rig.client, "BTC-USDT-SWAP", "1d", HK, days[0].ts, end)
    assert report.native[("BTC-USDT-SWAP", "1d")] >= 18
    assert days[-1].ts > minutes_rows[0].ts  # the newest day is derived from the minutes
    assert report.native_mismatches == {}
    rig.close()


def test_a_native_day_that_differs_from_its_minutes_is_alerted(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    """The day the minutes cover is derived and compared with OKX's own 1D bar: a difference is
    alerted at start-up (the derived bar is kept, as every later day is derived too)."""
    accounts = {"a": ("1m", ["BTC-USDT-SWAP"]), "d": ("1d", ["BTC-USDT-SWAP"])}
    covered = datetime(2024, 2, 28, 16, tzinfo=UTC)  # the one HK day the two days of minutes cover
    sim.control.edit_candle("BTC-USDT-SWAP", int(covered.timestamp() * 1000), {"vol": "1"}, bar="1D")
    rig = make_rig(sim, tmp_path, accounts, START, collector="history_bars=5, confirm_retry_s=5")

    rig.service.start_up()

    days = rig.csv("BTC-USDT-SWAP", "1d")
    assert days[-1].ts == covered
    day_minutes = [b for b in rig.csv("BTC-USDT-SWAP", "1m") if covered <= b.ts < covered + timedelta(days=1)]
    minute_vol = sum((b.volume for b in day_minutes), Decimal(0))
    assert days[-1].volume == minute_vol  # derived, not OKX's edited "1"
    alerts = [a for a in rig.alerts("verification_mismatch") if a.interval == "1d"]
    assert len(alerts) == 1
    assert "differ from OKX's own (first 2024-02-28T16:00:00+00:00)" in alerts[0].detail
    sim.control.clear_candle_edits()
    rig.close()
