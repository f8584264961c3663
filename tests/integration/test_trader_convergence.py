"""Issue 12 against the simulator: positions converge to standing targets, nothing is silent.

Standing targets (item 1), late registration swept in (item 3), orders only while their bar is
current (item 4), immediate journaled alerts (item 5), pause instead of exit (item 6), untraded
bars journaled (item 7), no SQLite write transaction across a network call (item 14).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from config.credentials import Credentials, simulator_credentials
from exchange import make_account_client
from exchange.records import OrderRequest
from notify.events import BarReport, TradingAlert
from notify.service import RecordingNotifier
from simulator.server import RunningSimulator
from tests.integration.test_trader_helpers import T0, TraderRig, config_text, register_account, rig_pool
from trader.__main__ import main
from trader.alerts import recent_alerts
from trader.clordid import make_cl_ord_id
from trader.cycle import _record_decisions
from trader.journal import OrderIntent
from trader.service import TraderService
from trader.signals import Decision
from trader.state import fetch_state

MINUTE = timedelta(minutes=1)
BTC = "BTC-USDT-SWAP"
POST_FAILS = {"kind": "http_503", "path": "/api/v5/trade/*order*", "method": "POST"}


@pytest.fixture
def make_rig(sim_module: RunningSimulator, tmp_path: Path) -> Iterator[Any]:
    with rig_pool(sim_module, tmp_path, "v") as make:
        yield make
        sim_module.control.clear_faults()


def posts(rig: TraderRig) -> list[dict[str, Any]]:
    return [r for r in rig.control.requests(path="/api/v5/trade/order") if r["method"] == "POST"]


def alerts(rig: TraderRig) -> list[str]:
    return [a.kind for a in rig.events(TradingAlert)]


def test_a_failed_exit_is_retried_while_the_strategy_says_none(make_rig: Any) -> None:
    """The issue's repro: long, the close fails all bar, next bar the strategy returns None."""
    rig: TraderRig = make_rig()
    rig.publish(T0, {BTC: 1})
    rig.run(T0)
    assert rig.position(BTC) > 0
    rig.control.set_faults([POST_FAILS])
    rig.publish(T0 + MINUTE, {BTC: 0})
    failed = rig.run(T0 + MINUTE)
    assert rig.position(BTC) > 0  # every attempt of the close failed
    assert failed.outcomes[0].error is not None
    rig.control.clear_faults()

    rig.publish(T0 + 2 * MINUTE, {BTC: None})
    healed = rig.run(T0 + 2 * MINUTE)

    assert [o.leg_order.leg.kind for o in healed.outcomes] == ["close"]
    assert rig.position(BTC) == 0
    standing = rig.ctx.targets.get(BTC)
    assert standing is not None
    assert (standing.target, standing.source, standing.misses) == (0, "strategy", 0)


def test_set_target_by_hand_and_show_targets(make_rig: Any, capsys: pytest.CaptureFixture[str]) -> None:
    rig: TraderRig = make_rig()
    config = str(rig.cfg.journal_dir.parent.parent / "config.py")
    rig.publish(T0, {BTC: 1})
    rig.run(T0)
    assert rig.position(BTC) > 0

    assert main([rig.account, "--config", config, "--set-target", BTC, "0"]) == 0
    assert main([rig.account, "--config", config, "--set-target", "ETH-USDT-SWAP", "1"]) == 2
    assert main([rig.account, "--config", config, "--set-target", BTC, "2"]) == 2
    assert main([rig.account, "--config", config, "--targets"]) == 0
    out = capsys.readouterr().out
    assert "flat (0)" in out
    assert "manual" in out

    rig.publish(T0 + MINUTE, {BTC: None})
    rig.run(T0 + MINUTE)
    assert rig.position(BTC) == 0  # the trader owns the position: the manual target is traded


