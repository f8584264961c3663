"""Notifications reach (the fake) DingTalk; ``--report`` prints cycles, orders and PnL."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from exchange.records import OrderRequest
from simulator.server import RunningSimulator
from tests.fakes.dingtalk import FakeDingTalk
from tests.integration.test_trader_helpers import T0, TraderRig
from tests.plugins.notify import dingtalk_env
from trader.__main__ import main
from trader.clordid import make_cl_ord_id

MINUTE = timedelta(minutes=1)
BTC, ETH = "BTC-USDT-SWAP", "ETH-USDT-SWAP"
ROBOT = (
    "Notify(dingtalk=DingTalk("
    "webhook_env='DINGTALK_WEBHOOK', secret_env='DINGTALK_SECRET', keyword='okxfleet'))"
)


def test_bar_reports_rejections_and_alerts_reach_dingtalk(
    sim_module: RunningSimulator, tmp_path: Path, dingtalk: FakeDingTalk
) -> None:
    name = "n" + uuid.uuid4().hex[:10]
    rig = TraderRig(
        sim_module, tmp_path, account=name, insts={BTC: 3, ETH: 3}, balance="1000", notifier="real",
        env=dingtalk_env(dingtalk), notify=ROBOT, trader={"marker_deadline_s": 5},
    )  # fmt: skip
    try:
        rig.preflight()
        # bar 1: BTC opens; ETH's marker entry failed
        rig.publish(T0, {BTC: 1, ETH: 1}, status={ETH: "failed"})
        rig.run(T0)
        # bar 2: no marker at all
        rig.run(T0 + MINUTE)
        # bar 3: a manual position eats the margin, ETH's open is refused (51008)
        manual = OrderRequest("SOL-USDT-SWAP", "cross", "buy", "market", Decimal(20), "manual2")
        rig.client.place_order(manual)
        rig.publish(T0 + 2 * MINUTE, {BTC: None, ETH: 1})
        rig.run(T0 + 2 * MINUTE)
    finally:
        rig.close()  # flushes the notification queue
    assert dingtalk.wait_for(4, timeout=10)
    texts = "\n".join(dingtalk.texts())
    assert dingtalk.rejections == []
    assert "okxfleet" in texts
    assert name in texts
    assert make_cl_ord_id(name, BTC, T0, "open", 0) in texts  # the order line of the bar report
    assert "Instrument failed" in texts
    assert "Marker late" in texts
    assert "51008" in texts
    assert make_cl_ord_id(name, ETH, T0 + 2 * MINUTE, "open", 0) in texts


def test_report_prints_cycles_orders_and_pnl(
    sim_module: RunningSimulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "r" + uuid.uuid4().hex[:10]
    rig = TraderRig(sim_module, tmp_path, account=name, insts={BTC: 2})
    try:
        rig.preflight()
        rig.publish(T0, {BTC: 1})
        rig.run(T0)
        rig.publish(T0 + MINUTE, {BTC: 0})
        rig.run(T0 + MINUTE)
        pnl = sum(
            (Decimal(o["order"]["pnl"]) + Decimal(o["order"]["fee"]) for o in rig.sim_orders()),
            Decimal(0),
        )
    finally:
        rig.close()
    assert main([name, "--config", str(tmp_path / "config.py"), "--report"]) == 0
    out = capsys.readouterr().out
    assert "Recent cycles (2):" in out
    assert "Recent orders (2):" in out
    assert T0.isoformat() in out
    assert make_cl_ord_id(name, BTC, T0 + MINUTE, "close", 0) in out
    total = next(line for line in out.splitlines() if line.startswith("TOTAL"))
    assert Decimal(total.split()[3]) == pnl  # net = OKX's pnl + fees of every order


def test_report_without_a_journal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "config.py"
    cfg.write_text(
        "from config import Account, Strategy\n"
        f"DATA_DIR = {str(tmp_path / 'data')!r}\n"
        "ACCOUNTS = {'x1': Account(credentials='OKX_X1', interval='1m', "
        "strategies=[Strategy('BTC-USDT-SWAP', 'sma_cross', params={'fast': 2, 'slow': 5})])}\n",
        encoding="utf-8",
    )
    assert main(["x1", "--config", str(cfg), "--report"]) == 1
    assert "no journal" in capsys.readouterr().err
    assert main(["nobody", "--config", str(cfg), "--report"]) == 2
    assert "unknown account" in capsys.readouterr().err
