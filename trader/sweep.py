"""Catching up with orders OKX registered late (run at the start of every cycle).

An order can reach OKX after the trader gave up on its request (a timeout, a held request, a
crash): the journal then says ``not_placed``/``unknown`` while OKX holds or filled it. Before
anything new is sent, :func:`sweep` reads the account's pending orders and its recent fills and
brings every ``ox…`` order (:mod:`trader.clordid`) among them into the journal:

- a pending order the journal does not consider open is updated to ``live`` (alert
  ``late_registration``) and cancelled: a new bar decides afresh from the standing targets;
- a pending ``ox…`` order the journal does not know at all (``unjournaled_order``) is cancelled;
- every fill of an ``ox…`` order is journaled (``INSERT OR IGNORE``); its order, if the journal
  does not have its final state, is fetched and updated (alert ``late_registration``).

Network first, then one journal transaction: no SQLite write is held across a network call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from exchange.errors import ExchangeError, OrderNotFound
from exchange.records import Fill, Order
from trader.clordid import is_ours
from trader.journal import OPEN_STATUSES, Journal
from trader.ports import AccountPort
from trader.tracking import OrderTracker

__all__ = ["SweepResult", "sweep"]

log = logging.getLogger(__name__)
FILLS_PAGE = 100
Alert = Callable[..., None]


@dataclass
class SweepResult:
    late: list[str] = field(default_factory=list)  # journaled ids OKX registered after all
    unjournaled: list[str] = field(default_factory=list)
    fills: int = 0


def _fetch(client: AccountPort, inst_id: str, cl_ord_id: str) -> Order | None:
    try:
        return client.get_order(inst_id, cl_ord_id=cl_ord_id)
    except OrderNotFound:
        return None
    except ExchangeError as exc:
        log.warning("sweep: order %s: %s", cl_ord_id, exc)
        return None


def sweep(client: AccountPort, journal: Journal, tracker: OrderTracker, alert: Alert) -> SweepResult:
    """Bring late-registered ``ox…`` orders and their fills into the journal; cancel strays."""
    result = SweepResult()
    pending = [o for o in client.pending_orders() if is_ours(o.cl_ord_id)]
    fills: list[Fill] = [f for f in client.fills(limit=FILLS_PAGE) if is_ours(f.cl_ord_id)]
    late_orders: dict[str, Order] = {}
    strays: dict[str, str] = {}
    for order in pending:
        row = journal.order(order.cl_ord_id)
        if row is None:
            strays[order.cl_ord_id] = order.inst_id
        elif row.status not in OPEN_STATUSES:
            late_orders[order.cl_ord_id] = order
    for f in fills:
        row = journal.order(f.cl_ord_id)
        if row is None or f.cl_ord_id in late_orders:
            continue
        if row.status in ("intent", "unknown", "not_placed", "lost") or row.acc_fill_sz == 0:
            fetched = _fetch(client, f.inst_id, f.cl_ord_id)
            if fetched is not None and (row.state != fetched.state or row.acc_fill_sz != fetched.acc_fill_sz):
                late_orders[f.cl_ord_id] = fetched
    now = tracker.clock.now()
    with journal.transaction():
        result.fills = journal.record_fills(fills)
        for cl, order in late_orders.items():
            before = journal.order(cl)
            journal.update_order(order, now)
            journal.add_event(cl, "late_registration", now, {"was": before.status if before else None})
            if before is not None and before.status not in ("done",):
                result.late.append(cl)
                alert(
                    "late_registration",
                    f"order {cl} was {before.status} in the journal but OKX has it: {order.state}, "
                    f"filled {order.acc_fill_sz}",
                    order.inst_id,
                )
        for cl, inst_id in strays.items():
            result.unjournaled.append(cl)
            alert(
                "unjournaled_order",
                f"okxfleet order {cl} is pending at OKX but not in the journal; cancelling",
                inst_id,
            )
    working = {cl: o.inst_id for cl, o in late_orders.items() if not o.is_terminal}
    if working:
        tracker.settle(working, {cl: late_orders[cl] for cl in working})
    for cl, inst_id in strays.items():
        try:
            client.cancel_order(inst_id, cl_ord_id=cl)
        except ExchangeError as exc:
            log.warning("sweep: cancel %s %s: %s", inst_id, cl, exc)
    return result
