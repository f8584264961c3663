"""QA defect 18: ``--report`` shows the standing target a ``None`` kept, and ``--set-target`` from a
shell stamps the running trader's (possibly virtual) clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

from config.schema import AccountSettings, StrategySettings
from core.clock import ScaledClock, SystemClock
from trader.journal import Journal
from trader.journal_clock import journal_clock, record_clock
from trader.journal_schema import SignalRow
from trader.report import format_report
from trader.targets import TargetBook
from trader.targets_cli import set_target

BAR = datetime(2025, 1, 6, tzinfo=UTC)
M = timedelta(minutes=1)
BTC = "BTC-USDT-SWAP"


def signal(target: int | None) -> SignalRow:
    return SignalRow(BTC, "sma_cross", D(0), target, D("100"), D("0.5"), "target")


def test_the_report_shows_the_standing_target_a_none_kept(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    for n, target in enumerate([-1, None, None]):
        journal.start_cycle(BAR + n * M, "1m", BAR + n * M)
        journal.record_signal(BAR + n * M, signal(target), BAR + n * M)
    TargetBook(journal).set(BTC, "sma_cross", -1, "strategy", BAR, BAR)

    report = format_report(journal, "acct")

    assert "None" not in report
    assert report.count(f"{BTC}=-1(held)x0.5") == 2
    assert report.count(f"{BTC}=-1x0.5") == 1
    standing = report.split("Standing targets:")[1].splitlines()
    assert standing[3].split()[:4] == [BTC, "-1", "next", "bar"]
    journal.close()


def test_set_target_from_a_shell_stamps_the_running_traders_virtual_clock(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    virtual = datetime(2030, 1, 1, tzinfo=UTC)
    demo = ScaledClock(datetime.now(UTC), virtual, 60.0)
    record_clock(journal, demo)  # what the demo's trader does on start
    strategy = StrategySettings(inst_id=BTC, name="sma_cross")
    account = AccountSettings(name="acct", credentials="OKX_ACCT", interval="1m", strategies=(strategy,))

    set_target(journal, account, BTC, 0, SystemClock())  # the shell has no OKXFLEET_CLOCK

    row = TargetBook(journal).get(BTC)
    assert row is not None
    stamped = datetime.fromisoformat(row.updated_at)
    assert virtual <= stamped < virtual + timedelta(hours=2)  # virtual time, not the wall clock
    record_clock(journal, SystemClock())  # a trader on real time forgets the scaled clock
    assert isinstance(journal_clock(journal, SystemClock()), SystemClock)
    journal.close()
