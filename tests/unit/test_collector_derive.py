"""``collector.derive``: larger-interval CSVs built from the base CSV on disk (tmp dir, no network)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from collector.derive import derive
from collector.plan import CollectPlan
from core.bars import Bar
from core.intervals import parse_interval
from core.resample import resample
from core.store import CandleStore

M5, H1, H6 = parse_interval("5m"), parse_interval("1h"), parse_interval("6h")
T0 = datetime(2024, 3, 1, tzinfo=UTC)
INST = "BTC-USDT-SWAP"


def base_bars(start: datetime, count: int, step: timedelta = timedelta(minutes=5)) -> list[Bar]:
    rng = random.Random(3)
    out = []
    for i in range(count):
        o = Decimal(rng.randint(900, 1100))
        c = Decimal(rng.randint(900, 1100))
        out.append(
            Bar(
                start + step * i,
                o,
                max(o, c) + 1,
                min(o, c) - 1,
                c,
                Decimal(rng.randint(0, 50)),
                Decimal(1),
                Decimal(rng.randint(0, 500)),
            )
        )
    return out


@pytest.fixture
def store(tmp_path: Path) -> CandleStore:
    return CandleStore(tmp_path, "Asia/Shanghai")


@pytest.fixture
def plan() -> CollectPlan:
    return CollectPlan(tz="Asia/Shanghai", instruments={M5: (INST,), H1: (INST,), H6: (INST,)})


def test_missing_file_is_built_from_base(store: CandleStore, plan: CollectPlan) -> None:
    bars = base_bars(T0 + timedelta(minutes=30), 12 * 5)  # 00:30 .. 05:25
    store.append(INST, M5, bars)

    result = derive(store, plan, INST, H1, T0 + timedelta(hours=4), rebuild_bars=10_000)

    assert result.ok
    assert result.rebuilt
    assert store.read_all(INST, H1) == resample(bars, M5, H1, plan.tz)
    assert [b.ts for b in store.read_all(INST, H1)] == [T0 + timedelta(hours=h) for h in range(1, 5)]


def test_append_only_the_new_bar(store: CandleStore, plan: CollectPlan) -> None:
    bars = base_bars(T0, 12 * 3)
    store.append(INST, M5, bars[:24])
    derive(store, plan, INST, H1, T0 + timedelta(hours=1), rebuild_bars=10_000)
    store.append(INST, M5, bars[24:])

    result = derive(store, plan, INST, H1, T0 + timedelta(hours=2), rebuild_bars=10_000)

    assert result.ok
    assert result.added == 1
    assert not result.rebuilt
    assert store.read_all(INST, H1) == resample(bars, M5, H1, plan.tz)


def test_catch_up_several_bars_after_downtime(store: CandleStore, plan: CollectPlan) -> None:
    bars = base_bars(T0, 12 * 10)
    store.append(INST, M5, bars[:12])
    derive(store, plan, INST, H1, T0, rebuild_bars=10_000)
    store.append(INST, M5, bars[12:])

    result = derive(store, plan, INST, H1, T0 + timedelta(hours=9), rebuild_bars=10_000)

    assert result.ok
    assert result.added == 9
    assert store.read_all(INST, H1) == resample(bars, M5, H1, plan.tz)


def test_incomplete_base_is_an_error_not_a_partial_bar(store: CandleStore, plan: CollectPlan) -> None:
    """Bug 10: a bar is derived only from all of its base bars."""
    bars = base_bars(T0, 12 + 11)  # the 01:00 hour lacks its last 5m bar
    store.append(INST, M5, bars)

    result = derive(store, plan, INST, H1, T0 + timedelta(hours=1), rebuild_bars=10_000)

    assert not result.ok
    assert "incomplete" in (result.error or "")
    assert [b.ts for b in store.read_all(INST, H1)] == [T0]


def test_up_to_date_file_is_left_alone(store: CandleStore, plan: CollectPlan) -> None:
    store.append(INST, M5, base_bars(T0, 24))
    derive(store, plan, INST, H1, T0 + timedelta(hours=1), rebuild_bars=10_000)
    before = store.path(INST, H1).stat().st_mtime_ns

    result = derive(store, plan, INST, H1, T0 + timedelta(hours=1), rebuild_bars=10_000)

    assert result.ok
    assert result.added == 0
    assert store.path(INST, H1).stat().st_mtime_ns == before


def test_hk_aligned_6h_from_base(store: CandleStore, plan: CollectPlan) -> None:
    bars = base_bars(T0, 12 * 24)  # one UTC day: HK 6h bars open 04:00, 10:00, 16:00 (22:00 partial)
    store.append(INST, M5, bars)

    result = derive(store, plan, INST, H6, T0 + timedelta(hours=16), rebuild_bars=10_000)

    assert result.ok
    assert [b.ts for b in store.read_all(INST, H6)] == [T0 + timedelta(hours=h) for h in (4, 10, 16)]


def test_base_no_longer_covering_the_file_triggers_a_rebuild(store: CandleStore, plan: CollectPlan) -> None:
    old = base_bars(T0, 12 * 2)
    store.append(INST, M5, old)
    derive(store, plan, INST, H1, T0 + timedelta(hours=1), rebuild_bars=10_000)
    # the base file is replaced by one starting later (e.g. cut by max_csv_rows), hours 05:00-08:00
    newer = base_bars(T0 + timedelta(hours=5), 12 * 3)
    store.rewrite(INST, M5, newer)

    result = derive(store, plan, INST, H1, T0 + timedelta(hours=7), rebuild_bars=10_000)

    assert result.ok
    assert result.rebuilt
    assert [b.ts for b in store.read_all(INST, H1)] == [T0 + timedelta(hours=h) for h in (5, 6, 7)]
