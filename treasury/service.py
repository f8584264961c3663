"""One treasury run (``--plan`` / ``--once``) and the daily schedule.

A run first finishes any plan a previous run left open (crash, lock timeout, unconfirmed
transfer), then reads the sub-accounts, plans (:mod:`treasury.plan`) and — unless it only plans —
journals the plan and executes it. The schedule sleeps on the injected clock until the next
``HH:MM`` UTC and runs once; an OKX outage ends that run, never the process.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal

from config.schema import FleetConfig, TreasurySettings
from core.clock import Clock
from core.errors import ConfigError, TemporaryError
from exchange.errors import ExchangeError
from exchange.treasury import MasterClient
from notify import events as ev
from notify.service import Notifier
from treasury.execute import Executor, StepOutcome
from treasury.journal import TreasuryJournal
from treasury.plan import Plan, plan_rebalance
from treasury.snapshot import client_ids, plan_id, take_snapshot

__all__ = ["RunResult", "TreasuryService", "next_run", "render_plan"]

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    plan: Plan | None
    plan_id: str | None = None
    outcomes: list[StepOutcome] = field(default_factory=list)  # of resumed plans, then the new one
    resumed: list[str] = field(default_factory=list)  # plans an earlier run left open


def next_run(now: datetime, schedule: str) -> datetime:
    """The next ``HH:MM`` UTC strictly after ``now``."""
    hh, mm = (int(x) for x in schedule.split(":"))
    today = datetime.combine(now.date(), time(hh, mm), tzinfo=now.tzinfo)
    return today if today > now else today + timedelta(days=1)


def render_plan(plan: Plan) -> str:
    lines = [f"treasury plan ({plan.ccy}, band {plan.band:%}):"]
    for name, target in plan.targets.items():
        before, after = plan.before[name], plan.after[name]
        label = name or "master(funding)"
        out = plan.may_leave.get(name, Decimal(0))
        lines.append(
            f"  {label:<16} now {before:>12.2f}  target {target:>12.2f}  after {after:>12.2f}  "
            f"may leave {out:>12.2f}"
        )
    if not plan.moves:
        lines.append("  every account is within the band: no transfer")
    for i, m in enumerate(plan.moves, start=1):
        kind = "funding" if m.src_kind == "6" else "trading"
        lines.append(
            f"  {i}. {m.amount} {plan.ccy}: {m.src or 'master'} ({kind}) -> {m.dst or 'master'} (trading)"
        )
    lines.extend(f"  note: {n}" for n in plan.notes)
    return "\n".join(lines)


class TreasuryService:
    def __init__(
        self, cfg: FleetConfig, master: MasterClient, journal: TreasuryJournal, clock: Clock,
        notifier: Notifier, stop: threading.Event | None = None,
    ) -> None:  # fmt: skip
        if cfg.treasury is None:
            raise ConfigError("no TREASURY configured: add TREASURY = Treasury(credentials='OKX_MASTER')")
        self.cfg, self.master, self.journal, self.clock, self.notifier = cfg, master, journal, clock, notifier
        self.settings: TreasurySettings = cfg.treasury
        self.stop = stop or threading.Event()

    def _executor(self, accounts: dict[str, str]) -> Executor:
        return Executor(self.cfg, self.settings, self.master, self.journal, self.clock, self.notifier,
                        accounts, self.stop)  # fmt: skip

    def plan(self) -> tuple[Plan, dict[str, str]]:
        snap = take_snapshot(self.master, self.cfg, self.settings)
        s = self.settings
        left = None
        if s.max_per_day is not None:
            midnight = datetime.combine(self.clock.now().date(), time(0), tzinfo=self.clock.now().tzinfo)
            left = max(s.max_per_day - self.journal.moved_since(midnight), s.max_per_day * 0)
        plan = plan_rebalance(snap.nodes, ccy=s.ccy, band=s.band, min_transfer=s.min_transfer,
                              max_transfer=s.max_transfer, day_left=left)  # fmt: skip
        return plan, snap.accounts

    def run_once(self, *, execute: bool = True) -> RunResult:
        accounts = {a.okx_sub_account: a.name for a in self.cfg.accounts.values()}
        outcomes: list[StepOutcome] = []
        resumed: list[str] = []
        if execute:
            for open_id in self.journal.open_plans():
                log.info("finishing plan %s left open by an earlier run", open_id)
                resumed.append(open_id)
                outcomes += self._executor(accounts).run(open_id)
                if open_id in self.journal.open_plans():  # still blocked: no new plan on top of it
                    return RunResult(None, open_id, outcomes, resumed)
        plan, accounts = self.plan()
        if not execute or not plan.moves:
            return RunResult(plan, None, outcomes, resumed)
        now = self.clock.now()
        pid = plan_id(now, plan.moves)
        self.journal.record_plan(pid, plan.ccy, plan.band, client_ids(pid, plan.moves), now,
                                 detail=render_plan(plan))  # fmt: skip
        log.info("plan %s:\n%s", pid, render_plan(plan))
        return RunResult(plan, pid, outcomes + self._executor(accounts).run(pid), resumed)

    def run_forever(self) -> int:
        while not self.stop.is_set():
            when = next_run(self.clock.now(), self.settings.schedule)
            log.info("next treasury run at %s", when.isoformat())
            if not self.clock.sleep_until(when, self.stop):
                break
            try:
                self.run_once()
            except ConfigError:  # wrong key or permissions (ExchangeAuthError): stop
                raise
            except (TemporaryError, ExchangeError) as exc:  # the open plan is resumed next run
                log.warning("treasury run failed: %s; next run as scheduled", exc)
                self.notifier.notify(ev.DataAlert("treasury", "treasury_run_failed", str(exc)))
        return 0
