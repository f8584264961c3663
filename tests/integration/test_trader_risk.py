"""Risk limits and the kill switch against the simulator (issue #16): a drawdown breach flattens
and halts and the halt survives a restart; ``--flatten`` / ``--resume`` as processes; the daily
loss limit allows closes only; notional clips; strategy weights; the bar lock a cycle holds."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from config.schema import RiskSettings, StrategySettings
from core.barlock import BarLock, lock_path
from notify.events import BarReport, Event, TradingAlert
from notify.service import RecordingNotifier
from simulator.server import RunningSimulator
from tests.integration.test_trader_helpers import T0, TraderRig
from trader.alerts import recent_alerts
from trader.context import build_context
from trader.halt import HaltStore
from trader.report import format_report
from trader.targets import TargetBook

MINUTE = timedelta(minutes=1)
BTC, ETH = "BTC-USDT-SWAP", "ETH-USDT-SWAP"
ROOT = Path(__file__).resolve().parents[2]


def reconfigure(rig: TraderRig, **account: Any) -> None:
    """Give the rig's account other settings (risk limits, strategies) and a fresh context."""
    acct = rig.cfg.accounts[rig.account].model_copy(update=account)
    rig.cfg = rig.cfg.model_copy(update={"accounts": {rig.account: acct}})
    restart(rig)


def restart(rig: TraderRig) -> None:
    """A new trader context on the same journal file, as after a process restart."""
    rig.ctx.close()
    rig.ctx = build_context(
        rig.cfg, rig.account, client=rig.client, public=rig.public, clock=rig.clock,
        notifier=rig.notifier, poll_s=0.5,
    )  # fmt: skip
    rig.preflight()


@pytest.fixture
def make_rig(sim: RunningSimulator, tmp_path: Path) -> Iterator[Any]:
    """Rigs on a fresh simulator per test (price overrides start at the simulator's "now")."""
    rigs: list[TraderRig] = []

    def make(**kwargs: Any) -> TraderRig:
        name = "r" + uuid.uuid4().hex[:10]
        risk = kwargs.pop("risk", None)
        rig = TraderRig(sim, tmp_path / name, account=name, **kwargs)
        rigs.append(rig)
        if risk is not None:
            reconfigure(rig, risk=RiskSettings(**risk))
        else:
            rig.preflight()
        rig.control.set_price(BTC, "50000")
        rig.control.set_price(ETH, "3000")
        return rig

    yield make
    for rig in rigs:
        rig.close()


def alerts(rig: TraderRig, kind: str) -> list[TradingAlert]:
    """The ``kind`` alerts notified — each also journaled (table ``alerts``, QA item 9)."""
    sent = [e for e in rig.events(TradingAlert) if e.kind == kind]
    journaled = [a for a in recent_alerts(rig.ctx.journal, 1000) if a.kind == kind]
    assert sorted(a.message for a in journaled) == sorted(e.detail for e in sent), kind
    return sent


def halted(rig: TraderRig) -> bool:
    store = HaltStore(rig.ctx.journal.path)
    try:
        return store.load().halted
    finally:
        store.close()


def test_drawdown_breach_flattens_halts_and_survives_a_restart(make_rig: Any) -> None:
    rig: TraderRig = make_rig(risk={"max_drawdown": "0.1"})
    rig.publish(T0, {BTC: 1})
    assert rig.run(T0).status == "done"
    assert rig.position(BTC) > 0
    rig.control.set_price(BTC, "46500")  # -7% on ~3x leverage: about -20% of equity
    bar2 = T0 + MINUTE
    rig.publish(bar2, {BTC: None})
    result = rig.run(bar2)
    assert result.status == "halted"
    assert rig.position(BTC) == 0
    assert halted(rig)
    assert alerts(rig, "risk_halt")
    assert "max drawdown" in alerts(rig, "risk_halt")[0].detail
    sent = len(rig.sim_orders())

    restart(rig)  # the trader restarts (systemd): the halt is in the journal
    bar3 = T0 + 2 * MINUTE
    rig.publish(bar3, {BTC: 1})
    again = rig.run(bar3)
    assert again.status == "halted"
    assert len(rig.sim_orders()) == sent  # reporting, not trading
    assert again.report is not None
    assert any("HALTED" in s for s in again.report.skipped)
    assert rig.ctx.journal.cycle(bar3).status == "skipped"  # type: ignore[union-attr]
    report = format_report(rig.ctx.journal, rig.account)
    assert "Risk: HALTED — max drawdown: equity" in report
    assert "flatten" in report


