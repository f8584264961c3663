# ruff: noqa: F811  (make_rig, the fixture of test_trader_risk, is imported and then requested)
"""The flatten and the risk gate after the QA review of issue #16 (items 1, 4, 5, 7, 8, 9, 16),
against the simulator: spot holdings are sold and counted; the closing orders carry our ``ox…``
clOrdIds, are journaled and their fills reach ``fills``; opens planned on one bar share the total
leverage; OKX unreachable or the bar lock held give a clear, journaled message (no traceback);
every risk alert lands in the ``alerts`` table; the daily-loss limit does not spam."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from core.barlock import BarLock, lock_path
from tests.integration.test_trader_helpers import TraderRig
from tests.integration.test_trader_risk import (  # noqa: F401 (make_rig is a fixture)
    BTC,
    ETH,
    MINUTE,
    ROOT,
    T0,
    _cli,
    alerts,
    halted,
    make_rig,
)
from trader import killswitch
from trader.__main__ import main
from trader.alerts import recent_alerts
from trader.flatten import still_open
from trader.state import fetch_state

SOL = "SOL-USDT"


def _spot(rig: TraderRig, inst_id: str) -> Decimal:
    ctx = rig.ctx
    state = fetch_state(ctx.client, ctx.instruments, ctx.settings.margin_mode, ctx.equity_ccy)
    return state.holding(inst_id).long


def _journaled_kinds(rig: TraderRig) -> list[str]:
    return [a.kind for a in recent_alerts(rig.ctx.journal, 1000)]


def test_flatten_sells_spot_and_journals_the_closing_orders_and_fills(make_rig: Any) -> None:
    rig: TraderRig = make_rig(insts={BTC: 2, SOL: 1})
    rig.publish(T0, {BTC: 1, SOL: 1})
    rig.run(T0)
    assert rig.position(BTC) > 0
    assert _spot(rig, SOL) > 0
    held = still_open(rig.ctx)  # what the STILL OPEN check counts: spot balances too
    assert any(x.startswith(f"{SOL} ") for x in held)
    assert any(x.startswith(f"{BTC} ") for x in held)

    res = _cli(rig, "--flatten")
    assert res.returncode == 0, res.stderr
    assert "STILL OPEN" not in res.stdout
    assert f"{SOL} spot" in res.stdout
    assert rig.position(BTC) == 0
    sol = rig.ctx.instruments[SOL]
    assert _spot(rig, SOL) < max(sol.min_sz, sol.lot_sz)  # sold, down to unsellable dust
    assert halted(rig)
    assert still_open(rig.ctx) == []

    closes = rig.ctx.journal.query(
        "SELECT cl_ord_id, inst_id, ord_type, reduce_only, status FROM orders WHERE bar_close > ?",
        (T0.isoformat(),),
    )
    assert {r["inst_id"] for r in closes} == {BTC, SOL}
    assert all(r["cl_ord_id"].startswith("ox") and r["ord_type"] == "market" for r in closes)
    assert {r["inst_id"]: r["reduce_only"] for r in closes}[BTC] == 1  # net mode: reduce-only
    ids = {r["cl_ord_id"] for r in closes}
    fills = rig.ctx.journal.query("SELECT cl_ord_id, inst_id FROM fills")
    assert {f["inst_id"] for f in fills if f["cl_ord_id"] in ids} == {BTC, SOL}
    assert "kill_switch" in _journaled_kinds(rig)


def test_opens_on_one_bar_share_the_total_leverage(make_rig: Any) -> None:
    rig: TraderRig = make_rig(insts={BTC: 3, ETH: 3}, risk={"max_total_leverage": "1"})
    rig.publish(T0, {BTC: 1, ETH: 1})
    rig.run(T0)
    btc = rig.position(BTC) * Decimal("0.01") * 50000
    eth = rig.position(ETH) * Decimal("0.1") * 3000
    assert btc > 0
    assert btc + eth <= Decimal(10000)  # 1x of 10,000 equity, not 1x each (~2x together)
    assert alerts(rig, "risk_clip")


@pytest.fixture
def no_log_handlers() -> Iterator[None]:
    """main() in-process installs the process's log handlers: take them off afterwards."""
    root = logging.getLogger()
    before = list(root.handlers)
    yield
    for handler in list(root.handlers):
        if handler not in before:
            root.removeHandler(handler)
            handler.close()


