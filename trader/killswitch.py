"""``python -m trader <account> --flatten`` and ``--resume`` (issue #16).

``--flatten`` halts the account in its journal first (so a running trader orders nothing more),
waits for the account's bar lock (a cycle in progress finishes), cancels every working order and
closes every position at market, then checks OKX reports no position left. A flatten an error
interrupts stays pending: the running trader finishes it at its next (halted) bar. ``--resume`` lifts
the halt. Both are journaled (``risk_events``) and notified. The trader process keeps running
through both: halted it reports, resumed it trades at its next bar.
"""

from __future__ import annotations

from config.schema import FleetConfig
from core.barlock import BarLock, lock_path
from core.clock import Clock
from notify import events as ev
from notify.service import Notifier
from trader.halt import HaltStore
from trader.journal import Journal
from trader.ports import AccountPort
from trader.riskgate import flatten_account

__all__ = ["flatten", "resume"]

LOCK_WAIT_S = 600.0


def _store(cfg: FleetConfig, account: str) -> HaltStore:
    path = cfg.journal_dir / f"{account}.sqlite"
    Journal(path).close()  # create or migrate the journal file
    return HaltStore(path)


def flatten(cfg: FleetConfig, account: str, client: AccountPort, clock: Clock, notifier: Notifier) -> int:
    """Halt, then close everything. Exit status 0 when OKX reports no position left."""
    store = _store(cfg, account)
    try:
        store.halt("kill switch: --flatten", clock.now())
        lock = BarLock(lock_path(cfg.data_dir, account))
        with lock.hold(clock, LOCK_WAIT_S):
            closed = flatten_account(client)
        left = [p for p in client.positions() if p.pos != 0]
        detail = "; ".join(closed) or "no open position"
        store.flattened(detail, clock.now())
    finally:
        store.close()
    summary = f"{account}: flattened ({detail}) and halted; `python -m trader {account} --resume` lifts it"
    if left:
        summary += f"; STILL OPEN: {', '.join(f'{p.inst_id} {p.pos}' for p in left)}"
    notifier.notify(ev.DataAlert(f"trader-{account}", "kill_switch", summary))
    print(summary)
    return 1 if left else 0


def resume(cfg: FleetConfig, account: str, clock: Clock, notifier: Notifier) -> int:
    store = _store(cfg, account)
    try:
        previous = store.resume(clock.now())
    finally:
        store.close()
    was = previous.reason if previous.halted else "it was not halted"
    summary = f"{account}: halt lifted ({was}); trading resumes at the next bar"
    notifier.notify(ev.DataAlert(f"trader-{account}", "resume", summary))
    print(summary)
    return 0