def test_an_order_registered_late_is_swept_into_the_journal(make_rig: Any) -> None:
    """The journal says not_placed, but OKX executed the request late: the next cycle catches up."""
    rig: TraderRig = make_rig()
    cl = make_cl_ord_id(rig.account, BTC, T0, "open", 0)
    intent = OrderIntent(cl, T0, BTC, "open", 0, "buy", None, "market", "cross", Decimal(1), None, None)
    rig.ctx.journal.record_intents([intent], rig.clock.now())
    rig.ctx.journal.mark_not_placed(cl, rig.clock.now())
    rig.client.place_order(OrderRequest(BTC, "cross", "buy", "market", Decimal(1), cl))  # the late arrival

    rig.publish(T0 + MINUTE, {BTC: None})
    rig.run(T0 + MINUTE)

    row = rig.ctx.journal.order(cl)
    assert row is not None
    assert (row.status, row.state, row.acc_fill_sz) == ("done", "filled", Decimal(1))
    assert [f["cl_ord_id"] for f in rig.ctx.journal.query("SELECT cl_ord_id FROM fills")] == [cl]
    assert "late_registration" in alerts(rig)


def test_a_stray_ox_order_is_cancelled(make_rig: Any) -> None:
    rig: TraderRig = make_rig()
    stray = make_cl_ord_id(rig.account, BTC, T0 - MINUTE, "open", 7)
    px = (rig.price(BTC) * Decimal("0.8")).quantize(Decimal("0.1"))
    rig.client.place_order(OrderRequest(BTC, "cross", "buy", "limit", Decimal(1), stray, px=px))
    rig.publish(T0, {BTC: None})
    rig.run(T0)
    assert rig.control.orders(cl_ord_id=stray)[0]["state"] == "canceled"
    assert "unjournaled_order" in alerts(rig)


def test_orders_are_worked_only_while_their_bar_is_current(make_rig: Any) -> None:
    rig: TraderRig = make_rig(trader={"order_wait_s": 5, "reprice_attempts": 3})
    far = (rig.price(BTC) * Decimal("0.9")).quantize(Decimal("0.1"))  # buy limits rest
    rig.publish(T0, {BTC: 1}, closes={BTC: far})
    result = rig.run(T0, delay_s=50)  # 10 s before the next close; the next cycle is due then
    ours = rig.sim_orders()
    assert len(ours) == 1  # no re-pricing round after the bar stopped being current
    assert result.outcomes[0].late
    assert all(o["state"] == "canceled" for o in ours)
    assert rig.clock.now() < T0 + MINUTE + timedelta(seconds=15)  # the cancel settles, nothing more


def test_marker_late_is_journaled_and_alerted(make_rig: Any) -> None:
    rig: TraderRig = make_rig(trader={"marker_deadline_s": 5})
    result = rig.run(T0, delay_s=10)
    assert result.status == "skipped"
    assert "bar_skipped" in alerts(rig)
    assert rig.ctx.journal.cycle(T0).status == "skipped"  # type: ignore[union-attr]
    assert [r.kind for r in recent_alerts(rig.ctx.journal)] == ["bar_skipped"]


def test_bars_missed_while_down_are_journaled_and_alerted(make_rig: Any) -> None:
    rig: TraderRig = make_rig(trader={"marker_deadline_s": 5})
    rig.publish(T0, {BTC: 1})
    rig.run(T0)
    rig.clock.set(T0 + 5 * MINUTE + timedelta(seconds=30))  # "restarted" 4.5 bars later
    service = TraderService(rig.ctx)
    assert service.catch_up() is None
    skipped = rig.ctx.journal.query("SELECT bar_close, reason FROM cycles WHERE status = 'skipped'")
    assert [r["bar_close"] for r in skipped] == [(T0 + n * MINUTE).isoformat() for n in range(1, 6)]
    assert "not running" in skipped[0]["reason"]
    assert "marker deadline" in skipped[-1]["reason"]
    assert alerts(rig).count("bar_skipped") == 2  # one per run of missed bars