def _cli(rig: TraderRig, *flags: str) -> subprocess.CompletedProcess[str]:
    text = rig.cfg.source.read_text()
    path = rig.cfg.source.with_name("cli_config.py")
    path.write_text("import tests.integration.test_trader_strategy  # registers test_target\n" + text)
    return subprocess.run(
        [sys.executable, "-m", "trader", rig.account, "--config", str(path), *flags],
        capture_output=True, text=True, timeout=90, check=False, cwd=ROOT,
    )  # fmt: skip


def test_flatten_and_resume_commands(make_rig: Any) -> None:
    rig: TraderRig = make_rig(insts={BTC: 2, ETH: 2})
    rig.publish(T0, {BTC: 1, ETH: -1})
    rig.run(T0)
    assert rig.position(BTC) > 0
    assert rig.position(ETH) < 0

    flat = _cli(rig, "--flatten")
    assert flat.returncode == 0, flat.stderr
    assert "flattened" in flat.stdout
    assert rig.position(BTC) == 0
    assert rig.position(ETH) == 0
    assert halted(rig)

    bar2 = T0 + MINUTE
    rig.publish(bar2, {BTC: 1, ETH: 1})
    assert rig.run(bar2).status == "halted"  # the running trader honours the halt
    assert rig.position(BTC) == 0

    flat_targets = TargetBook(rig.ctx.journal).all()
    assert {i: (t.target, t.source) for i, t in flat_targets.items()} == {
        BTC: (0, "manual"),
        ETH: (0, "manual"),
    }

    res = _cli(rig, "--resume")
    assert res.returncode == 0, res.stderr
    assert "halt lifted" in res.stdout
    assert not halted(rig)
    quiet = T0 + 2 * MINUTE
    rig.publish(quiet, {BTC: None, ETH: None})  # resumed, no new signal: nothing is re-entered
    assert rig.run(quiet).status == "done"
    assert rig.position(BTC) == 0
    assert rig.position(ETH) == 0
    bar3 = T0 + 3 * MINUTE
    rig.publish(bar3, {BTC: 1, ETH: 1})
    assert rig.run(bar3).status == "done"
    assert rig.position(BTC) > 0
    store = HaltStore(rig.ctx.journal.path)
    try:
        assert [k for _, k, _ in store.events()] == ["halt", "flatten", "resume"]
    finally:
        store.close()


def test_daily_loss_limit_allows_closes_only(make_rig: Any) -> None:
    rig: TraderRig = make_rig(risk={"daily_loss": "0.05"})
    rig.publish(T0, {BTC: 1})
    rig.run(T0)
    assert rig.position(BTC) > 0
    rig.control.set_price(BTC, "48500")  # -3% on ~3x: about -9% of the day's opening equity
    bar2 = T0 + MINUTE
    rig.publish(bar2, {BTC: -1})  # reverse: the close runs, the new short does not
    result = rig.run(bar2)
    assert rig.position(BTC) == 0
    assert [o.leg_order.leg.kind for o in result.outcomes] == ["close"]
    assert any("daily loss limit" in s for s in result.skipped)
    assert len(alerts(rig, "risk_daily_loss")) == 1
    assert not halted(rig)


def test_max_notional_clips_the_order(make_rig: Any) -> None:
    rig: TraderRig = make_rig(risk={"max_notional": "2000"})
    rig.publish(T0, {BTC: 1})
    rig.run(T0)
    notional = rig.position(BTC) * Decimal("0.01") * Decimal(50000)
    assert 0 < notional <= 2000
    assert alerts(rig, "risk_clip")
    row = rig.ctx.journal.signals(T0)[BTC]
    assert "clipped" in row.reason  # journaled with the sized signal
    assert row.desired == rig.position(BTC)


