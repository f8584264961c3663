"""Following orders at OKX until they are terminal, and resolving the ones in doubt.

- :meth:`OrderTracker.resolve` answers an unknown outcome (timeout, lost response, 50004, or a
  crash between journaling and sending) by looking the clOrdId up — never by sending again. An
  order OKX does not know is ``not_placed`` only once that is *proven*: its ``expTime`` (plus a
  grace) has passed, so OKX can no longer register it. Before that it stays unresolved.
- :meth:`OrderTracker.wait_terminal` polls (sleeping on the injected clock) with one
  ``orders-pending`` call per round for all orders; only orders that left the pending list are
  fetched one by one, once.
- :meth:`OrderTracker.settle` cancels whatever is still working and waits for the final state.
- :meth:`OrderTracker.recover` does all of that for every order the journal left open: it runs
  at start-up and before every cycle, before anything new is sent. :mod:`trader.sweep` then
  catches up with orders OKX registered late.

No journal transaction is open during a network call: the replies are gathered first, then
written together.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta

from core.clock import Clock
from exchange.errors import ExchangeError, OrderNotFound, UnknownOutcome
from exchange.public import inst_type_of
from exchange.records import Order
from trader.journal import Journal, OrderRow
from trader.ports import AccountPort

__all__ = ["OrderTracker"]

log = logging.getLogger(__name__)
REGISTER_GRACE = timedelta(seconds=2)  # after expTime: clock offset error and OKX's own latency
LEGACY_WINDOW = timedelta(seconds=60)  # rows journaled without an expTime


class OrderTracker:
    """Polls, cancels and looks up orders of one account, journaling every change."""

    def __init__(
        self,
        client: AccountPort,
        journal: Journal,
        clock: Clock,
        *,
        poll_s: float = 0.5,
        lookup_tries: int = 3,
        settle_s: float = 10.0,
        stop: threading.Event | None = None,
    ) -> None:
        self.client = client
        self.journal = journal
        self.clock = clock
        self.poll_s = poll_s
        self.lookup_tries = lookup_tries
        self.settle_s = settle_s
        self.stop = stop

    def _record(self, order: Order) -> None:
        if self.journal.order(order.cl_ord_id) is not None:
            self.journal.update_order(order, self.clock.now())

    def absent_after(self, row: OrderRow | None) -> datetime | None:
        """When a lookup that does not find ``row`` proves it absent (None: no journal row)."""
        if row is None:
            return None
        if row.exp_at is not None:
            return row.exp_at + REGISTER_GRACE
        created = row.created_at or self.clock.now()
        return created + LEGACY_WINDOW  # no expTime was sent: OKX may register it this late

    def _lookup(self, inst_id: str, cl_ord_id: str) -> tuple[bool, Order | None]:
        try:
            return True, self.client.find_order(inst_id, cl_ord_id)
        except ExchangeError as exc:
            log.warning("looking up %s on %s failed: %s", cl_ord_id, inst_id, exc)
            return False, None

    def resolve(self, inst_id: str, cl_ord_id: str, *, wait_until: datetime | None = None) -> Order | None:
        """What OKX knows about ``cl_ord_id``, or None.

        Looks up ``lookup_tries`` times, and keeps looking (every ``poll_s``) until ``wait_until``
        while the answer is not yet proof. Only a definite "no such order" changes the journal:
        an intent or unknown outcome becomes ``not_placed`` once its ``expTime`` has passed (see
        :meth:`absent_after`); an acknowledged order OKX no longer knows (a cancelled order
        without fills ages out after 2 h) becomes ``lost``. Otherwise the row stays open and is
        looked up again before the next bar."""
        row = self.journal.order(cl_ord_id)
        proof_at = self.absent_after(row)
        tries = 0
        while True:
            answered, order = self._lookup(inst_id, cl_ord_id)
            tries += 1
            if order is not None:
                self._record(order)
                return order
            now = self.clock.now()
            if answered and row is not None and self._settle_absent(row, proof_at, now):
                return None
            more = tries < self.lookup_tries or (wait_until is not None and now < wait_until)
            if not more or (self.stop is not None and self.stop.is_set()):
                return None
            pause = self.poll_s
            if wait_until is not None and now < wait_until and tries >= self.lookup_tries:
                pause = min(pause, (wait_until - now).total_seconds())
            self.clock.sleep(pause, self.stop)

    def _settle_absent(self, row: OrderRow, proof_at: datetime | None, now: datetime) -> bool:
        """Journal a definite absence; False while OKX could still register the order."""
        if row.status == "live":
            log.warning("%s %s: OKX no longer knows this acknowledged order", row.inst_id, row.cl_ord_id)
            self.journal.mark_lost(row.cl_ord_id, now)
            return True
        if row.status not in ("intent", "unknown"):
            return True
        if proof_at is None or now < proof_at:
            return False
        log.warning("%s %s: OKX does not know this order after its expTime; never placed",
                    row.inst_id, row.cl_ord_id)  # fmt: skip
        self.journal.mark_not_placed(row.cl_ord_id, now)
        return True

    def _fetch(self, inst_id: str, cl_ord_id: str) -> Order | None:
        try:
            return self.client.get_order(inst_id, cl_ord_id=cl_ord_id)
        except OrderNotFound:
            return None
        except ExchangeError as exc:
            log.warning("order %s: %s", cl_ord_id, exc)
            return None

    def poll_once(self, orders: Mapping[str, str], known: dict[str, Order]) -> None:
        """One round: update ``known`` (clOrdId -> latest Order) for ``orders`` (clOrdId -> instId).

        Every reply is gathered first; the changes are then journaled in one transaction."""
        waiting = {cl: inst for cl, inst in orders.items() if cl not in known or not known[cl].is_terminal}
        if not waiting:
            return
        try:
            pending = {o.cl_ord_id: o for o in self.client.pending_orders() if o.cl_ord_id in waiting}
        except ExchangeError as exc:
            log.warning("orders-pending failed: %s", exc)
            return
        gone = {cl: inst for cl, inst in waiting.items() if cl not in pending}
        finished = self._history(gone) if len(gone) > 2 else {}
        changed: list[Order] = []
        for cl, inst in waiting.items():
            order = pending.get(cl) or finished.get(cl)
            if order is None:  # no longer pending (or not visible yet): ask for this one
                order = self._fetch(inst, cl)
            if order is not None and (cl not in known or known[cl] != order):
                changed.append(order)
            if order is not None:
                known[cl] = order
        if changed:
            with self.journal.transaction():
                for order in changed:
                    self._record(order)

    def _history(self, orders: Mapping[str, str]) -> dict[str, Order]:
        """Terminal orders among ``orders`` from one ``orders-history`` page per instrument type."""
        found: dict[str, Order] = {}
        for inst_type in sorted({inst_type_of(inst) for inst in orders.values()}):
            try:
                page = self.client.order_history(inst_type, limit=100)
            except ExchangeError as exc:
                log.warning("orders-history %s failed: %s", inst_type, exc)
                continue
            found.update({o.cl_ord_id: o for o in page if o.cl_ord_id in orders and o.is_terminal})
        return found

    def wait_terminal(
        self, orders: Mapping[str, str], until: datetime, known: dict[str, Order] | None = None
    ) -> dict[str, Order]:
        """Poll until every order is terminal or ``until`` passes; the latest states seen."""
        known = {} if known is None else known
        while True:
            self.poll_once(orders, known)
            if all(cl in known and known[cl].is_terminal for cl in orders):
                return known
            now = self.clock.now()
            if now >= until:
                return known
            self.clock.sleep(min(self.poll_s, (until - now).total_seconds()))

    def settle(self, orders: Mapping[str, str], known: dict[str, Order]) -> dict[str, Order]:
        """Cancel every order of ``orders`` that is not terminal, then wait for the final states."""
        for cl, inst in orders.items():
            order = known.get(cl)
            if order is not None and order.is_terminal:
                continue
            try:
                self.client.cancel_order(inst, cl_ord_id=cl)
                self.journal_event(cl, "cancel_requested")
            except OrderNotFound:
                pass  # already filled or cancelled: the poll below tells which
            except (UnknownOutcome, ExchangeError) as exc:
                log.warning("cancel %s %s: %s", inst, cl, exc)
        until = self.clock.now() + timedelta(seconds=self.settle_s)
        return self.wait_terminal(orders, until, known)

    def journal_event(self, cl_ord_id: str, event: str) -> None:
        row = self.journal.order(cl_ord_id)
        if row is not None:
            self.journal.add_event(cl_ord_id, event, self.clock.now())

    def recover(self, until: datetime | None = None) -> list[Order]:
        """Resolve every order the journal left open: look it up, cancel it if still working.

        With ``until``, an order OKX does not know yet is looked up again until it is proven
        absent (its expTime passed) or ``until`` comes, whichever is first."""
        open_rows = self.journal.open_orders()
        if not open_rows:
            return []
        log.info("recovering %d order(s) left open in the journal", len(open_rows))
        known: dict[str, Order] = {}
        working: dict[str, str] = {}
        for row in open_rows:
            proof_at = self.absent_after(row)
            wait = min(proof_at, until) if until is not None and proof_at is not None else None
            order = self.resolve(row.inst_id, row.cl_ord_id, wait_until=wait)
            if order is None:
                continue
            known[row.cl_ord_id] = order
            if not order.is_terminal:
                working[row.cl_ord_id] = row.inst_id
        if working:
            log.info("cancelling %d order(s) still working from an earlier run", len(working))
            self.settle(working, known)
        return list(known.values())
