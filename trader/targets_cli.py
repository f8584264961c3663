"""``python -m trader ACCOUNT --targets`` and ``--set-target INST {1,-1,0}`` (journal only).

The trader owns the positions of the instruments it trades: every bar it diffs OKX's position
against the standing target. ``--set-target`` replaces an instrument's standing target by hand
(source ``manual``, sized on the next bar); it works while the trader runs, and stamps the time of
the trader's clock (:mod:`trader.journal_clock`: the accelerated demo's virtual time too).
"""

from __future__ import annotations

from config.schema import AccountSettings
from core.clock import Clock
from trader.journal import Journal
from trader.journal_clock import journal_clock
from trader.report import table
from trader.targets import TargetBook

__all__ = ["NAMES", "format_targets", "set_target", "strategy_for"]

NAMES = {1: "long (1)", -1: "short (-1)", 0: "flat (0)"}


def format_targets(journal: Journal, account: AccountSettings) -> str:
    """The standing target of each instrument the account trades (and any left from before)."""
    book = TargetBook(journal).all()
    rows = []
    for inst_id in [s.inst_id for s in account.strategies] + sorted(
        set(book) - {s.inst_id for s in account.strategies}
    ):
        t = book.get(inst_id)
        if t is None:
            rows.append([inst_id, "-", "none yet", "-", "-", "-", "-", "-"])
            continue
        size = str(t.size) if t.size is not None else "next bar"
        rows.append([
            inst_id, t.strategy, NAMES.get(t.target, str(t.target)), size, t.source, t.bar_close or "-",
            str(t.misses), t.updated_at,
        ])  # fmt: skip
    head = ["instrument", "strategy", "target", "size", "source", "set by bar", "missed bars", "updated"]
    return "\n".join([f"standing targets of {account.name}", *table(head, rows)]) + "\n"


def strategy_for(account: AccountSettings, inst_id: str) -> str:
    """The strategy trading ``inst_id`` on the account; a clear error if none does."""
    strategies = {s.inst_id: s.name for s in account.strategies}
    if inst_id not in strategies:
        known = ", ".join(strategies) or "none"
        raise ValueError(f"{inst_id!r} is not traded by account {account.name!r} (it trades: {known})")
    return strategies[inst_id]


def set_target(journal: Journal, account: AccountSettings, inst_id: str, target: int, clock: Clock) -> str:
    """Journal a manual standing target for one of the account's instruments; a confirmation."""
    strategy = strategy_for(account, inst_id)
    now = journal_clock(journal, clock).now()
    with journal.transaction():
        TargetBook(journal).set(inst_id, strategy, target, "manual", now)
    return f"{account.name} {inst_id}: standing target {NAMES[target]} (manual), traded from the next bar\n"
