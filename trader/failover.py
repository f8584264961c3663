"""Takeover without double orders: the journal rows another host needs, replicated in Redis.

In Redis mode the trader's journal is a :class:`MirroredJournal`: besides its local SQLite it writes
— fenced by the account lease (:class:`~trader.account_store.FencedHash`) — the cycle statuses, the
journaled targets and sizes (signals), the standing targets and risk/halt state
(:class:`~trader.account_store.RedisAccountStore`, pushed after every change) and, *before* any
order is sent, every order intent (write-ahead, as locally). A standby that takes the lease over
calls :func:`adopt`, which copies those rows into its own journal (Redis wins over whatever this
host's journal held) and applies the operators' queued commands (:mod:`trader.commands`). From
there a takeover is exactly a restart on the same host, the path the crash tests pin down:
intents whose outcome is unknown are looked up at OKX by clOrdId
before anything new is sent (``OrderTracker.recover``), the next attempt number is above every
attempt the old holder used (so no clOrdId is ever used twice), a cycle that reached ``targets``
resumes from the journaled targets and sizes, and a ``done`` bar is not run again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import redis

from bus.keys import Keys
from trader import commands
from trader.account_store import FencedHash, RedisAccountStore
from trader.journal import Journal, OrderIntent, SignalRow
from trader.journal_schema import OPEN_STATUSES, CycleRow
from trader.lease import AccountLease

__all__ = ["JournalMirror", "MirroredJournal", "adopt"]

log = logging.getLogger(__name__)
KEEP = timedelta(days=2)  # replicated cycles and signals older than this are pruned
_TERMINAL = ("done", "skipped", "failed")


def _dec(value: object) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


class JournalMirror:
    """An account's replicated journal rows: ``cycles``, ``signals`` and order ``intents``."""

    def __init__(self, client: redis.Redis, keys: Keys, lease: AccountLease) -> None:
        acct = lease.account
        self.cycles = FencedHash(client, lease, keys.journal(acct, "cycles"))
        self.signals = FencedHash(client, lease, keys.journal(acct, "signals"))
        self.intents = FencedHash(client, lease, keys.intents(acct))


def _intent_json(it: OrderIntent) -> str:
    return json.dumps({
        "bar_close": it.bar_close.isoformat(), "inst_id": it.inst_id, "leg": it.leg, "attempt": it.attempt,
        "side": it.side, "pos_side": it.pos_side, "ord_type": it.ord_type, "td_mode": it.td_mode,
        "sz": str(it.sz), "px": None if it.px is None else str(it.px), "reduce_only": it.reduce_only,
    })  # fmt: skip


def _intent(cl_ord_id: str, text: str) -> OrderIntent:
    raw = json.loads(text)
    return OrderIntent(
        cl_ord_id=cl_ord_id, bar_close=datetime.fromisoformat(raw["bar_close"]), inst_id=raw["inst_id"],
        leg=raw["leg"], attempt=int(raw["attempt"]), side=raw["side"], pos_side=raw["pos_side"],
        ord_type=raw["ord_type"], td_mode=raw["td_mode"], sz=Decimal(raw["sz"]), px=_dec(raw["px"]),
        reduce_only=raw["reduce_only"],
    )  # fmt: skip


def _signal_json(row: SignalRow) -> str:
    return json.dumps({
        "strategy": row.strategy, "now_pos": None if row.now_pos is None else str(row.now_pos),
        "target": row.target, "signal_px": None if row.signal_px is None else str(row.signal_px),
        "desired": None if row.desired is None else str(row.desired), "status": row.status,
        "reason": row.reason,
    })  # fmt: skip


def _signal(inst_id: str, text: str) -> SignalRow:
    raw = json.loads(text)
    return SignalRow(
        inst_id, raw["strategy"], _dec(raw["now_pos"]), raw["target"], _dec(raw["signal_px"]),
        _dec(raw["desired"]), raw["status"], raw["reason"],
    )  # fmt: skip


