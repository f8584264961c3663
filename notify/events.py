"""What the collector and traders tell the operator: typed, frozen events.

Money, prices and sizes are ``Decimal``; datetimes are timezone-aware. Events carry facts only —
turning them into text is :mod:`notify.format`'s job, delivering them :mod:`notify.service`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TypeAlias

__all__ = [
    "DATA_ALERT_KINDS",
    "TRADING_ALERT_KINDS",
    "BarReport",
    "Crash",
    "DataAlert",
    "Event",
    "OrderLine",
    "OrderRejected",
    "PositionLine",
    "ProcessStarted",
    "ProcessStopped",
    "TradingAlert",
]

DATA_ALERT_KINDS = (
    "marker_late",
    "instrument_failed",
    "gap_repaired",
    "verification_mismatch",
    "stale_data",
    "gap_filled",
    "gap_replaced",
    "duplicate_rows",
    "ws_down",
    "ws_recovered",
    "ws_refused",
)


@dataclass(frozen=True)
class ProcessStarted:
    """A collector or trader process came up."""

    process: str
    detail: str = ""


@dataclass(frozen=True)
class ProcessStopped:
    """A process is shutting down (SIGTERM, Ctrl-C, fatal config error...)."""

    process: str
    reason: str = ""


@dataclass(frozen=True)
class OrderLine:
    """One order placed this bar, as last seen (state ``live``/``partially_filled``/``filled``...)."""

    inst_id: str
    side: str  # "buy" | "sell"
    pos_side: str  # "long" | "short" | "net"
    sz: Decimal
    filled: Decimal
    avg_px: Decimal | None
    state: str
    cl_ord_id: str


@dataclass(frozen=True)
class PositionLine:
    """One open position after the bar's orders."""

    inst_id: str
    direction: str  # "long" | "short"
    size: Decimal
    entry: Decimal | None
    upl: Decimal | None


@dataclass(frozen=True)
class BarReport:
    """The per-bar account report (the original's 订单信息 / 持仓信息 message).

    ``signals`` are ``(inst_id, target)`` with target 1 long, -1 short, 0 flat, None keep;
    ``skipped`` names instruments (or reasons) skipped this bar.
    """

    account: str
    bar_close: datetime
    equity: Decimal
    orders: tuple[OrderLine, ...] = ()
    positions: tuple[PositionLine, ...] = ()
    signals: tuple[tuple[str, int | None], ...] = ()
    skipped: tuple[str, ...] = ()

    @property
    def ordered(self) -> bool:
        """Whether anything was ordered this bar (always reported, whatever the cadence)."""
        return bool(self.orders)


@dataclass(frozen=True)
class OrderRejected:
    """OKX refused an order (``sCode``/``sMsg``)."""

    account: str
    inst_id: str
    cl_ord_id: str
    code: str
    message: str


@dataclass(frozen=True)
class DataAlert:
    """A data-quality problem: one of :data:`DATA_ALERT_KINDS` (other kinds are shown as given)."""

    process: str
    kind: str
    detail: str
    inst_id: str | None = None
    interval: str | None = None


TRADING_ALERT_KINDS = (
    "order_unresolved",
    "order_rejected",
    "order_failed",
    "strategy_error",
    "margin_shortfall",
    "bar_skipped",
    "target_not_reached",
    "trading_paused",
    "late_registration",
    "unjournaled_order",
    "journal_unreadable",
    "risk_halt",
    "risk_daily_loss",
    "risk_clip",
    "kill_switch",
    "kill_switch_failed",
    "resume",
)


@dataclass(frozen=True)
class TradingAlert:
    """A trading failure, sent at once (outside the bar-report cadence) and journaled.

    ``kind`` is one of :data:`TRADING_ALERT_KINDS` (others are shown as given)."""

    account: str
    kind: str
    detail: str
    inst_id: str | None = None
    bar_close: datetime | None = None


@dataclass(frozen=True)
class Crash:
    """A process died (or an iteration failed) with an exception."""

    process: str
    error: str
    traceback: str


Event: TypeAlias = (
    ProcessStarted | ProcessStopped | BarReport | OrderRejected | DataAlert | TradingAlert | Crash
)
