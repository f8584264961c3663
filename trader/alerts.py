"""Immediate trading alerts: journaled (table ``alerts``) and notified at once.

Every trading failure — an unresolved order, a rejection, a strategy error, a margin shortfall,
a bar not traded, a target not reached, trading paused, a risk limit, the kill switch, a data
problem the cycle met — goes through :class:`Alerter`, outside the bar-report cadence. The journal
write joins the caller's transaction if one is open.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from core.clock import Clock
from notify import events as ev
from trader.journal import Journal
from trader.journal_schema import iso
from trader.ports import NotifierPort

__all__ = ["AlertRow", "Alerter", "recent_alerts"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlertRow:
    at: str
    kind: str
    inst_id: str | None
    message: str


class Alerter:
    """Journals and sends :class:`notify.events.TradingAlert` events for one account."""

    def __init__(self, account: str, journal: Journal, notifier: NotifierPort, clock: Clock) -> None:
        self.account = account
        self.journal = journal
        self.notifier = notifier
        self.clock = clock

    def __call__(
        self,
        kind: str,
        message: str,
        inst_id: str | None = None,
        bar_close: datetime | None = None,
        *,
        notify: bool = True,
    ) -> None:
        """Journal the alert and send it (``notify=False``: another event already tells it)."""
        self._journal(kind, message, inst_id)
        if notify:
            self.notifier.notify(ev.TradingAlert(self.account, kind, message, inst_id, bar_close))

    def data(self, kind: str, message: str, inst_id: str | None, interval: str) -> None:
        """A data problem the trader met (marker late, stale or failed data): journaled like
        every alert, sent as a :class:`notify.events.DataAlert` (it names the interval)."""
        self._journal(kind, message, inst_id)
        self.notifier.notify(ev.DataAlert(f"trader-{self.account}", kind, message, inst_id=inst_id,
                                          interval=interval))  # fmt: skip

    def _journal(self, kind: str, message: str, inst_id: str | None) -> None:
        log.warning("alert %s: %s%s", kind, f"{inst_id}: " if inst_id else "", message)
        self.journal.write(
            "INSERT INTO alerts (at, kind, inst_id, message) VALUES (?, ?, ?, ?)",
            (iso(self.clock.now()), kind, inst_id, message),
        )


def recent_alerts(journal: Journal, limit: int = 20) -> list[AlertRow]:
    """The newest ``limit`` alerts, newest first."""
    rows = journal.query("SELECT at, kind, inst_id, message FROM alerts ORDER BY id DESC LIMIT ?", (limit,))
    return [AlertRow(r["at"], r["kind"], r["inst_id"], r["message"]) for r in rows]
