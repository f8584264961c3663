"""Holes OKX never fills (issue 12, item 8) and revised bars (item 10), against the simulator's
candle edits: a base bar served by neither ``market/candles`` nor ``history-candles`` is filled flat
at the previous close with volume 0, recorded in the gap ledger, alerted, and replaced once OKX
serves it; a bar whose values OKX revises is repaired in the base CSV and the larger bins."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from collector.holes import flat_bar
from simulator.server import RunningSimulator
from tests.integration.test_collector_support import Rig, minutes, native_bars, started_rig

START = datetime(2024, 3, 1, 0, 0, 1, tzinfo=UTC)
MIDNIGHT = START - timedelta(seconds=1)
ACCOUNTS = {"a": ("1m", ["BTC-USDT-SWAP", "ETH-USDT-SWAP"]), "b": ("5m", ["ETH-USDT-SWAP", "SOL-USDT"])}
HK = "Asia/Shanghai"
ETH = "ETH-USDT-SWAP"


def ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


@pytest.fixture
def rig(sim_module: RunningSimulator, tmp_path: Path) -> Iterator[Rig]:
    with started_rig(sim_module, tmp_path, ACCOUNTS, START) as running:
        yield running


def ledger(rig: Rig) -> list[dict[str, str]]:
    path = rig.cfg.data_dir / "gaps.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []


def test_a_bar_okx_never_serves_is_filled_flat_recorded_and_later_replaced(rig: Rig) -> None:
    hole = MIDNIGHT + minutes(1)
    rig.sim.control.hide_candle(ETH, ms(hole))

    late = rig.step(2)  # close 00:02: the newest bar is missing, which may just be late
    assert late is not None
    assert not late.outcome("1m").statuses[ETH].ok
    assert ledger(rig) == []

    report = rig.step()  # close 00:03: 00:02 is served, history confirms 00:01 is not

    assert report is not None
    assert report.outcome("1m").statuses[ETH].ok
    rows = {b.ts: b for b in rig.csv(ETH)}
    assert rows[hole] == flat_bar(hole, rows[hole - minutes(1)].close)
    assert rows[hole].volume == 0
    entries = ledger(rig)
    assert [(e["inst_id"], e["interval"], e["ts"], e["replaced_at"]) for e in entries] == [
        (ETH, "1m", hole.isoformat(), None)
    ]
    assert Decimal(entries[0]["price"]) == rows[hole - minutes(1)].close
    assert [a.inst_id for a in rig.alerts("gap_filled")] == [ETH]
    for _ in range(2):
        rig.step()  # the 5m bar of 00:00 is derived over the filled minute
    five = rig.marker("5m", MIDNIGHT + minutes(5))
    assert five is not None
    assert five.is_ready(ETH)

    rig.sim.control.clear_candle_edits()  # OKX serves the bar after all
    housekeeping = rig.service.housekeeper.run(rig.clock.now())

    assert housekeeping.gaps_replaced == [(ETH, hole)]
    end = MIDNIGHT + minutes(5)
    assert rig.csv(ETH) == native_bars(rig.client, ETH, "1m", HK, rig.csv(ETH)[0].ts, end)
    assert rig.csv(ETH, "5m")[-1] == native_bars(rig.client, ETH, "5m", HK, MIDNIGHT, end)[0]
    assert ledger(rig)[0]["replaced_at"] is not None
    assert [a.inst_id for a in rig.alerts("gap_replaced")] == [ETH]
    assert rig.service.housekeeper.run(rig.clock.now() + timedelta(hours=2)).gaps_replaced == []


def test_a_newest_bar_that_never_comes_is_not_filled(rig: Rig) -> None:
    for m in range(1, 4):
        rig.sim.control.hide_candle(ETH, ms(MIDNIGHT + minutes(m)))

    report = rig.step(4)

    assert report is not None
    assert not report.outcome("1m").statuses[ETH].ok  # nothing served after the hole: an outage
    assert report.outcome("1m").statuses["BTC-USDT-SWAP"].ok
    assert ledger(rig) == []
    assert rig.csv(ETH)[-1].ts == MIDNIGHT - minutes(1)  # still before the hole


def test_revised_volume_is_repaired_in_the_base_and_derived_rows(rig: Rig) -> None:
    for _ in range(5):
        rig.step()
    revised = MIDNIGHT + minutes(2)
    before = {b.ts: b for b in rig.csv("SOL-USDT")}[revised]
    new_vol = str(before.volume + Decimal("1.5"))
    rig.sim.control.edit_candle("SOL-USDT", ms(revised), {"vol": new_vol})
    rig.sim.control.edit_candle("SOL-USDT", ms(MIDNIGHT), {"vol": "1"}, bar="5m")  # OKX's own 5m too

    report = rig.service.housekeeper.run(rig.clock.now())

    assert report.mismatched == {("SOL-USDT", "1m"): 1, ("SOL-USDT", "5m"): 1}
    assert {b.ts: b for b in rig.csv("SOL-USDT")}[revised].volume == Decimal(new_vol)
    five = rig.csv("SOL-USDT", "5m")[-1]
    assert five.ts == MIDNIGHT
    minute_bars = [b for b in rig.csv("SOL-USDT") if MIDNIGHT <= b.ts < MIDNIGHT + minutes(5)]
    assert five.volume == sum((b.volume for b in minute_bars), Decimal(0))
    kinds = {(a.inst_id, a.interval) for a in rig.alerts("verification_mismatch")}
    assert kinds == {("SOL-USDT", "1m"), ("SOL-USDT", "5m")}


def test_a_revision_older_than_the_base_window_is_found_through_okx_own_larger_bar(
    sim_module: RunningSimulator, tmp_path: Path
) -> None:
    """verify_bars is 30 1m rows; a 1m bar 40 minutes old is revised (and OKX's 5m bar with it)."""
    longer = "history_bars=60, confirm_retry_s=5"
    with started_rig(sim_module, tmp_path, ACCOUNTS, START, collector=longer) as rig:
        revised = MIDNIGHT - minutes(40)
        rows = {b.ts: b for b in rig.csv("SOL-USDT")}
        five = {b.ts: b for b in rig.csv("SOL-USDT", "5m")}[revised]
        delta = Decimal("2.5")
        rig.sim.control.edit_candle("SOL-USDT", ms(revised), {"vol": str(rows[revised].volume + delta)})
        rig.sim.control.edit_candle("SOL-USDT", ms(revised), {"vol": str(five.volume + delta)}, bar="5m")

        report = rig.service.housekeeper.run(rig.clock.now())

        assert report.mismatched == {("SOL-USDT", "1m"): 1, ("SOL-USDT", "5m"): 1}
        assert {b.ts: b for b in rig.csv("SOL-USDT")}[revised].volume == rows[revised].volume + delta
        assert {b.ts: b for b in rig.csv("SOL-USDT", "5m")}[revised].volume == five.volume + delta
        assert rig.csv("SOL-USDT", "5m") == native_bars(
            rig.client, "SOL-USDT", "5m", HK, rig.csv("SOL-USDT", "5m")[0].ts, MIDNIGHT
        )
