"""Notifications: DingTalk robot client, queue and pure message formatting."""

from notify.events import (
    BarReport,
    Crash,
    DataAlert,
    Event,
    OrderLine,
    OrderRejected,
    PositionLine,
    ProcessStarted,
    ProcessStopped,
)
from notify.format import ReportCadence, format_event
from notify.service import LogNotifier, Notifier, RecordingNotifier, make_notifier

__all__ = [
    "BarReport",
    "Crash",
    "DataAlert",
    "Event",
    "LogNotifier",
    "Notifier",
    "OrderLine",
    "OrderRejected",
    "PositionLine",
    "ProcessStarted",
    "ProcessStopped",
    "RecordingNotifier",
    "ReportCadence",
    "format_event",
    "make_notifier",
]
