"""The per-bar report event (the original's ``dingding_report_every_loop``), built purely."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from exchange.records import Order
from notify.events import BarReport, OrderLine, PositionLine
from trader.signals import Decision
from trader.state import AccountState

__all__ = ["build_bar_report", "order_lines", "position_lines"]


def order_lines(orders: Iterable[Order]) -> tuple[OrderLine, ...]:
    return tuple(
        OrderLine(
            inst_id=o.inst_id,
            side=o.side,
            pos_side=o.pos_side or "net",
            sz=o.sz,
            filled=o.acc_fill_sz,
            avg_px=o.avg_px,
            state=o.state,
            cl_ord_id=o.cl_ord_id,
        )
        for o in orders
    )


def position_lines(state: AccountState, spot_ids: Iterable[str] = ()) -> tuple[PositionLine, ...]:
    lines = [
        PositionLine(
            inst_id=p.inst_id,
            direction="long" if p.signed_pos > 0 else "short",
            size=abs(p.pos),
            entry=p.avg_px,
            upl=p.upl,
        )
        for p in state.positions
    ]
    for inst_id in spot_ids:
        held = state.holding(inst_id).long
        if held > 0:
            lines.append(PositionLine(inst_id=inst_id, direction="long", size=held, entry=None, upl=None))
    return tuple(sorted(lines, key=lambda line: line.inst_id))


def build_bar_report(
    account: str,
    bar_close: datetime,
    equity: Decimal,
    decisions: Sequence[Decision],
    orders: Iterable[Order],
    state: AccountState,
    skipped: Sequence[str],
    spot_ids: Iterable[str] = (),
) -> BarReport:
    return BarReport(
        account=account,
        bar_close=bar_close,
        equity=equity,
        orders=order_lines(orders),
        positions=position_lines(state, spot_ids),
        signals=tuple((d.inst_id, d.target) for d in decisions if d.ok),
        skipped=tuple(skipped),
    )
