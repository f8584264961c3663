"""No skipped close goes unrecorded (issue 12, item 7): after an overrun or downtime the collector
marks every missed base close, and every larger interval closing at one, in order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from collector.catchup import last_marked_close, missed_closes
from collector.cycle import statuses_at
from collector.plan import CollectPlan
from core.intervals import parse_interval
from core.markers import InstrumentStatus, Marker, MarkerStore
from simulator.server import RunningSimulator
from tests.integration.test_collector_support import Rig, make_rig, minutes, started_rig

START = datetime(2024, 3, 1, 0, 0, 1, tzinfo=UTC)
MIDNIGHT = START - timedelta(seconds=1)
ACCOUNTS = {"a": ("1m", ["BTC-USDT-SWAP", "ETH-USDT-SWAP"]), "b": ("5m", ["BTC-USDT-SWAP", "SOL-USDT"])}
INSTS = ("BTC-USDT-SWAP", "ETH-USDT-SWAP", "SOL-USDT")
PLAN = CollectPlan("UTC", {parse_interval("1m"): ("A",), parse_interval("5m"): ("A",)})


@pytest.fixture
def rig(sim_module: RunningSimulator, tmp_path: Path) -> Iterator[Rig]:
    with started_rig(sim_module, tmp_path, ACCOUNTS, START) as running:
        yield running


def assert_marked(rig: Rig, first: int, last: int) -> None:
    """Every 1m close MIDNIGHT+first .. +last (and each 5m close among them) has a ready marker."""
    for m in range(first, last + 1):
        close = MIDNIGHT + minutes(m)
        marker = rig.marker("1m", close)
        assert marker is not None, close
        assert all(marker.is_ready(i) for i in INSTS), close
        five = rig.marker("5m", close)
        if m % 5 == 0:
            assert five is not None, close
            assert set(five.instruments) == {"BTC-USDT-SWAP", "SOL-USDT"}
            assert all(five.is_ready(i) for i in five.instruments), close
        else:
            assert five is None


def test_an_overrun_marks_every_missed_close_in_order(rig: Rig) -> None:
    rig.step()
    rig.advance(7 * 60)  # the next seven closes pass while a cycle overruns (or the host sleeps)

    report = rig.step()

    assert report is not None
    assert report.close == MIDNIGHT + minutes(9)
    assert report.earlier == [MIDNIGHT + minutes(m) for m in range(2, 9)]
    assert [o.interval.name for o in report.caught_up] == ["1m"] * 3 + ["1m", "5m"] + ["1m"] * 3
    assert_marked(rig, 1, 9)
    stamps = [rig.service.markers.path("1m", MIDNIGHT + minutes(m)).stat().st_mtime_ns for m in range(2, 10)]
    assert stamps == sorted(stamps)  # oldest first
    assert rig.csv("SOL-USDT", "5m")[-1].ts == MIDNIGHT  # the 5m bar closing at 00:05
    assert "caught up 7 missed close(s)" in report.summary()


def test_a_restart_after_downtime_marks_the_closes_it_missed(rig: Rig) -> None:
    rig.step()
    rig.step()
    rig.service.close()
    rig.advance(10 * 60 + 20)  # down for ten closes

    restarted = rig.new_service()
    report = restarted.start_up()

    assert report is not None
    assert report.close == MIDNIGHT + minutes(12)
    assert report.earlier == [MIDNIGHT + minutes(m) for m in range(3, 12)]
    assert_marked(rig, 1, 12)
    restarted.close()


def test_statuses_of_an_earlier_close_follow_what_each_csv_covers() -> None:
    """An instrument failing at the newest close is still ok for the missed closes its CSV covers."""
    bar = MIDNIGHT + minutes(2)
    latest = {
        "A": InstrumentStatus(ok=True, last_candle=MIDNIGHT + minutes(5)),
        "B": InstrumentStatus(ok=False, last_candle=bar, reason="no candle for 00:03"),
        "C": InstrumentStatus(ok=False, last_candle=bar - minutes(1), reason="no candle for 00:02"),
        "D": InstrumentStatus(ok=False, last_candle=None, reason=""),
    }

    got = statuses_at(latest, bar)

    assert got["A"] == InstrumentStatus(ok=True, last_candle=bar)
    assert got["B"] == InstrumentStatus(ok=True, last_candle=bar)
    assert got["C"] == InstrumentStatus(ok=False, last_candle=bar - minutes(1), reason="no candle for 00:02")
    assert got["D"] == InstrumentStatus(ok=False, last_candle=None, reason="CSV ends at nothing")


# ---- the pure helpers -------------------------------------------------------------------------
def test_missed_closes_are_the_ones_between_ascending_and_bounded() -> None:
    m = MIDNIGHT
    assert missed_closes(PLAN, None, m) == []
    assert missed_closes(PLAN, m, m) == []
    assert missed_closes(PLAN, m, m + minutes(1)) == []
    assert missed_closes(PLAN, m, m + minutes(4)) == [m + minutes(i) for i in (1, 2, 3)]
    assert missed_closes(PLAN, m, m + minutes(100), limit=3) == [m + minutes(i) for i in (97, 98, 99)]


def test_last_marked_close_reads_the_newest_base_marker(tmp_path: Path) -> None:
    store = MarkerStore(tmp_path)
    m = MIDNIGHT
    assert last_marked_close(PLAN, store, m, lookback=timedelta(hours=1)) is None
    store.write(Marker("1m", m - minutes(11), m - minutes(10), m, {"A": InstrumentStatus(ok=True)}))
    assert last_marked_close(PLAN, store, m, lookback=timedelta(hours=1)) == m - minutes(10)
    assert last_marked_close(PLAN, store, m, lookback=timedelta(minutes=5)) is None
    store.write(Marker("1m", m - minutes(1), m, m, {"A": InstrumentStatus(ok=True)}))
    assert last_marked_close(PLAN, store, m, lookback=timedelta(hours=1)) == m - minutes(1)


def test_closes_that_pass_while_a_fresh_start_up_backfills_are_marked(
    sim_module: RunningSimulator, tmp_path: Path
) -> None:
    """A first start (no marker on disk) whose backfill takes minutes: the closes that passed
    meanwhile, and the 5m bar closing among them, get their markers."""
    sim_module.control.reset()
    rig = make_rig(sim_module, tmp_path, ACCOUNTS, START - minutes(3))  # 23:57:01
    try:
        backfill = rig.service.backfill()
        assert backfill.until == MIDNIGHT - minutes(3)
        rig.advance(6 * 60)  # the backfill took six minutes: it is now 00:03:01

        report = rig.service.catch_up(backfilled=backfill.until)

        assert report is not None
        assert report.earlier == [MIDNIGHT + minutes(m) for m in range(-3, 3)]
        for m in range(-3, 4):
            marker = rig.marker("1m", MIDNIGHT + minutes(m))
            assert marker is not None
            assert all(marker.is_ready(i) for i in INSTS)
        five = rig.marker("5m", MIDNIGHT)
        assert five is not None
        assert all(five.is_ready(i) for i in ("BTC-USDT-SWAP", "SOL-USDT"))
    finally:
        rig.close()
        sim_module.control.reset()
