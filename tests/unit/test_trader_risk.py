"""Risk limits (pure), the halt store on a real journal file, and the bar lock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest

from config.schema import RiskSettings
from core.barlock import BarLock, LockTimeout
from core.clock import FakeClock
from trader.halt import HaltStore
from trader.journal import Journal
from trader.risk import RiskState, clip_size, evaluate, net_transfers

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_no_limits_trade_and_track_the_peak() -> None:
    v = evaluate(RiskSettings(), RiskState(), D(1000), NOW)
    assert v.action == "trade"
    assert v.state.peak == D(1000)
    assert v.state.day_open == D(1000)
    v2 = evaluate(RiskSettings(), v.state, D(1200), NOW)
    assert v2.state.peak == D(1200)
    assert v2.state.day_open == D(1000)


@pytest.mark.parametrize(("equity", "action"), [(D(901), "trade"), (D(900), "halt"), (D(500), "halt")])
def test_drawdown_from_the_peak_halts(equity: D, action: str) -> None:
    limits = RiskSettings(max_drawdown=D("0.1"))
    v = evaluate(limits, RiskState(peak=D(1000), day=NOW.date(), day_open=D(950)), equity, NOW)
    assert v.action == action
    if action == "halt":
        assert "max drawdown 10%" in v.detail


def test_daily_loss_counts_from_the_utc_days_open_and_resets_next_day() -> None:
    limits = RiskSettings(daily_loss=D("0.05"))
    state = RiskState(peak=D(1000), day=NOW.date(), day_open=D(1000))
    assert evaluate(limits, state, D(951), NOW).action == "trade"
    hit = evaluate(limits, state, D(950), NOW)
    assert hit.action == "no_new_exposure"
    assert "00:00 UTC" in hit.detail
    tomorrow = evaluate(limits, hit.state, D(950), NOW + timedelta(days=1))
    assert tomorrow.action == "trade"
    assert tomorrow.state.day_open == D(950)


def test_evaluate_needs_aware_time() -> None:
    with pytest.raises(ValueError, match="aware"):
        evaluate(RiskSettings(), RiskState(), D(1), datetime(2026, 1, 1))  # noqa: DTZ001


@pytest.mark.parametrize(
    ("limits", "other", "expected"),
    [
        (RiskSettings(), D(0), D(10)),
        (RiskSettings(max_notional=D(2000)), D(0), D(4)),  # 4 x 500
        (RiskSettings(max_total_leverage=D(2)), D(0), D(10)),  # 2 x 10000 = 40 contracts of room
        (RiskSettings(max_total_leverage=D(2)), D(18000), D(4)),  # 2,000 of room left
        (RiskSettings(max_total_leverage=D(1)), D(20000), D(0)),
    ],
)
def test_clip_size(limits: RiskSettings, other: D, expected: D) -> None:
    clip = clip_size(limits, "BTC-USDT-SWAP", D(10), price=D(50000), contract_value=D("0.01"),
                     lot_sz=D(1), equity=D(10000), other_notional=other)  # fmt: skip
    assert clip.size == expected
    assert clip.clipped == (expected != D(10))


def test_halt_store_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "acct.sqlite"
    Journal(path).close()
    store = HaltStore(path)
    store.save(RiskState(D(1000), NOW.date(), D(990)), NOW)
    store.halt("max drawdown", NOW)
    store.close()
    again = HaltStore(path)
    state = again.load()
    assert state.halted
    assert state.reason == "max drawdown"
    assert state.peak == D(1000)
    previous = again.resume(NOW)
    assert previous.halted
    assert again.load() == RiskState()
    assert [k for _, k, _ in again.events()] == ["halt", "resume"]
    again.close()


def test_bar_lock_excludes_other_holders_and_times_out(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    first, second = BarLock(tmp_path / "a.lock"), BarLock(tmp_path / "a.lock")
    assert first.try_acquire()
    assert not second.try_acquire()
    assert not second.acquire(clock, timeout_s=1.0)  # sleeps on the fake clock, no wall time
    assert clock.now() >= NOW + timedelta(seconds=1)
    with pytest.raises(LockTimeout), second.hold(clock, 0.2):
        pass
    first.release()
    with second.hold(clock, 0.2):
        assert second.held
    assert not second.held


def test_transfers_move_the_peak_and_the_days_open_not_the_verdict() -> None:
    limits = RiskSettings(max_drawdown=D("0.2"), daily_loss=D("0.05"))
    state = RiskState(peak=D(10000), day=NOW.date(), day_open=D(10000))
    assert evaluate(limits, state, D(7000), NOW).action == "halt"  # raw equity: a 30% "loss"
    out = evaluate(limits, state, D(7000), NOW, transfers=D(-3000))
    assert out.action == "trade"
    assert (out.state.peak, out.state.day_open) == (D(7000), D(7000))
    inflow = evaluate(limits, state, D(11000), NOW, transfers=D(3000))  # 13,000 - a 2,000 loss
    assert inflow.action == "no_new_exposure"
    assert inflow.state.peak == D(13000)
    assert net_transfers(RiskState(), D(5)) == RiskState()  # nothing measured yet: nothing to move


def test_halt_store_keeps_the_transfer_bill_cursor(tmp_path: Path) -> None:
    path = tmp_path / "acct.sqlite"
    Journal(path).close()
    store = HaltStore(path)
    assert store.load().bills_seen is None
    store.save(RiskState(D(1000), NOW.date(), D(990), bills_seen="600000007"), NOW)
    store.halt("max drawdown", NOW)
    assert store.load().bills_seen == "600000007"
    store.resume(NOW)
    assert store.load().bills_seen is None  # the peak restarts: so does the netting
    store.close()