def test_flatten_with_okx_unreachable_says_what_happens_next(make_rig: Any) -> None:
    rig: TraderRig = make_rig()
    text = rig.cfg.source.read_text().replace(rig.sim.base_url, "http://127.0.0.1:9")
    path = rig.cfg.source.with_name("unreachable_config.py")
    path.write_text("import tests.integration.test_trader_strategy  # registers test_target\n" + text)
    res = subprocess.run(
        [sys.executable, "-m", "trader", rig.account, "--config", str(path), "--flatten"],
        capture_output=True, text=True, timeout=120, check=False, cwd=ROOT,
    )  # fmt: skip
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    assert "--flatten did not finish" in res.stderr
    assert "IS halted" in res.stderr
    assert halted(rig)
    assert "kill_switch_failed" in _journaled_kinds(rig)


def test_flatten_while_the_bar_lock_stays_held(
    make_rig: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], no_log_handlers: None
) -> None:
    rig: TraderRig = make_rig()
    text = rig.cfg.source.read_text()
    path = rig.cfg.source.with_name("cli_config.py")
    path.write_text("import tests.integration.test_trader_strategy  # registers test_target\n" + text)
    monkeypatch.setattr(killswitch, "LOCK_WAIT_S", 0.2)
    lock = BarLock(lock_path(rig.cfg.data_dir, rig.account))
    assert lock.try_acquire()
    try:
        code = main([rig.account, "--config", str(path), "--flatten"])
    finally:
        lock.release()
    assert code == 1
    err = capsys.readouterr().err
    assert "bar lock stayed held" in err
    assert "IS halted" in err
    assert "kill_switch_failed" in _journaled_kinds(rig)


def test_a_cycle_waits_for_the_bar_lock_only_until_its_deadline(make_rig: Any) -> None:
    rig: TraderRig = make_rig(trader={"marker_deadline_s": 3})
    rig.publish(T0, {BTC: 1})
    lock = BarLock(lock_path(rig.cfg.data_dir, rig.account))
    assert lock.try_acquire()  # e.g. the treasury waiting on OKX with the lock held
    try:
        result = rig.run(T0, delay_s=1.0)
    finally:
        lock.release()
    assert result.status == "skipped"
    assert rig.clock.now() <= T0 + 4 * MINUTE / 60  # waited ~2 s of bar time, not forever
    assert rig.ctx.journal.cycle(T0).status == "skipped"  # type: ignore[union-attr]
    assert [a.kind for a in alerts(rig, "bar_skipped")] == ["bar_skipped"]
    assert rig.position(BTC) == 0


def test_risk_alerts_are_journaled(make_rig: Any) -> None:
    rig: TraderRig = make_rig(risk={"max_drawdown": "0.1"})
    rig.publish(T0, {BTC: 1})
    rig.run(T0)
    rig.control.set_price(BTC, "46500")
    rig.publish(T0 + MINUTE, {BTC: None})
    assert rig.run(T0 + MINUTE).status == "halted"
    assert rig.position(BTC) == 0
    assert "risk_halt" in _journaled_kinds(rig)
    closes = rig.ctx.journal.query("SELECT cl_ord_id FROM orders WHERE bar_close = ? AND leg = 'close'",
                                   ((T0 + MINUTE).isoformat(),))  # fmt: skip
    assert closes  # the halt's flatten is journaled too
    res = _cli(rig, "--resume")
    assert res.returncode == 0, res.stderr
    assert "resume" in _journaled_kinds(rig)


def test_daily_loss_limit_is_the_reason_said_once(make_rig: Any) -> None:
    rig: TraderRig = make_rig(risk={"daily_loss": "0.05"})
    rig.publish(T0, {BTC: 1})
    rig.run(T0)
    rig.control.set_price(BTC, "48500")
    rig.publish(T0 + MINUTE, {BTC: -1})  # the close runs, the short is refused by the limit
    rig.run(T0 + MINUTE)
    for n in range(2, 9):  # 7 more bars with the -1 target standing, unreachable today
        rig.publish(T0 + n * MINUTE, {BTC: None})
        rig.run(T0 + n * MINUTE)
    assert rig.position(BTC) == 0
    assert alerts(rig, "target_not_reached") == []
    [daily] = alerts(rig, "risk_daily_loss")
    assert "no new exposure until 00:00 UTC" in daily.detail
