"""Executing a journaled plan: one transfer at a time, each safe to retry and confirmed at OKX.

Per transfer (journal status ``planned``/``sent``):

1. Ask OKX about its ``clientId`` (``transfer-state``): a transfer a crash or a lost reply left
   behind is found here and never sent twice.
2. Take the bar locks of both accounts (:mod:`core.barlock`): the money moves only while those
   traders are between bars. Not free within ``lock_wait_s`` -> the plan stays open for the next run.
   The locks are held around one send + confirm only: every wait (58111) happens without
   them.
3. Re-read what may leave the source now; a transfer that would leave open positions without
   their margin (and the reserve) is **refused**, journaled and notified, never sent.
4. Send with the clientId. No reply -> look it up, resend (same clientId) only if OKX has none.
   ``58111`` (funding settlement) -> release the locks, wait ``settlement_retry_s``, try again.
   Other OKX refusals are named with what to do, journaled, notified, and stop the plan.
5. Confirm with ``transfer-state`` (the reply alone does not prove the outcome); journal, notify.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from config.schema import FleetConfig, TreasurySettings
from core.barlock import POLL_S, BarLock, lock_path
from core.clock import Clock
from exchange.asset import FUNDING
from exchange.errors import ExchangeError, UnknownOutcome
from exchange.treasury import MasterClient, TransferRequest
from notify import events as ev
from notify.service import Notifier
from treasury.journal import TERMINAL, StepRow, TreasuryJournal
from treasury.plan import MASTER
from treasury.snapshot import movable

__all__ = ["ADVICE", "Executor", "StepOutcome"]

log = logging.getLogger(__name__)
PROCESS = "treasury"
SEND_ATTEMPTS = 3
CONFIRM_POLLS = 5
SETTLEMENT = "58111"
ADVICE = {
    "58116": "more than the source may send now (maxWd changed since the plan); the next run re-plans",
    "58119": "the sub-account has no transfer-out permission: allow it in OKX (sub-account settings, "
    "or POST /api/v5/users/subaccount/set-transfer-out with the master key)",
    "58117": "the source account has negative assets: repay or convert them, then run again",
    "55000": "OKX blocks transfers out for 30 minutes after a delivery: the next run retries",
}


class _Settlement(Exception):
    """OKX 58111: a funding settlement is in progress; wait (no lock held) and send again."""

    def __init__(self, error: ExchangeError) -> None:
        super().__init__(error.msg)
        self.error = error


@dataclass(frozen=True)
class StepOutcome:
    client_id: str
    status: str  # done | refused | failed | deferred | stopped
    detail: str = ""


class Executor:
    def __init__(
        self, cfg: FleetConfig, settings: TreasurySettings, master: MasterClient,
        journal: TreasuryJournal, clock: Clock, notifier: Notifier, accounts: dict[str, str],
        stop: threading.Event | None = None,
    ) -> None:  # fmt: skip
        self.cfg, self.settings, self.master, self.journal = cfg, settings, master, journal
        self.clock, self.notifier, self.accounts = clock, notifier, accounts
        self.stop = stop or threading.Event()

    def _alert(self, kind: str, detail: str) -> None:
        log.log(logging.INFO if kind == "transfer_done" else logging.WARNING, "%s: %s", kind, detail)
        self.notifier.notify(ev.DataAlert(PROCESS, kind, detail))

    def run(self, plan_id: str) -> list[StepOutcome]:
        """Execute the plan's open transfers in order; close the plan when none is left open."""
        out: list[StepOutcome] = []
        for row in self.journal.steps(plan_id):
            if row.status in TERMINAL:
                continue
            result = self._step(row)
            out.append(result)
            if result.status in ("failed", "deferred", "stopped"):
                break
        if all(r.status in TERMINAL for r in self.journal.steps(plan_id)):
            self.journal.close_plan(plan_id, "done")
        return out

    @contextmanager
    def _locks(self, row: StepRow) -> Iterator[bool]:
        """Both traders' bar locks, or False after ``lock_wait_s``. While one is busy, none is
        held: a trader is never kept waiting because the other one is mid-bar."""
        locks = [
            BarLock(lock_path(self.cfg.data_dir, self.accounts[sub]))
            for sub in (row.move.src, row.move.dst)
            if sub != MASTER and sub in self.accounts
        ]
        waited = 0.0
        while True:
            with ExitStack() as stack:
                for lock in locks:
                    if not lock.try_acquire():
                        break
                    stack.callback(lock.release)
                else:
                    yield True
                    return
            if waited >= self.settings.lock_wait_s or not self.clock.sleep(POLL_S, self.stop):
                yield False
                return
            waited += POLL_S

    def _label(self, row: StepRow) -> str:
        m = row.move
        return (
            f"{m.amount} {row.ccy} {m.src or 'master'}({'funding' if m.src_kind == FUNDING else 'trading'})"
            f" -> {m.dst or 'master'} [{row.client_id}]"
        )

    def _step(self, row: StepRow) -> StepOutcome:
        found = self.master.transfer_state(client_id=row.client_id)
        if found is not None:
            log.info("%s already at OKX (transId %s): not sent again", row.client_id, found.trans_id)
            return self._confirm(row)
        waited = 0.0
        while True:
            # The traders' bar locks are held around one send + confirm only, never while waiting.
            with self._locks(row) as locked:
                if not locked:
                    detail = f"{self._label(row)}: a trader is mid-bar; the plan stays open for the next run"
                    self.journal.event(row.client_id, "deferred", self.clock.now(), detail)
                    self._alert("transfer_deferred", detail)
                    return StepOutcome(row.client_id, "deferred", detail)
                refusal = self._starves(row)
                if refusal:
                    self.journal.set_status(row.client_id, "refused", self.clock.now(), message=refusal)
                    self._alert("transfer_refused", f"{self._label(row)}: {refusal}")
                    return StepOutcome(row.client_id, "refused", refusal)
                try:
                    sent = self._send(row, may_wait=waited < self.settings.settlement_max_wait_s)
                except _Settlement as settling:
                    busy = settling.error
                else:
                    return sent if sent is not None else self._confirm(row)
            if not self._wait_settlement(row, busy, first=waited == 0):
                return StepOutcome(row.client_id, "stopped", "stop requested while waiting")
            waited += self.settings.settlement_retry_s

    def _wait_settlement(self, row: StepRow, exc: ExchangeError, *, first: bool) -> bool:
        """Wait out a funding settlement (58111) with no lock held; False if a stop came."""
        if first:
            self._alert(
                "transfer_waiting",
                f"{self._label(row)}: OKX {SETTLEMENT} (funding settlement in progress); "
                "waiting for it to end",
            )
        self.journal.event(row.client_id, "settlement_wait", self.clock.now(), exc.msg)
        return self.clock.sleep(self.settings.settlement_retry_s, self.stop)

    def _starves(self, row: StepRow) -> str:
        m, ccy = row.move, row.ccy
        if m.src_kind == FUNDING:
            have = self.master.funding_available(m.src, ccy)
            return "" if m.amount <= have else f"the funding account holds only {have} {ccy}"
        bal = self.master.trading_balance(m.src, ccy)
        max_wd = self.master.max_withdrawal(m.src, ccy)
        allowed = movable(max_wd, bal.eq, bal.imr, self.settings.position_reserve)
        if m.amount <= allowed:
            return ""
        return (
            f"would starve open positions: at most {allowed} {ccy} may leave {m.src or 'master'} "
            f"(maxWd {max_wd}, margin in use {bal.imr} x reserve {self.settings.position_reserve})"
        )

    def _send(self, row: StepRow, *, may_wait: bool) -> StepOutcome | None:
        """Send once (again, with the same clientId, after a lost reply). ``58111`` -> raise
        :class:`_Settlement` when ``may_wait`` (the caller waits with the locks released)."""
        m = row.move
        req = TransferRequest(row.client_id, row.ccy, m.amount, m.src, m.src_kind, m.dst, m.dst_kind)
        attempts = 0
        while True:
            attempts += 1
            try:
                ack = self.master.transfer(req)
            except UnknownOutcome as exc:
                self.journal.event(row.client_id, "unknown", self.clock.now(), str(exc))
                found = self.master.transfer_state(client_id=row.client_id)
                if found is not None:
                    self.journal.set_status(row.client_id, "sent", self.clock.now(), trans_id=found.trans_id)
                    return None
                if attempts >= SEND_ATTEMPTS:
                    raise
                log.warning(
                    "%s: no reply and unknown at OKX; sending again with the same clientId", row.client_id
                )
                continue
            except ExchangeError as exc:
                if exc.code == SETTLEMENT and may_wait:
                    raise _Settlement(exc) from exc
                advice = ADVICE.get(exc.code, "see the OKX message")
                message = f"OKX {exc.code or 'error'}: {exc.msg} — {advice}"
                self.journal.set_status(
                    row.client_id, "failed", self.clock.now(), code=exc.code, message=message
                )
                self._alert("transfer_failed", f"{self._label(row)}: {message}")
                return StepOutcome(row.client_id, "failed", message)
            self.journal.set_status(row.client_id, "sent", self.clock.now(), trans_id=ack.trans_id)
            return None

    def _confirm(self, row: StepRow) -> StepOutcome:
        for _ in range(CONFIRM_POLLS):
            state = self.master.transfer_state(client_id=row.client_id)
            if state is not None and state.state in ("success", "failed"):
                if state.succeeded:
                    self.journal.set_status(row.client_id, "done", self.clock.now(), trans_id=state.trans_id)
                    self._alert("transfer_done", f"{self._label(row)} confirmed (transId {state.trans_id})")
                    return StepOutcome(row.client_id, "done")
                detail = f"{self._label(row)}: OKX reports the transfer failed"
                self.journal.set_status(row.client_id, "failed", self.clock.now(), message=detail)
                self._alert("transfer_failed", detail)
                return StepOutcome(row.client_id, "failed", detail)
            if not self.clock.sleep(1.0, self.stop):
                break
        detail = f"{self._label(row)}: not confirmed yet; the next run looks it up again"
        self._alert("transfer_unconfirmed", detail)
        return StepOutcome(row.client_id, "stopped", detail)
