"""Sanity at the edge in the collector (issue 12, item 11): an impossible candle fails that
instrument for that bar (named, alerted, never stored); duplicated CSV rows are repaired at start-up
and by housekeeping."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from simulator.server import RunningSimulator
from tests.integration.test_collector_support import Rig, minutes, native_bars, started_rig

START = datetime(2024, 3, 1, 0, 0, 1, tzinfo=UTC)
MIDNIGHT = START - timedelta(seconds=1)
ACCOUNTS = {"a": ("1m", ["BTC-USDT-SWAP", "ETH-USDT-SWAP"]), "b": ("5m", ["ETH-USDT-SWAP", "SOL-USDT"])}
HK = "Asia/Shanghai"
SOL = "SOL-USDT"


@pytest.fixture
def rig(sim_module: RunningSimulator, tmp_path: Path) -> Iterator[Rig]:
    with started_rig(sim_module, tmp_path, ACCOUNTS, START) as running:
        yield running


@pytest.mark.parametrize(
    ("fields", "why"),
    [({"h": "1", "l": "2"}, "high 1 < low 2"), ({"o": "0"}, "open 0 is not a positive price"),
     ({"vol": "-3"}, "negative vol -3")],
)
def test_an_impossible_candle_fails_its_instrument_for_that_bar(
    rig: Rig, fields: dict[str, str], why: str
) -> None:
    bar = MIDNIGHT
    rig.sim.control.edit_candle(SOL, int(bar.timestamp() * 1000), fields)

    report = rig.step()

    assert report is not None
    base = report.outcome("1m")
    assert base.ok == ["BTC-USDT-SWAP", "ETH-USDT-SWAP"]
    assert "impossible SOL-USDT 1m candle" in base.failed[SOL]
    assert why in base.failed[SOL]
    assert rig.csv(SOL)[-1].ts == bar - minutes(1)  # never stored
    assert [a.inst_id for a in rig.alerts("instrument_failed")] == [SOL]

    rig.sim.control.clear_candle_edits()  # the exchange serves a sane bar again
    report = rig.step()
    assert report is not None
    assert report.outcome("1m").ok == sorted(["BTC-USDT-SWAP", "ETH-USDT-SWAP", SOL])
    assert rig.csv(SOL) == native_bars(rig.client, SOL, "1m", HK, rig.csv(SOL)[0].ts, MIDNIGHT + minutes(2))


def _duplicate_line(path: Path, index: int) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(index + 1, lines[index])
    path.write_text("".join(lines), encoding="utf-8")


def test_a_duplicated_last_row_is_repaired_at_start_up(rig: Rig) -> None:
    rig.step()
    expected = rig.csv("ETH-USDT-SWAP")
    path = rig.service.store.path("ETH-USDT-SWAP", "1m")
    _duplicate_line(path, len(path.read_text(encoding="utf-8").splitlines()) - 1)
    assert len(rig.csv("ETH-USDT-SWAP")) == len(expected) + 1
    rig.service.close()

    restarted = rig.new_service()
    report = restarted.backfill()

    assert report.duplicates_removed == {("ETH-USDT-SWAP", "1m"): 1}
    assert rig.csv("ETH-USDT-SWAP") == expected
    restarted.close()


def test_duplicated_rows_are_alerted_at_start_up_and_repaired_by_housekeeping(rig: Rig) -> None:
    rig.service.close()
    path = rig.service.store.path(SOL, "5m")
    expected = rig.csv(SOL, "5m")
    _duplicate_line(path, 3)
    restarted = rig.new_service()
    restarted.start_up()
    assert rig.csv(SOL, "5m") == expected
    assert [(a.inst_id, a.interval) for a in rig.alerts("duplicate_rows")] == [(SOL, "5m")]

    _duplicate_line(rig.service.store.path("BTC-USDT-SWAP", "1m"), 20)
    report = restarted.housekeeper.run(rig.clock.now())

    assert report.duplicates_removed == {("BTC-USDT-SWAP", "1m"): 1}
    rows = rig.csv("BTC-USDT-SWAP")
    assert len({b.ts for b in rows}) == len(rows)
    assert [(a.inst_id, a.interval) for a in rig.alerts("duplicate_rows")][-1] == ("BTC-USDT-SWAP", "1m")
    restarted.close()
