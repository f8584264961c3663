"""Every resampled interval equals the simulator's native bars, field for field, in both candle
timezones (``Asia/Shanghai`` = OKX ``6H/12H/1D``; ``UTC`` = ``6Hutc/12Hutc/1Dutc``) — after the
start-up backfill and after live cycles through a day close."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.intervals import okx_bar, parse_interval
from simulator.server import RunningSimulator, start_background
from tests.integration.test_collector_support import make_rig, minutes, native_bars

INTERVALS = ("5m", "15m", "1h", "4h", "6h", "12h", "1d")
INSTS = ["BTC-USDT-SWAP", "ETH-USDT"]
ACCOUNTS = {f"acct{iv}": (iv, INSTS) for iv in INTERVALS}


@pytest.fixture
def sim(sim_module: RunningSimulator) -> Iterator[RunningSimulator]:
    sim_module.control.reset()
    yield sim_module
    sim_module.control.reset()


@pytest.mark.parametrize(
    ("tz", "day_close"),
    [
        ("Asia/Shanghai", datetime(2024, 3, 5, 16, 0, tzinfo=UTC)),  # midnight UTC+8
        ("UTC", datetime(2024, 3, 6, 0, 0, tzinfo=UTC)),
    ],
)
def test_every_interval_equals_native_bars(
    sim: RunningSimulator, tmp_path: Path, tz: str, day_close: datetime
) -> None:
    start = day_close - minutes(15) + minutes(1 / 60)  # 15 minutes before the day closes
    rig = make_rig(sim, tmp_path, ACCOUNTS, start, tz=tz, collector="history_bars=3, confirm_retry_s=5")
    rig.service.start_up()

    reports = [rig.step() for _ in range(3)]  # 5m closes up to and including the day close

    last = reports[-1]
    assert last is not None
    assert last.close == day_close
    assert [o.interval.name for o in last.outcomes] == list(INTERVALS)  # everything closes together
    for outcome in last.outcomes:
        assert outcome.ok == sorted(INSTS), (outcome.interval, outcome.failed)
        marker = rig.marker(outcome.interval.name, day_close)
        assert marker is not None
        assert all(marker.is_ready(i) for i in INSTS)
    for iv in INTERVALS:
        interval = parse_interval(iv)
        for inst in INSTS:
            rows = rig.csv(inst, iv)
            assert rows[-1].ts == day_close - interval.delta, (inst, iv)
            expected = native_bars(rig.client, inst, iv, tz, rows[0].ts, day_close)
            assert len(rows) >= 3, (inst, iv)  # history_bars of every interval
            assert rows == expected, f"{inst} {iv} ({okx_bar(iv, tz)}) differs from the exchange"
    rig.close()


def test_the_two_timezones_give_different_day_bars(sim: RunningSimulator, tmp_path: Path) -> None:
    """Sanity check of the test itself: HK and UTC day bars really differ (16:00 vs 00:00 UTC)."""
    rig = make_rig(sim, tmp_path, {"a": ("1d", ["BTC-USDT-SWAP"])}, datetime(2024, 3, 6, 1, tzinfo=UTC))
    hk = native_bars(rig.client, "BTC-USDT-SWAP", "1d", "Asia/Shanghai", datetime(2024, 3, 3, tzinfo=UTC),
                     datetime(2024, 3, 6, tzinfo=UTC))  # fmt: skip
    utc = native_bars(rig.client, "BTC-USDT-SWAP", "1d", "UTC", datetime(2024, 3, 3, tzinfo=UTC),
                      datetime(2024, 3, 6, tzinfo=UTC))  # fmt: skip

    assert [b.ts.hour for b in hk] == [16, 16]  # the 5th's 16:00 bar is still forming at 6th 01:00
    assert [b.ts.hour for b in utc] == [0, 0, 0]
    assert hk[0].close != utc[0].close
    rig.close()


def test_a_thin_instrument_with_tradeless_minutes_derives_okx_bars(tmp_path: Path) -> None:
    """Issue 12, item 9 end to end: the simulator's thin synthetic swap has minutes without trades
    (flat, volume 0); the collector's 5m bars over them equal the simulator's own 5m bars."""
    inst = "S001-USDT-SWAP"
    start = datetime(2024, 3, 1, 0, 0, 1, tzinfo=UTC)
    with start_background(seed=7, extra_instruments=1, rate_limits=False) as thin_sim:
        rig = make_rig(thin_sim, tmp_path, {"a": ("1m", [inst]), "b": ("5m", [inst])}, start,
                       collector="history_bars=200, confirm_retry_s=5")  # fmt: skip
        rig.service.start_up()
        for _ in range(5):
            rig.step()
        ones, fives = rig.csv(inst, "1m"), rig.csv(inst, "5m")
        flat = [b for b in ones if b.volume == 0]
        assert flat, "the thin instrument had no trade-less minute in 200 minutes"
        assert all(b.open == b.high == b.low == b.close for b in flat)
        touched = {b.ts - minutes(b.ts.minute % 5) for b in flat}
        derived = [b for b in fives if b.ts >= ones[0].ts and b.ts in touched]
        assert derived, "no 5m bar was derived over a trade-less minute"
        assert fives == native_bars(rig.client, inst, "5m", "Asia/Shanghai", fives[0].ts, start + minutes(5))
        rig.close()