def test_max_total_leverage_clips_across_instruments(make_rig: Any) -> None:
    rig: TraderRig = make_rig(insts={BTC: 3, ETH: 3}, risk={"max_total_leverage": "1"})
    rig.publish(T0, {BTC: 1})
    rig.run(T0)  # BTC: 1x of ~10,000 equity instead of its 3x-leveraged half (~14,700)
    btc = rig.position(BTC) * Decimal("0.01") * 50000
    assert Decimal(9000) < btc <= Decimal(10000)
    bar2 = T0 + MINUTE
    rig.publish(bar2, {BTC: None, ETH: 1})
    rig.run(bar2)  # ETH gets only what is left of 1x (a few USDT), not its ~14,700
    eth = rig.position(ETH) * Decimal("0.1") * 3000
    assert eth < Decimal(100)
    clips = [a.detail for a in alerts(rig, "risk_clip")]
    assert len(clips) == 2
    assert all("max total leverage 1x" in c for c in clips)


def test_strategy_weights_split_the_equity(make_rig: Any) -> None:
    rig: TraderRig = make_rig(insts={BTC: 2, ETH: 2})
    strategies = tuple(
        StrategySettings(inst_id=s.inst_id, name=s.name, leverage=s.leverage, params=s.params,
                         weight=Decimal(3) if s.inst_id == BTC else Decimal(1))
        for s in rig.cfg.accounts[rig.account].strategies
    )  # fmt: skip
    reconfigure(rig, strategies=strategies)
    rig.publish(T0, {BTC: 1, ETH: 1})
    rig.run(T0)
    btc = rig.position(BTC) * Decimal("0.01") * 50000
    eth = rig.position(ETH) * Decimal("0.1") * 3000
    assert btc / eth == pytest.approx(Decimal(3), rel=Decimal("0.02"))


class LockProbe(RecordingNotifier):
    """Notified inside the cycle (the bar report): is the account's bar lock free then?"""

    def __init__(self) -> None:
        super().__init__()
        self.path: Path | None = None
        self.free_during_cycle: list[bool] = []

    def notify(self, event: Event) -> None:
        if isinstance(event, BarReport) and self.path is not None:
            probe = BarLock(self.path)
            got = probe.try_acquire()
            probe.release()
            self.free_during_cycle.append(got)
        super().notify(event)


def test_a_cycle_holds_the_bar_lock_the_treasury_waits_for(make_rig: Any) -> None:
    probe = LockProbe()
    rig: TraderRig = make_rig(notifier=probe, notify="Notify(dingtalk=None, report_every_minutes=1)")
    probe.path = lock_path(rig.cfg.data_dir, rig.account)
    rig.publish(T0, {BTC: 1})
    rig.run(T0)
    assert probe.free_during_cycle == [False]  # mid-bar: locked
    between = BarLock(probe.path)
    assert between.try_acquire()  # between bars: free
    between.release()


def test_an_interrupted_flatten_is_finished_by_the_halted_trader(make_rig: Any) -> None:
    rig: TraderRig = make_rig()
    rig.publish(T0, {BTC: 1})
    rig.run(T0)
    assert rig.position(BTC) > 0
    store = HaltStore(rig.ctx.journal.path)
    try:  # --flatten halted the account, then died before closing anything
        store.halt("kill switch: --flatten", rig.clock.now())
        assert store.flatten_pending()
    finally:
        store.close()
    bar2 = T0 + MINUTE
    rig.publish(bar2, {BTC: 1})
    assert rig.run(bar2).status == "halted"
    assert rig.position(BTC) == 0
    store = HaltStore(rig.ctx.journal.path)
    try:
        assert not store.flatten_pending()
        assert store.load().halted
        assert [k for _, k, _ in store.events()] == ["halt", "flatten"]
    finally:
        store.close()