class MirroredJournal(Journal):
    """A :class:`Journal` that also replicates what a takeover needs (see the module docstring)."""

    def __init__(self, path: Path, mirror: JournalMirror, store: RedisAccountStore, keys: Keys) -> None:
        super().__init__(path)
        self.mirror = mirror
        self.store = store
        self.keys = keys
        self._dirty = False

    def state_changed(self) -> None:
        """Push the standing targets and risk state — at once, or when the transaction commits."""
        if self._depth:
            self._dirty = True
            return
        self._dirty = False
        self.store.push(self)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with super().transaction():
            yield
        if self._depth == 0 and self._dirty:
            self.state_changed()

    def before_bar(self, now: datetime) -> None:
        commands.apply(self, self.store, self.mirror.cycles.lease, self.keys, now)

    def _mirror_cycle(self, bar_close: datetime) -> None:
        rows = self.query("SELECT * FROM cycles WHERE bar_close = ?", (bar_close.isoformat(),))
        if rows:
            r = rows[0]
            value = {k: r[k] for k in ("interval", "status", "reason", "equity", "started_at", "finished_at")}
            self.mirror.cycles.set({bar_close.isoformat(): json.dumps(value)})

    def start_cycle(self, bar_close: datetime, interval: str, now: datetime) -> CycleRow:
        row = super().start_cycle(bar_close, interval, now)
        self._mirror_cycle(bar_close)
        self.state_changed()
        return row

    def set_cycle_status(
        self,
        bar_close: datetime,
        status: str,
        now: datetime | None = None,
        *,
        equity: Decimal | None = None,
        reason: str = "",
    ) -> None:
        super().set_cycle_status(bar_close, status, now, equity=equity, reason=reason)
        self._mirror_cycle(bar_close)
        self.state_changed()
        if status in _TERMINAL:
            self._prune(bar_close)

    def record_signal(self, bar_close: datetime, row: SignalRow, now: datetime) -> None:
        super().record_signal(bar_close, row, now)
        self.mirror.signals.set({f"{bar_close.isoformat()}|{row.inst_id}": _signal_json(row)})

    def reduce_desired(self, bar_close: datetime, inst_id: str, by: Decimal, now: datetime) -> None:
        super().reduce_desired(bar_close, inst_id, by, now)
        row = self.signals(bar_close).get(inst_id)
        if row is not None:
            self.mirror.signals.set({f"{bar_close.isoformat()}|{inst_id}": _signal_json(row)})

    def record_intents(self, intents: Iterable[OrderIntent], now: datetime) -> None:
        batch = list(intents)
        # Redis first: an intent (or a standing size) the successor cannot see must never reach OKX.
        self.state_changed()
        self.mirror.intents.set({it.cl_ord_id: _intent_json(it) for it in batch})
        super().record_intents(batch, now)

    def _prune(self, bar_close: datetime) -> None:
        """Drop replicated intents of a finished bar that are settled locally, and rows past KEEP."""
        settled = [r.cl_ord_id for r in self.orders_for_bar(bar_close) if r.status not in OPEN_STATUSES]
        self.mirror.intents.delete(*settled)
        cutoff = bar_close - KEEP
        old_cycles = [k for k in self.mirror.cycles.all() if datetime.fromisoformat(k) < cutoff]
        self.mirror.cycles.delete(*old_cycles)
        old_signals = [
            k for k in self.mirror.signals.all() if datetime.fromisoformat(k.split("|", 1)[0]) < cutoff
        ]
        self.mirror.signals.delete(*old_signals)


def adopt(journal: MirroredJournal, now: datetime) -> dict[str, int | str]:
    """Copy the replicated rows into this host's journal (the lease holder's view wins for cycles,
    signals, standing targets and risk state; intents this journal already knows keep their local,
    more advanced status), then apply the operators' queued commands."""
    mirror = journal.mirror
    counts: dict[str, int | str] = {"cycles": 0, "signals": 0, "intents": 0}
    for bar_iso, text in sorted(mirror.cycles.all().items()):
        raw, bar = json.loads(text), datetime.fromisoformat(bar_iso)
        Journal.start_cycle(journal, bar, raw["interval"], datetime.fromisoformat(raw["started_at"]))
        finished = datetime.fromisoformat(raw["finished_at"]) if raw["finished_at"] else None
        Journal.set_cycle_status(journal, bar, raw["status"], finished, equity=_dec(raw["equity"]),
                                 reason=raw["reason"] or "")  # fmt: skip
        counts["cycles"] = int(counts["cycles"]) + 1
    for key, text in mirror.signals.all().items():
        bar_iso, inst = key.split("|", 1)
        Journal.record_signal(journal, datetime.fromisoformat(bar_iso), _signal(inst, text), now)
        counts["signals"] = int(counts["signals"]) + 1
    missing = [_intent(cl, text) for cl, text in mirror.intents.all().items() if journal.order(cl) is None]
    if missing:
        Journal.record_intents(journal, missing, now)
    counts["intents"] = len(missing)
    counts["state"] = journal.store.restore(journal)
    counts["commands"] = len(commands.apply(journal, journal.store, mirror.cycles.lease, journal.keys, now))
    log.info("adopted from Redis: %s", counts)
    return counts
