"""``python -m trader <account> --flatten`` and ``--resume`` (issue #16).

``--flatten`` halts the account in its journal first (so a running trader orders nothing more),
waits for the account's bar lock (a cycle in progress finishes), cancels every working order and
closes every holding of the traded instruments — contract positions and spot balances — with
journaled market orders (:mod:`trader.flatten`), then checks OKX reports nothing left. A flatten
an error interrupts stays pending: the running trader finishes it at its next (halted) bar; the
failure is journaled and notified with what happens next (:func:`flatten_failed`). ``--resume``
lifts the halt. All of it is journaled (``risk_events``, ``alerts``) and notified. The trader
process keeps running through both: halted it reports, resumed it trades at its next bar.
"""

from __future__ import annotations

import logging
from contextlib import closing

from config.schema import FleetConfig
from core.barlock import BarLock, LockTimeout, lock_path
from core.clock import Clock
from core.intervals import floor_to_bar
from notify.service import Notifier
from trader.alerts import Alerter
from trader.context import build_context
from trader.flatten import flatten_account, still_open
from trader.halt import HaltStore
from trader.journal import Journal
from trader.ports import AccountPort, PublicPort
from trader.preflight import load_setup

__all__ = ["flatten", "flatten_failed", "resume"]

log = logging.getLogger(__name__)
LOCK_WAIT_S = 600.0


def _journal(cfg: FleetConfig, account: str) -> Journal:
    return Journal(cfg.journal_dir / f"{account}.sqlite")  # creates or migrates the file


def _store(cfg: FleetConfig, account: str) -> HaltStore:
    _journal(cfg, account).close()
    return HaltStore(cfg.journal_dir / f"{account}.sqlite")


def flatten(
    cfg: FleetConfig, account: str, client: AccountPort, public: PublicPort, clock: Clock, notifier: Notifier
) -> int:
    """Halt, then close everything. Exit status 0 when OKX reports nothing left open."""
    with closing(_store(cfg, account)) as store:
        store.halt("kill switch: --flatten", clock.now())
    ctx = build_context(cfg, account, client=client, public=public, clock=clock, notifier=notifier)
    try:
        _, problems = load_setup(ctx)
        for problem in problems:
            log.warning("flatten: %s", problem)
        lock = BarLock(lock_path(cfg.data_dir, account))
        with lock.hold(clock, LOCK_WAIT_S):
            bar = floor_to_bar(clock.now(), ctx.account.interval_obj, cfg.candle_timezone)
            done = flatten_account(ctx, bar)
        left = still_open(ctx)
        if not left and not done.failed:
            with closing(HaltStore(ctx.journal.path)) as store:
                store.flattened(done.detail, clock.now())
        summary = (
            f"{account}: flattened ({done.detail}) and halted; `python -m trader {account} --resume` lifts it"
        )
        if left:
            summary += (f"; STILL OPEN: {', '.join(left)} — the running trader retries the flatten at its "
                        "next bar, or run --flatten again")  # fmt: skip
        ctx.alert("kill_switch", summary)
    finally:
        ctx.close()
    print(summary)
    return 1 if left else 0


def flatten_failed(cfg: FleetConfig, account: str, clock: Clock, notifier: Notifier, exc: Exception) -> str:
    """Journal and notify a ``--flatten`` that could not finish; returns the message."""
    if isinstance(exc, LockTimeout):
        what = (f"the account's bar lock stayed held for {LOCK_WAIT_S:.0f} s (a trader cycle or a "
                f"treasury transfer): {exc}")  # fmt: skip
    else:
        what = f"OKX could not be reached or refused ({type(exc).__name__}: {exc})"
    message = (
        f"{account}: --flatten did not finish: {what}. The account IS halted (journaled): a running "
        f"trader orders nothing more and finishes the flatten at its next bar once OKX answers; "
        f"otherwise run `python -m trader {account} --flatten` again"
    )
    with closing(_journal(cfg, account)) as journal:
        Alerter(account, journal, notifier, clock)("kill_switch_failed", message)
    return message


def resume(cfg: FleetConfig, account: str, clock: Clock, notifier: Notifier) -> int:
    with closing(_store(cfg, account)) as store:
        previous = store.resume(clock.now())
    was = previous.reason if previous.halted else "it was not halted"
    summary = f"{account}: halt lifted ({was}); trading resumes at the next bar"
    with closing(_journal(cfg, account)) as journal:
        Alerter(account, journal, notifier, clock)("resume", summary)
    print(summary)
    return 0