def test_keys_refused_after_start_pause_trading_and_the_process_stays_up(make_rig: Any) -> None:
    rig: TraderRig = make_rig()
    good = rig.ctx.client
    creds = simulator_credentials(rig.account)
    bad = make_account_client(
        rig.cfg.exchange, Credentials(creds.api_key, "wrong-secret-0000", creds.passphrase), rig.clock
    )
    paused: list[TradingAlert] = []

    class Watch:
        def notify(self, event: Any) -> None:
            rig.notifier.notify(event)
            if isinstance(event, TradingAlert) and event.kind == "trading_paused":
                paused.append(event)
                if len(paused) == 3:
                    rig.ctx.client = good  # the keys work again

        def close(self) -> None:
            pass

    rig.ctx.alert.notifier = Watch()
    rig.ctx.client = bad
    rig.publish(T0, {BTC: 1})
    rig.clock.set(T0 + timedelta(seconds=2))
    service = TraderService(rig.ctx)
    assert service.run_bar(T0) is None  # the bar failed ...
    bad.close()
    assert len(paused) == 3  # ... alerted on each retry, with backoff, until the keys worked
    assert "50113" in paused[0].detail
    assert rig.ctx.journal.cycle(T0).status == "failed"  # type: ignore[union-attr]
    assert not service.stop.is_set()
    rig.publish(T0 + MINUTE, {BTC: 1})
    rig.clock.set(T0 + MINUTE + timedelta(seconds=2))
    assert service.run_bar(T0 + MINUTE) is not None  # trading again
    assert rig.position(BTC) > 0


