"""The treasury against the simulator's master account (issue #16): a 30% gain rebalanced in one
transfer, lost replies never moving money twice, refusals that protect open positions, waiting out
58111, the traders' bar locks, OKX refusals named with what to do, and ``--plan`` changing nothing."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from config import load_config
from config.credentials import resolve_master_credentials, simulator_credentials
from core.barlock import BarLock, lock_path
from core.clock import FakeClock, SystemClock
from exchange import make_account_client
from exchange.records import OrderRequest
from exchange.treasury import MasterClient, make_master_client
from notify.events import DataAlert, Event
from notify.service import RecordingNotifier, make_notifier
from simulator.server import RunningSimulator, start_background
from tests.fakes.dingtalk import FakeDingTalk
from tests.plugins.notify import DINGTALK_KEYWORD, dingtalk_env
from treasury.journal import TreasuryJournal
from treasury.plan import in_band
from treasury.service import TreasuryService

SUBS = ("s1", "s2", "s3")


def _spec(name: str, balance: str) -> dict[str, str]:
    c = simulator_credentials(name)
    return {
        "key": c.api_key,
        "secret": c.secret,
        "passphrase": c.passphrase,
        "balance": balance,
        "name": name,
    }


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    balances = {"master": "0", "s1": "13000", "s2": "10000", "s3": "10000"}  # s1 gained 30%
    running = start_background(
        accounts=[_spec(n, b) for n, b in balances.items()], master="master", rate_limits=False
    )
    try:
        yield running
    finally:
        running.stop()


def write_config(tmp_path: Path, sim: RunningSimulator, **treasury: object) -> Path:
    opts = {"credentials": "OKX_MASTER", "band": "0.1", "lock_wait_s": 0.3, **treasury}
    args = ", ".join(f"{k}={v!r}" for k, v in opts.items())
    accounts = ",\n".join(
        f"    {n!r}: Account(credentials='OKX_{n.upper()}', interval='1m', "
        f"strategies=[Strategy('BTC-USDT-SWAP', 'sma_cross')])"
        for n in SUBS
    )
    path = tmp_path / "fleet.py"
    path.write_text(
        "from config import Account, Exchange, Strategy, Treasury\n"
        f"EXCHANGE = Exchange(mode='simulator', base_url={sim.base_url!r})\n"
        f"DATA_DIR = {str(tmp_path / 'data')!r}\n"
        f"TREASURY = Treasury({args})\n"
        f"ACCOUNTS = {{\n{accounts}\n}}\n"
    )
    return path


class Rig:
    def __init__(self, sim: RunningSimulator, tmp_path: Path, **treasury: object) -> None:
        self.sim = sim
        self.path = write_config(tmp_path, sim, **treasury)
        self.cfg = load_config(self.path, environ={}, env_file=tmp_path / "none.env")
        self.clock = SystemClock()
        self.master: MasterClient = make_master_client(
            self.cfg.exchange, resolve_master_credentials(self.cfg), self.clock
        )
        self.journal = TreasuryJournal(self.cfg.journal_dir / "treasury.sqlite")
        self.notifier = RecordingNotifier()
        self.service = TreasuryService(self.cfg, self.master, self.journal, self.clock, self.notifier)

    def values(self) -> dict[str, Decimal]:
        """Trading cash per sub-account, as the simulator holds it (no positions in these tests)."""
        cash = {a["name"]: Decimal(a["cash"].get("USDT", "0")) for a in self.sim.control.accounts()}
        return {n: cash[n] for n in SUBS}

    def book(self) -> dict[str, object]:
        return self.sim.control.treasury()

    def alerts(self, kind: str) -> list[DataAlert]:
        return [e for e in self.notifier.events if isinstance(e, DataAlert) and e.kind == kind]

    def statuses(self) -> list[str]:
        return [r["status"] for r in self.journal.transfers()]

    def close(self) -> None:
        self.journal.close()
        self.master.close()


@pytest.fixture
def rig(sim: RunningSimulator, tmp_path: Path) -> Iterator[Rig]:
    r = Rig(sim, tmp_path)
    try:
        yield r
    finally:
        r.close()


def test_a_30pct_gain_is_rebalanced_in_one_transfer_within_the_band(rig: Rig) -> None:
    plan_only = rig.service.run_once(execute=False)
    assert plan_only.plan is not None
    assert len(plan_only.plan.moves) == 1  # one outlier: one transfer, not one per account
    assert rig.book()["transfers"] == []  # --plan changes nothing
    result = rig.service.run_once()
    assert [o.status for o in result.outcomes] == ["done"]
    transfers = rig.book()["transfers"]
    assert len(transfers) == 1
    assert transfers[0]["fromAccount"] == "s1"
    assert len(transfers[0]["clientId"]) <= 32
    values = rig.values()
    assert sum(values.values()) == Decimal(33000)  # nothing created or lost
    target = Decimal(11000)
    assert all(in_band(v, target, Decimal("0.1")) for v in values.values()), values
    again = rig.service.run_once()
    assert again.plan is not None
    assert again.plan.moves == ()  # within the band: nothing more to do
    assert rig.statuses() == ["done"]
    assert len(rig.alerts("transfer_done")) == 1


def test_a_lost_reply_is_looked_up_and_money_moves_once(rig: Rig, sim: RunningSimulator) -> None:
    sim.control.add_fault("lost_response", 1.0, "/api/v5/asset/subaccount/transfer", count=1)
    result = rig.service.run_once()
    assert [o.status for o in result.outcomes] == ["done"]
    assert len(rig.book()["transfers"]) == 1
    assert sum(rig.values().values()) == Decimal(33000)
    assert rig.values()["s1"] < Decimal(13000)


def test_a_dropped_request_is_resent_with_the_same_client_id(rig: Rig, sim: RunningSimulator) -> None:
    sim.control.add_fault("drop", 1.0, "/api/v5/asset/subaccount/transfer", count=1)
    result = rig.service.run_once()
    assert [o.status for o in result.outcomes] == ["done"]
    posts = sim.control.requests(path="/api/v5/asset/subaccount/transfer")
    assert len(posts) == 2  # dropped once, then sent again
    transfers = rig.book()["transfers"]
    assert len(transfers) == 1
    assert transfers[0]["clientId"] == rig.journal.transfers()[0]["client_id"]


def test_a_repeated_client_id_never_moves_money_twice(rig: Rig) -> None:
    """A crash after sending: the next run finds the clientId at OKX and does not send again."""
    plan, _ = rig.service.plan()
    from treasury.snapshot import client_ids, plan_id

    pid = plan_id(rig.clock.now(), plan.moves)
    steps = client_ids(pid, plan.moves)
    rig.journal.record_plan(pid, "USDT", plan.band, steps, rig.clock.now())
    from exchange.treasury import TransferRequest

    cid, move = steps[0]
    req = TransferRequest(cid, "USDT", move.amount, move.src, move.src_kind, move.dst, move.dst_kind)
    first = rig.master.transfer(req)
    assert rig.master.transfer(req).trans_id == first.trans_id  # OKX-side idempotency
    result = rig.service.run_once()  # resumes the open plan
    assert result.resumed == [pid]
    assert rig.statuses() == ["done"]
    assert len(rig.book()["transfers"]) == 1
    assert sum(rig.values().values()) == Decimal(33000)


@pytest.mark.parametrize("kind", ["position", "resting_order"])
def test_a_transfer_that_would_starve_open_positions_is_refused(
    rig: Rig, sim: RunningSimulator, kind: str
) -> None:
    plan, _ = rig.service.plan()
    from treasury.snapshot import client_ids, plan_id

    pid = plan_id(rig.clock.now(), plan.moves)
    rig.journal.record_plan(pid, "USDT", plan.band, client_ids(pid, plan.moves), rig.clock.now())
    sim.control.set_price("BTC-USDT-SWAP", "50000")
    trader = make_account_client(rig.cfg.exchange, simulator_credentials("s1"), rig.clock, account="s1")
    try:  # after the plan was made, s1's trader ties up 8,000 USDT of margin
        if kind == "position":
            req = OrderRequest("BTC-USDT-SWAP", "cross", "buy", "market", Decimal(160), "big1")
        else:  # a limit buy far below the market rests and freezes its margin
            req = OrderRequest(
                "BTC-USDT-SWAP", "cross", "buy", "limit", Decimal(200), "big1", px=Decimal(40000)
            )
        trader.place_order(req)
        wanted = "filled" if kind == "position" else "live"
        while trader.get_order("BTC-USDT-SWAP", cl_ord_id="big1").state != wanted:
            threading.Event().wait(0.05)
    finally:
        trader.close()
    result = rig.service.run_once()
    assert result.resumed == [pid]
    assert result.outcomes[0].status == "refused"
    assert "would starve open positions" in result.outcomes[0].detail
    assert all(not t["clientId"].startswith(pid) for t in rig.book()["transfers"])  # never sent
    assert [r.status for r in rig.journal.steps(pid)] == ["refused"]
    assert rig.alerts("transfer_refused")


def test_58111_settlement_waits_then_transfers(sim: RunningSimulator, tmp_path: Path) -> None:
    rig = Rig(sim, tmp_path, settlement_retry_s=0.1)
    try:
        sim.control.treasury(settlement=True)
        done = threading.Event()
        thread = threading.Thread(target=lambda: (rig.service.run_once(), done.set()))
        thread.start()
        while not sim.control.requests(path="/api/v5/asset/subaccount/transfer"):
            assert thread.is_alive()
            threading.Event().wait(0.05)
        assert sim.control.requests(path="/api/v5/asset/subaccount/transfer")[0]["code"] == "58111"
        assert not done.wait(0.3)  # still waiting, nothing moved
        assert rig.book()["transfers"] == []
        sim.control.treasury(settlement=False)
        thread.join(10)
        assert done.is_set()
        assert rig.statuses() == ["done"]
        assert rig.alerts("transfer_waiting")
    finally:
        rig.close()


def test_no_transfer_while_a_trader_is_mid_bar(rig: Rig) -> None:
    lock = BarLock(lock_path(rig.cfg.data_dir, "s1"))
    assert lock.try_acquire()  # s1's trader is in a cycle
    try:
        result = rig.service.run_once()
        assert [o.status for o in result.outcomes] == ["deferred"]
        assert rig.book()["transfers"] == []
        assert rig.journal.open_plans() == [result.plan_id]
    finally:
        lock.release()
    resumed = rig.service.run_once()  # between bars now: the open plan is finished
    assert resumed.resumed == [result.plan_id]
    assert rig.statuses() == ["done"]
    assert len(rig.book()["transfers"]) == 1


@pytest.mark.parametrize(
    ("code", "advice"),
    [
        ("58116", "more than the source may send"),
        ("58117", "negative assets"),
        ("55000", "30 minutes after a delivery"),
    ],
)
def test_okx_refusals_are_named_with_what_to_do(
    rig: Rig, sim: RunningSimulator, code: str, advice: str
) -> None:
    sim.control.treasury(forced={"s1": code})
    result = rig.service.run_once()
    assert [o.status for o in result.outcomes] == ["failed"]
    assert f"OKX {code}" in result.outcomes[0].detail
    assert advice in result.outcomes[0].detail
    assert rig.journal.transfers()[0]["code"] == code
    assert any(code in a.detail for a in rig.alerts("transfer_failed"))


def test_no_transfer_out_permission_is_58119(rig: Rig, sim: RunningSimulator) -> None:
    plan, _ = rig.service.plan()  # planned while s1 could still send
    from treasury.snapshot import client_ids, plan_id

    pid = plan_id(rig.clock.now(), plan.moves)
    rig.journal.record_plan(pid, "USDT", plan.band, client_ids(pid, plan.moves), rig.clock.now())
    sim.control.treasury(can_trans_out={"s1": False})
    result = rig.service.run_once()
    assert [o.status for o in result.outcomes] == ["failed"]
    assert "58119" in result.outcomes[0].detail
    assert "transfer-out permission" in result.outcomes[0].detail
    replan, _ = rig.service.plan()  # s1 cannot give now: the planner leaves it out
    assert replan.moves == ()
    assert replan.notes


def test_master_funding_is_handed_out_with_type_1(rig: Rig, sim: RunningSimulator) -> None:
    sim.control.treasury(funding={"master": "3000"})
    result = rig.service.run_once()
    assert all(o.status == "done" for o in result.outcomes)
    kinds = {t["type"] for t in rig.book()["transfers"]}
    assert "1" in kinds  # master -> sub
    assert sum(rig.values().values()) == Decimal(36000)
    assert all(in_band(v, Decimal(12000), Decimal("0.1")) for v in rig.values().values())


def test_cli_plan_prints_and_changes_nothing(rig: Rig, sim: RunningSimulator) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "treasury", "--plan", "--config", str(rig.path)],
        capture_output=True, text=True, timeout=60, check=False, cwd=rig.path.parent,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "treasury plan (USDT, band 10%)" in proc.stdout
    assert "1. 1500.00 USDT: s1 (trading) -> s2 (trading)" in proc.stdout
    assert rig.book()["transfers"] == []
    secret = simulator_credentials("master").secret
    log = (rig.cfg.logs_dir / "treasury.log").read_text()
    for text in (proc.stdout, proc.stderr, log):
        assert secret not in text
        assert simulator_credentials("master").passphrase not in text


class StopAfterTransfer(RecordingNotifier):
    def __init__(self, stop: threading.Event) -> None:
        super().__init__()
        self.stop = stop

    def notify(self, event: Event) -> None:
        super().notify(event)
        if isinstance(event, DataAlert) and event.kind == "transfer_done":
            self.stop.set()


def test_the_schedule_runs_daily_at_its_utc_time(tmp_path: Path) -> None:
    start = datetime(2026, 1, 2, 0, 4, tzinfo=UTC)
    balances = {"master": "0", "s1": "13000", "s2": "10000", "s3": "10000"}
    with start_background(
        accounts=[_spec(n, b) for n, b in balances.items()], master="master", rate_limits=False,
        skew_check=False,
    ) as sim:  # fmt: skip
        cfg = load_config(write_config(tmp_path, sim, schedule="00:05"), environ={}, env_file=tmp_path / "x")
        clock = FakeClock(start)
        stop = threading.Event()
        notifier = StopAfterTransfer(stop)
        master = make_master_client(cfg.exchange, resolve_master_credentials(cfg), clock)
        journal = TreasuryJournal(cfg.journal_dir / "treasury.sqlite")
        try:
            service = TreasuryService(cfg, master, journal, clock, notifier, stop)
            assert service.run_forever() == 0
        finally:
            journal.close()
            master.close()
        transfers = sim.control.treasury()["transfers"]
        assert len(transfers) == 1
        assert clock.now() >= datetime(2026, 1, 2, 0, 5, tzinfo=UTC)
        assert clock.now() < datetime(2026, 1, 2, 0, 6, tzinfo=UTC)


def test_transfers_are_notified_on_dingtalk(
    sim: RunningSimulator, tmp_path: Path, dingtalk: FakeDingTalk
) -> None:
    path = write_config(tmp_path, sim)
    robot = f"NOTIFY = Notify(dingtalk=DingTalk(keyword={DINGTALK_KEYWORD!r}))\n"
    path.write_text(path.read_text() + "from config import DingTalk, Notify\n" + robot)
    cfg = load_config(path, environ=dingtalk_env(dingtalk), env_file=tmp_path / "x")
    clock = SystemClock()
    master = make_master_client(cfg.exchange, resolve_master_credentials(cfg), clock)
    journal = TreasuryJournal(cfg.journal_dir / "treasury.sqlite")
    notifier = make_notifier(cfg, process="treasury")
    try:
        result = TreasuryService(cfg, master, journal, clock, notifier).run_once()
        assert [o.status for o in result.outcomes] == ["done"]
    finally:
        notifier.close()
        journal.close()
        master.close()
    assert dingtalk.wait_for(1, timeout=10)
    text = "\n".join(dingtalk.texts())
    assert "Transfer done" in text
    assert "1500.00 USDT s1(trading) -> s2" in text
    assert simulator_credentials("master").secret not in text


def test_caps_per_transfer_and_per_day(sim: RunningSimulator, tmp_path: Path) -> None:
    rig = Rig(sim, tmp_path, max_transfer=400, max_per_day=700)
    try:
        first = rig.service.run_once()
        assert [o.status for o in first.outcomes] == ["done", "done"]
        amounts = sorted(Decimal(t["amt"]) for t in rig.book()["transfers"])
        assert amounts == [Decimal(300), Decimal(400)]  # 400 per transfer, 700 for the day
        second = rig.service.run_once()  # the day's cap is spent: nothing more today
        assert second.plan is not None
        assert second.plan.moves == ()
        assert any("caps" in n for n in second.plan.notes)
        assert len(rig.book()["transfers"]) == 2
    finally:
        rig.close()
