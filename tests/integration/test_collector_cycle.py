"""Live bar closes against the simulator: several bars, a gap, a forming candle, a failing
instrument, restarts, housekeeping. Both clocks (the collector's fake one and the simulator's
frozen one) are moved together by the test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from core.bars import Bar
from core.intervals import parse_interval
from core.markers import InstrumentStatus, Marker
from core.store import CandleStore
from simulator.server import RunningSimulator
from tests.integration.test_collector_support import Rig, make_rig, minutes, native_bars

START = datetime(2024, 3, 1, 0, 0, 1, tzinfo=UTC)  # one second after a close
MIDNIGHT = START - timedelta(seconds=1)
ACCOUNTS = {"a": ("1m", ["BTC-USDT-SWAP", "ETH-USDT-SWAP"]), "b": ("5m", ["BTC-USDT-SWAP", "SOL-USDT"])}
INSTS = ("BTC-USDT-SWAP", "ETH-USDT-SWAP", "SOL-USDT")
HK = "Asia/Shanghai"


@pytest.fixture
def sim(sim_module: RunningSimulator) -> Iterator[RunningSimulator]:
    sim_module.control.reset()
    yield sim_module
    sim_module.control.reset()


@pytest.fixture
def rig(sim: RunningSimulator, tmp_path: Path) -> Iterator[Rig]:
    running = make_rig(sim, tmp_path, ACCOUNTS, START)
    running.service.start_up()
    yield running
    running.close()


def assert_matches_exchange(rig: Rig, inst: str, interval: str = "1m") -> None:
    rows = rig.csv(inst, interval)
    assert rows, (inst, interval)
    assert rows == native_bars(rig.client, inst, interval, HK, rows[0].ts, rows[-1].ts + minutes(1))


def csv_bytes(rig: Rig) -> dict[Path, bytes]:
    root = rig.service.store.root
    return {p: p.read_bytes() for p in sorted(root.glob("*.csv"))}


# ---- normal operation ---------------------------------------------------------------------------
def test_start_up_writes_the_marker_of_the_latest_close(rig: Rig) -> None:
    marker = rig.marker("1m", MIDNIGHT)

    assert marker is not None
    assert all(marker.is_ready(i) for i in INSTS)
    five = rig.marker("5m", MIDNIGHT)
    assert five is not None
    assert set(five.instruments) == {"BTC-USDT-SWAP", "SOL-USDT"}
    assert all(five.is_ready(i) for i in five.instruments)


def test_several_live_bars(rig: Rig) -> None:
    reports = [rig.step() for _ in range(6)]

    assert all(r is not None for r in reports)
    for minute, report in enumerate(reports, start=1):
        assert report is not None
        close = MIDNIGHT + minutes(minute)
        assert report.close == close
        base = report.outcome("1m")
        assert base.ok == sorted(INSTS)
        assert not base.failed
        assert [o.interval.name for o in report.outcomes] == (["1m", "5m"] if minute == 5 else ["1m"])
        marker = rig.marker("1m", close)
        assert marker is not None
        assert all(marker.is_ready(i) for i in INSTS)
    five = rig.marker("5m", MIDNIGHT + minutes(5))
    assert five is not None
    assert five.is_ready("BTC-USDT-SWAP")
    assert five.is_ready("SOL-USDT")
    assert rig.marker("5m", MIDNIGHT + minutes(4)) is None
    for inst in INSTS:
        assert rig.csv(inst)[-1].ts == MIDNIGHT + minutes(5)
        assert_matches_exchange(rig, inst)
    assert rig.csv("SOL-USDT", "5m")[-1].ts == MIDNIGHT
    assert rig.csv("SOL-USDT", "5m") == native_bars(
        rig.client, "SOL-USDT", "5m", HK, rig.csv("SOL-USDT", "5m")[0].ts, MIDNIGHT + minutes(5)
    )
    assert not rig.alerts("instrument_failed")
    assert not rig.alerts("gap_repaired")


def test_tick_twice_in_one_bar_does_nothing_the_second_time(rig: Rig) -> None:
    assert rig.step() is not None
    before = csv_bytes(rig)
    rig.advance(20)

    assert rig.service.tick() is None
    assert csv_bytes(rig) == before


def test_the_same_close_run_again_adds_no_rows(rig: Rig) -> None:
    rig.step()
    before = csv_bytes(rig)

    report = rig.service.run_cycle(MIDNIGHT + minutes(1))

    assert csv_bytes(rig) == before
    assert report.outcome("1m").ok == sorted(INSTS)


# ---- a gap ----------------------------------------------------------------------------------------
def test_skipped_cycles_are_repaired_from_history(rig: Rig) -> None:
    rig.step()
    rig.advance(7 * 60)  # seven closes pass without a cycle (e.g. the host was suspended)

    report = rig.step()

    assert report is not None
    assert report.close == MIDNIGHT + minutes(9)
    assert report.outcome("1m").ok == sorted(INSTS)
    assert set(report.repaired) == set(INSTS)
    assert all(n > 0 for n in report.repaired.values())
    assert {a.inst_id for a in rig.alerts("gap_repaired")} == set(INSTS)
    for inst in INSTS:
        rows = rig.csv(inst)
        assert [b.ts for b in rows[-9:]] == [MIDNIGHT + minutes(m) for m in range(9)]
        assert_matches_exchange(rig, inst)
    # the next 5m close derives both missed 5m bars
    report = rig.step()
    assert report is not None
    assert report.outcome("5m").ok == ["BTC-USDT-SWAP", "SOL-USDT"]
    assert [b.ts for b in rig.csv("SOL-USDT", "5m")[-2:]] == [MIDNIGHT, MIDNIGHT + minutes(5)]


# ---- the forming candle ---------------------------------------------------------------------------
def test_forming_candle_is_retried_until_confirmed(rig: Rig, sim: RunningSimulator) -> None:
    """At the close the simulator still serves the bar with confirm=0 (its clock is 0.7 s behind);
    the collector asks again (its sleeps move the simulator on) and stores the confirmed bar."""
    rig.advance(60)
    sim.control.advance(-1700)  # simulator at 00:00:59.3, collector at 00:01:01
    sim.control.clear_requests()

    report = rig.service.tick()

    assert report is not None
    assert report.outcome("1m").ok == sorted(INSTS)
    assert 0.5 in rig.clock.sleeps
    candle_requests = [r for r in sim.control.requests() if r["path"].startswith("/api/v5/market/candles?")]
    assert len(candle_requests) >= 2 * len(INSTS)
    for inst in INSTS:
        assert rig.csv(inst)[-1].ts == MIDNIGHT
        assert_matches_exchange(rig, inst)


def test_never_confirmed_bar_is_not_stored_and_marked_failed(rig: Rig, sim: RunningSimulator) -> None:
    """Bug 8/9: an unconfirmed bar is never appended and never vouched for by a marker."""
    rig.advance(60)
    sim.control.advance(-1700)
    rig.clock.linked = False  # the simulator stays behind the close for the whole retry window
    before = csv_bytes(rig)

    report = rig.service.tick()

    assert report is not None
    base = report.outcome("1m")
    assert base.ok == []
    assert set(base.failed) == set(INSTS)
    assert all("not confirmed" in reason for reason in base.failed.values())
    assert csv_bytes(rig) == before
    marker = rig.marker("1m", MIDNIGHT + minutes(1))
    assert marker is not None
    assert not any(marker.is_ready(i) for i in INSTS)
    assert {a.inst_id for a in rig.alerts("instrument_failed")} == set(INSTS)
    # the next close picks both bars up
    rig.clock.linked = True
    sim.control.advance(1700)
    report = rig.step()
    assert report is not None
    assert report.outcome("1m").ok == sorted(INSTS)
    for inst in INSTS:
        assert_matches_exchange(rig, inst)


# ---- failure isolation ----------------------------------------------------------------------------
def test_unknown_instrument_is_failed_the_others_proceed(sim: RunningSimulator, tmp_path: Path) -> None:
    accounts = {"a": ("1m", ["BTC-USDT-SWAP", "NOPE-USDT-SWAP"]), "b": ("5m", ["NOPE-USDT-SWAP", "SOL-USDT"])}
    rig = make_rig(sim, tmp_path, accounts, START)
    rig.service.start_up()

    reports = [rig.step() for _ in range(5)]

    last = reports[-1]
    assert last is not None
    assert last.outcome("1m").ok == ["BTC-USDT-SWAP", "SOL-USDT"]
    assert "51001" in last.outcome("1m").failed["NOPE-USDT-SWAP"]
    assert last.outcome("5m").ok == ["SOL-USDT"]
    assert "1m candles incomplete" in last.outcome("5m").failed["NOPE-USDT-SWAP"]
    marker = rig.marker("1m", MIDNIGHT + minutes(5))
    assert marker is not None
    assert marker.is_ready("BTC-USDT-SWAP")
    assert not marker.is_ready("NOPE-USDT-SWAP")
    alerts = rig.alerts("instrument_failed")
    assert [a.inst_id for a in alerts] == ["NOPE-USDT-SWAP"]  # once, not every bar
    assert not rig.service.store.path("NOPE-USDT-SWAP", "1m").exists()
    rig.close()


def test_transient_server_errors_are_retried(rig: Rig, sim: RunningSimulator) -> None:
    sim.control.set_faults([{"kind": "http_503", "path": "/api/v5/market/candles", "count": 2}])

    report = rig.step()

    assert report is not None
    assert report.outcome("1m").ok == sorted(INSTS)
    assert sim.control.faults()["rules"][0]["fired"] == 2


# ---- restarts -----------------------------------------------------------------------------------
def test_restart_mid_bar_changes_nothing(rig: Rig, sim: RunningSimulator) -> None:
    rig.step()
    before = csv_bytes(rig)
    marker_path = rig.service.markers.path("1m", MIDNIGHT + minutes(1))
    stamp = marker_path.stat().st_mtime_ns
    rig.service.close()
    rig.advance(25)  # restarted 26 s into the bar
    sim.control.clear_requests()

    restarted = rig.new_service()
    rig.service = restarted
    assert restarted.start_up() is None

    assert csv_bytes(rig) == before
    assert marker_path.stat().st_mtime_ns == stamp
    assert not [r for r in sim.control.requests() if "candles" in r["path"]]
    rig.advance(35)  # the next close works as usual
    report = restarted.tick()
    assert report is not None
    assert report.outcome("1m").ok == sorted(INSTS)


def test_crash_between_csv_and_marker_is_healed_on_restart(rig: Rig) -> None:
    """The process died after appending (one row torn) and before any marker or 5m row."""
    for _ in range(4):
        rig.step()
    rig.step()  # 00:05: 1m + 5m
    close = MIDNIGHT + minutes(5)
    store = rig.service.store
    for interval in ("1m", "5m"):
        rig.service.markers.path(interval, close).unlink()
    # 5m rows derived at 00:05 never got written; the last 1m row of ETH was torn
    five = store.path("SOL-USDT", "5m")
    five.write_bytes(b"".join(five.read_bytes().splitlines(keepends=True)[:-1]))
    eth = store.path("ETH-USDT-SWAP", "1m")
    eth.write_bytes(eth.read_bytes()[:-30])
    expected = {inst: rig.csv(inst) for inst in ("BTC-USDT-SWAP", "SOL-USDT")}
    rig.advance(10)

    restarted = rig.new_service()
    report = restarted.start_up()

    assert report is not None
    assert report.close == close
    assert report.outcome("1m").ok == sorted(INSTS)
    assert report.outcome("5m").ok == [
        "BTC-USDT-SWAP",
        "SOL-USDT",
    ]
    for inst in INSTS:
        rows = rig.csv(inst)
        assert len({b.ts for b in rows}) == len(rows)
        assert rows[-1].ts == MIDNIGHT + minutes(4)
        assert_matches_exchange(rig, inst)
    for inst, rows in expected.items():
        assert rig.csv(inst) == rows  # nothing duplicated
    assert rig.csv("SOL-USDT", "5m")[-1].ts == MIDNIGHT
    for interval in ("1m", "5m"):
        marker = rig.marker(interval, close)
        assert marker is not None
        assert all(s.ok for s in marker.instruments.values())
    restarted.close()


def test_crash_after_the_base_marker_derives_and_marks_the_larger_interval(rig: Rig) -> None:
    """The 1m marker of 00:05 was written, then the process died before the 5m bars and marker."""
    for _ in range(5):
        rig.step()
    close = MIDNIGHT + minutes(5)
    rig.service.markers.path("5m", close).unlink()
    for inst in ("BTC-USDT-SWAP", "SOL-USDT"):
        path = rig.service.store.path(inst, "5m")
        path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:-1]))
    one_minute = rig.marker("1m", close)
    rig.advance(10)

    restarted = rig.new_service()
    report = restarted.start_up()

    assert report is not None
    assert report.outcome("5m").ok == ["BTC-USDT-SWAP", "SOL-USDT"]
    marker = rig.marker("5m", close)
    assert marker is not None
    assert all(marker.is_ready(i) for i in ("BTC-USDT-SWAP", "SOL-USDT"))
    assert rig.csv("SOL-USDT", "5m")[-1].ts == MIDNIGHT
    again = rig.marker("1m", close)  # rewritten with the same verdicts
    assert again is not None
    assert one_minute is not None
    assert again.instruments == one_minute.instruments
    restarted.close()


def test_stop_mid_cycle_writes_no_marker_and_restart_completes_it(rig: Rig, sim: RunningSimulator) -> None:
    rig.advance(60)
    sim.control.advance(-1700)  # the bar is still forming on the exchange
    rig.service.request_stop("SIGTERM")
    before = csv_bytes(rig)

    assert rig.service.tick() is None  # abandoned while waiting for the confirmation

    close = MIDNIGHT + minutes(1)
    assert rig.marker("1m", close) is None
    assert csv_bytes(rig) == before
    sim.control.advance(1700)
    restarted = rig.new_service()
    report = restarted.start_up()
    assert report is not None
    assert report.close == close
    assert report.outcome("1m").ok == sorted(INSTS)
    for inst in INSTS:
        assert_matches_exchange(rig, inst)
    restarted.close()


# ---- housekeeping -------------------------------------------------------------------------------
def test_verification_rewrites_a_wrong_row_and_its_derived_bar(rig: Rig) -> None:
    """A stored 1m row (and the 5m bar built from it) differs from what the exchange serves now:
    both are corrected by atomic rewrites and alerted; a tampered 5m row is recomputed too."""
    for _ in range(5):
        rig.step()
    store = rig.service.store
    rows, five = rig.csv("SOL-USDT"), rig.csv("SOL-USDT", "5m")
    wrong_ts = MIDNIGHT - minutes(3)  # 23:57, inside the 23:55 5m bar
    store.rewrite("SOL-USDT", "1m", [replace(b, high=b.high + 1000) if b.ts == wrong_ts else b for b in rows])
    store.rewrite(
        "SOL-USDT",
        "5m",
        [
            replace(b, high=b.high + 1000) if b.ts == MIDNIGHT - minutes(5)
            else replace(b, volume=b.volume + 7) if b.ts == MIDNIGHT
            else b
            for b in five
        ],
    )  # fmt: skip

    report = rig.service.housekeeper.run(rig.clock.now())

    assert report.verified == len(INSTS)
    assert report.mismatched == {("SOL-USDT", "1m"): 1, ("SOL-USDT", "5m"): 2}
    assert rig.csv("SOL-USDT") == rows
    assert rig.csv("SOL-USDT", "5m") == five
    kinds = {(a.inst_id, a.interval) for a in rig.alerts("verification_mismatch")}
    assert kinds == {("SOL-USDT", "1m"), ("SOL-USDT", "5m")}


def test_markers_are_pruned(rig: Rig) -> None:
    old_close = MIDNIGHT - timedelta(hours=49)
    rig.service.markers.write(
        Marker("1m", old_close - minutes(1), old_close, old_close, {"X-Y": InstrumentStatus(ok=True)})
    )

    report = rig.service.housekeeper.run(rig.clock.now())

    assert report.markers_pruned == 1
    assert rig.marker("1m", old_close) is None
    assert rig.marker("1m", MIDNIGHT) is not None


def test_csv_length_is_capped_but_never_below_the_history_plan(sim: RunningSimulator, tmp_path: Path) -> None:
    rig = make_rig(sim, tmp_path, ACCOUNTS, START, collector="history_bars=150, max_csv_rows=100")
    rig.service.start_up()
    rig.advance(5 * 3600)  # five hours later: resuming brings the 1m files to 450 rows
    rig.service.backfill()
    assert len(rig.csv("BTC-USDT-SWAP")) == 450

    report = rig.service.housekeeper.run(rig.clock.now())

    assert ("BTC-USDT-SWAP", "1m") in report.capped
    keep = rig.service.keep_bars()
    assert len(rig.csv("BTC-USDT-SWAP")) == keep[rig.base] == 151  # 150 minutes of history + 1
    assert ("SOL-USDT", "5m") in report.capped  # 150 + 60 rows, cut to its own history plan
    assert len(rig.csv("SOL-USDT", "5m")) == keep[parse_interval("5m")] == 151
    assert rig.csv("BTC-USDT-SWAP")[-1].ts == MIDNIGHT + timedelta(hours=5) - minutes(1)
    rig.service.catch_up()
    rig.step()  # appends keep working after the rewrite
    assert_matches_exchange(rig, "BTC-USDT-SWAP")
    rig.close()


def test_store_estimate_rows(tmp_path: Path) -> None:
    store = CandleStore(tmp_path, HK)
    one = Decimal(1)
    store.append(
        "A-B", "1m", [Bar(MIDNIGHT + minutes(i), one, one, one, one, one, one, one) for i in range(500)]
    )

    assert 480 <= store.estimate_rows("A-B", "1m") <= 520