class TxGuard:
    """The real client; every call asserts no journal write transaction is open."""

    def __init__(self, rig: TraderRig) -> None:
        self.inner = rig.client
        self.rig = rig
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def guarded(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            assert not self.rig.ctx.journal._db.in_transaction, f"{name} called inside a journal transaction"
            return attr(*args, **kwargs)

        return guarded


def test_no_journal_transaction_is_held_across_a_network_call(make_rig: Any) -> None:
    rig: TraderRig = make_rig(trader={"order_wait_s": 2, "reprice_attempts": 1})
    guard = TxGuard(rig)
    rig.ctx.client = guard  # type: ignore[assignment]
    rig.ctx.tracker.client = guard  # type: ignore[assignment]
    rig.ctx.executor.client = guard  # type: ignore[assignment]
    rig.control.set_faults(
        [{"kind": "lost_response", "path": "/api/v5/trade/order", "method": "POST", "count": 1}]
    )
    far = (rig.price(BTC) * Decimal("0.95")).quantize(Decimal("0.1"))
    rig.publish(T0, {BTC: 1}, closes={BTC: far})  # rests, is polled, cancelled and re-priced
    rig.run(T0)
    rig.publish(T0 + MINUTE, {BTC: None})
    rig.run(T0 + MINUTE)
    assert guard.calls > 10


@pytest.mark.parametrize("content", [b"", b"garbage" * 200], ids=["empty", "corrupt"])
def test_a_bad_journal_stops_start_up_with_exit_3(
    sim_module: RunningSimulator, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    name = "j" + uuid.uuid4().hex[:10]
    register_account(sim_module.control, name, balance="100", pos_mode="net")
    path = tmp_path / "config.py"
    path.write_text(config_text(sim_module.base_url, tmp_path / "data", name, {BTC: 2}), encoding="utf-8")
    journal = tmp_path / "data" / "journal" / f"{name}.sqlite"
    journal.parent.mkdir(parents=True)
    journal.write_bytes(content)

    assert main([name, "--config", str(path), "--once"]) == 3
    assert main([name, "--config", str(path), "--report"]) == 3

    err = capsys.readouterr().err
    assert str(journal) in err
    assert "Traceback" not in err
    assert journal.read_bytes() == content  # never replaced by a fresh history


def test_a_strategy_error_is_alerted_at_once(make_rig: Any) -> None:
    rig: TraderRig = make_rig()
    rig.ctx.journal.start_cycle(T0, "1m", rig.clock.now())
    state = fetch_state(rig.client, rig.ctx.instruments, "cross", "USDT")
    failed = Decision(BTC, "test_target", skipped="StrategyError: test_target on BTC-USDT-SWAP: boom")
    _record_decisions(rig.ctx, T0, [failed], state)
    (alert,) = rig.events(TradingAlert)
    assert (alert.kind, alert.inst_id) == ("strategy_error", BTC)
    assert "boom" in alert.detail
    assert [r.kind for r in recent_alerts(rig.ctx.journal)] == ["strategy_error"]


def test_a_bar_overrun_by_the_previous_cycle_is_journaled_and_alerted(make_rig: Any) -> None:
    holder: list[Any] = []

    class Overrun(RecordingNotifier):
        def notify(self, event: Any) -> None:
            super().notify(event)
            if not isinstance(event, BarReport):
                return
            rig, service = holder
            if len([e for e in self.events if isinstance(e, BarReport)]) == 1:
                rig.clock.advance(90)  # the first cycle ran past the next close
                rig.publish(T0 + 2 * MINUTE, {BTC: None})
            else:
                service.stop.set()

    rig: TraderRig = make_rig(notifier=Overrun(), trader={"marker_deadline_s": 8})
    rig.publish(T0, {BTC: 1})
    service = TraderService(rig.ctx)
    holder.extend([rig, service])
    assert service.run() == 0
    cycles = {
        r["bar_close"]: (r["status"], r["reason"]) for r in rig.ctx.journal.query("SELECT * FROM cycles")
    }
    assert cycles[(T0 + MINUTE).isoformat()][0] == "skipped"
    assert "overrun" in cycles[(T0 + MINUTE).isoformat()][1]
    assert cycles[(T0 + 2 * MINUTE).isoformat()][0] == "done"
    skipped = [a for a in rig.events(TradingAlert) if a.kind == "bar_skipped"]
    assert len(skipped) == 1
    assert "overrun" in skipped[0].detail


# ---- QA defect 6: failed orders alerted at once; level-style strategies back off too ----
def run_bars(rig: TraderRig, targets: list[int | None]) -> list[int]:
    """Publish and run one bar per target; the order POSTs each bar sent."""
    sent: list[int] = []
    for n, target in enumerate(targets):
        bar = T0 + n * MINUTE
        rig.publish(bar, {BTC: target})
        before = len(posts(rig))
        rig.run(bar)
        sent.append(len(posts(rig)) - before)
    return sent


@pytest.mark.parametrize("style", ["level", "event"])
def test_failing_orders_back_off_and_are_alerted_for_both_strategy_styles(make_rig: Any, style: str) -> None:
    rig: TraderRig = make_rig(trader={"target_alert_bars": 3, "reprice_attempts": 0})
    rig.control.set_faults([POST_FAILS])
    targets: list[int | None] = [1, 1, 1, 1] if style == "level" else [1, None, None, None]

    sent = run_bars(rig, targets)

    assert sent[0] > 0  # it tries ...
    assert sent[1] > 0  # ... and retries on the next bar ...
    assert sent[2] == 0  # ... two failed bars in a row: the third is left out (backoff) ...
    assert sent[3] > 0  # ... and the fourth tries again
    kinds = alerts(rig)
    assert kinds.count("order_failed") == sent[0] + sent[1] + sent[3]  # every failed order, at once
    assert "target_not_reached" in kinds
    rows = recent_alerts(rig.ctx.journal, 100)
    assert any(r.kind == "target_not_reached" and r.inst_id == BTC for r in rows)
    standing = rig.ctx.targets.get(BTC)
    assert standing is not None
    assert standing.misses == 4
    assert rig.position(BTC) == 0


def test_an_order_proven_absent_is_alerted_in_its_own_bar(make_rig: Any) -> None:
    rig: TraderRig = make_rig(trader={"reprice_attempts": 0})
    rig.control.set_faults([POST_FAILS])

    assert run_bars(rig, [1]) == [1]

    assert alerts(rig) == ["order_failed"]
    rows = [r for r in recent_alerts(rig.ctx.journal, 10) if r.kind == "order_failed"]
    assert [r.inst_id for r in rows] == [BTC]
    assert "not placed" in rows[0].message
    assert "ExchangeUnavailable" in rows[0].message
