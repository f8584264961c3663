"""Pure formatting: events -> DingTalk markdown ``(title, text)``, digests, truncation, cadence.

Every message starts with a ``####`` header (carrying the robot keyword, if any), then short
lines. Times are UTC, ISO 8601 with a ``Z``. Text is redacted (:func:`core.redaction.redact`)
and cut to :data:`MAX_TEXT_BYTES` of UTF-8 on a line boundary, with a "… (truncated)" note.
Lines are separated by blank lines because DingTalk's markdown drops single newlines.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from core.logs import printable
from core.redaction import redact
from notify.events import (
    BarReport,
    Crash,
    DataAlert,
    Event,
    OrderRejected,
    ProcessStarted,
    ProcessStopped,
    TradingAlert,
)
from notify.format_trading import render_trading_alert

__all__ = [
    "MAX_TEXT_BYTES",
    "MAX_TITLE_CHARS",
    "TRUNCATION_NOTE",
    "ReportCadence",
    "format_digest",
    "format_event",
    "format_notice",
    "take_digest",
    "truncate_text",
    "utc_iso",
]

MAX_TEXT_BYTES = 18_000  # DingTalk documents ~20,000 bytes for markdown text; stay below it
MAX_TITLE_CHARS = 60
TRUNCATION_NOTE = "… (truncated)"
TRACEBACK_LINES = 12
_FIELD_CHARS = 400
_SEP = "\n\n"
_DIGEST_SEP = "\n\n---\n\n"

_ALERT_LABELS = {
    "marker_late": "Marker late 数据标记超时",
    "instrument_failed": "Instrument failed 品种下载失败",
    "gap_repaired": "Gap repaired 缺口已修复",
    "verification_mismatch": "Verification mismatch 数据校验不一致",
    "stale_data": "Stale data 数据过期",
    "gap_filled": "Gap filled flat 缺口已平填",
    "gap_replaced": "Filled gap replaced 平填K线已替换",
    "duplicate_rows": "Duplicate rows removed 重复行已删除",
    "ws_down": "WebSocket feed down 行情推送中断",
    "ws_recovered": "WebSocket feed recovered 行情推送恢复",
    "ws_refused": "Subscription refused 行情订阅被拒",
    # issue #16: risk limits, kill switch, treasury
    "risk_halt": "Risk halt 风控停止交易",
    "risk_daily_loss": "Daily loss limit 日内亏损上限",
    "risk_clip": "Order clipped 风控限额",
    "kill_switch": "Kill switch 一键平仓",
    "resume": "Halt lifted 恢复交易",
    "transfer_done": "Transfer done 划转完成",
    "transfer_failed": "Transfer failed 划转失败",
    "transfer_refused": "Transfer refused 划转拒绝",
    "transfer_waiting": "Transfer waiting 划转等待",
    "transfer_deferred": "Transfer deferred 划转推迟",
    "transfer_unconfirmed": "Transfer unconfirmed 划转待确认",
}
_TARGETS = {1: "long 多 (1)", -1: "short 空 (-1)", 0: "flat 平 (0)", None: "keep 不变"}


# ---- small helpers ---------------------------------------------------------------------------
def utc_iso(ts: datetime) -> str:
    """``2024-05-01T08:30:00Z``; naive datetimes are refused."""
    if ts.tzinfo is None:
        raise ValueError(f"naive datetime {ts!r}: okxfleet only handles aware datetimes")
    return ts.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _one_line(value: object, limit: int = _FIELD_CHARS) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _dec(value: Decimal | None) -> str:
    if value is None:
        return "-"
    if not value.is_finite():
        return str(value)
    return format(value.normalize(), "f")


def _money(value: Decimal | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    if not value.is_finite():
        return str(value)
    q = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if abs(value) >= 1 else value.normalize()
    return format(q, "+f" if signed else "f")


def truncate_text(text: str, limit_bytes: int = MAX_TEXT_BYTES) -> str:
    """``text`` if it fits in ``limit_bytes`` of UTF-8, else cut on a line boundary plus a note."""
    if len(text.encode("utf-8")) <= limit_bytes:
        return text
    tail = _SEP + TRUNCATION_NOTE
    budget = limit_bytes - len(tail.encode("utf-8"))
    kept: list[str] = []
    used = 0
    for line in text.split("\n"):
        size = len(line.encode("utf-8")) + (1 if kept else 0)
        if used + size > budget:
            break
        kept.append(line)
        used += size
    head = "\n".join(kept).rstrip()
    if not head.strip():  # the first line alone is too long: cut inside it, on a character boundary
        head = text.encode("utf-8")[: max(budget, 0)].decode("utf-8", errors="ignore").rstrip()
    return head + tail


def _finish(title: str, lines: Sequence[str], keyword: str | None, at: datetime | None) -> tuple[str, str]:
    # printable: UTF-8 cannot carry a lone surrogate (a file name, an exception text) -- escape it
    title = printable(redact(_one_line(title, 200)))
    body = [printable(redact(line)) for line in lines]
    if at is not None:
        body.append(f"_at {utc_iso(at)}_")
    prefix = f"{keyword} | " if keyword else ""
    text = truncate_text(_SEP.join([f"#### {prefix}{title}", *body]))
    full_title = f"[{keyword}] {title}" if keyword else title
    if len(full_title) > MAX_TITLE_CHARS:
        full_title = full_title[: MAX_TITLE_CHARS - 1] + "…"
    return full_title, text


# ---- one renderer per event ------------------------------------------------------------------
def _bar_report(e: BarReport) -> tuple[str, list[str]]:
    n = len(e.orders)
    title = f"{e.account} · bar {utc_iso(e.bar_close)}" + (f" · {n} order{'s' * (n != 1)}" if n else "")
    lines = [
        f"**Account 账户** {_one_line(e.account)} · **bar close** {utc_iso(e.bar_close)} (UTC)",
        f"**Equity 账户权益** {_money(e.equity)}",
    ]
    if e.orders:
        lines.append(f"**Orders 订单信息** ({n})")
        for o in e.orders:
            lines.append(
                f"- {o.inst_id} {o.side}/{o.pos_side} sz {_dec(o.sz)} filled {_dec(o.filled)}"
                f" @ {_dec(o.avg_px)} · {o.state} · {o.cl_ord_id}"
            )
    lines.append(f"**Positions 持仓信息** ({len(e.positions)})")
    if not e.positions:
        lines.append("- none 无持仓")
    for p in e.positions:
        lines.append(
            f"- {p.inst_id} {p.direction} {_dec(p.size)} entry {_dec(p.entry)} uPnL {_money(p.upl, True)}"
        )
    if e.signals:
        parts = [f"{inst} → {_TARGETS.get(target, str(target))}" for inst, target in e.signals]
        lines.append("**Signals 信号** " + "; ".join(parts))
    if e.skipped:
        lines.append("**Skipped 跳过** " + "; ".join(_one_line(s, 120) for s in e.skipped))
    return title, lines


def _render(event: Event) -> tuple[str, list[str]]:
    if isinstance(event, BarReport):
        return _bar_report(event)
    if isinstance(event, ProcessStarted):
        lines = [f"**Process 进程** {_one_line(event.process)} started 已启动"]
        if event.detail:
            lines.append(_one_line(event.detail))
        return f"{event.process} started 启动", lines
    if isinstance(event, ProcessStopped):
        lines = [f"**Process 进程** {_one_line(event.process)} stopped 已停止"]
        if event.reason:
            lines.append(f"**Reason 原因** {_one_line(event.reason)}")
        return f"{event.process} stopped 停止", lines
    if isinstance(event, OrderRejected):
        return f"{event.account} · order rejected 下单被拒 · {event.inst_id}", [
            f"**Account 账户** {_one_line(event.account)} · **instrument** {event.inst_id}",
            f"**clOrdId** {_one_line(event.cl_ord_id)}",
            f"**Code** {_one_line(event.code)} · {_one_line(event.message)}",
        ]
    if isinstance(event, DataAlert):
        label = _ALERT_LABELS.get(event.kind, _one_line(event.kind, 60))
        where = " ".join(x for x in (event.inst_id, event.interval) if x)
        lines = [f"**Process 进程** {_one_line(event.process)} · **kind** {_one_line(event.kind, 60)}"]
        if where:
            lines.append(f"**Instrument 品种** {_one_line(where)}")
        lines.append(f"**Detail 详情** {_one_line(event.detail)}")
        return f"{label}" + (f" · {where}" if where else ""), lines
    if isinstance(event, TradingAlert):
        return render_trading_alert(event)
    if isinstance(event, Crash):
        tb = [line.rstrip() for line in event.traceback.strip().splitlines() if line.strip()]
        shown = tb[-TRACEBACK_LINES:]
        lines = [
            f"**Process 进程** {_one_line(event.process)} crashed 程序崩溃",
            f"**Error 错误** {_one_line(event.error)}",
        ]
        if len(tb) > len(shown):
            lines.append(f"> … {len(tb) - len(shown)} earlier traceback lines")
        lines.extend("> " + _one_line(line, 200) for line in shown)
        return f"{event.process} crashed 崩溃", lines
    name = type(event).__name__
    return name, [_one_line(repr(event), 2000)]


def format_event(event: Event, *, keyword: str | None = None, at: datetime | None = None) -> tuple[str, str]:
    """``(title, markdown text)`` for one event: redacted, within :data:`MAX_TEXT_BYTES`.

    ``keyword`` (the robot's security keyword) prefixes the title and the header line; ``at``
    (when the event was queued) adds a time line, useful when messages are delayed into a digest.
    """
    title, lines = _render(event)
    return _finish(title, lines, keyword, at)


def format_notice(
    title: str, lines: Sequence[str], *, keyword: str | None = None, at: datetime | None = None
) -> tuple[str, str]:
    """A free-form message (e.g. "N messages were dropped") in the same layout as events."""
    return _finish(title, lines, keyword, at)


# ---- digests ---------------------------------------------------------------------------------
def _digest_header(count: int, keyword: str | None, source: str | None) -> tuple[str, str]:
    frm = f" from {source}" if source else ""
    title = f"Digest 汇总 · {count} messages{frm}"
    prefix = f"{keyword} | " if keyword else ""
    full_title = f"[{keyword}] {title}" if keyword else title
    if len(full_title) > MAX_TITLE_CHARS:
        full_title = full_title[: MAX_TITLE_CHARS - 1] + "…"
    return full_title, f"#### {prefix}{redact(title)}"


def take_digest(
    messages: Sequence[tuple[str, str]],
    *,
    keyword: str | None = None,
    source: str | None = None,
    limit_bytes: int = MAX_TEXT_BYTES,
) -> tuple[int, tuple[str, str]]:
    """Merge as many leading ``messages`` as fit in one post: ``(how many used, (title, text))``.

    At least one message is always used; a single message is returned as it is. Messages are
    already formatted (redacted, truncated), so nothing is cut here: what does not fit is left
    for the next digest.
    """
    if not messages:
        raise ValueError("take_digest needs at least one message")
    if len(messages) == 1:
        return 1, messages[0]
    _, worst_header = _digest_header(len(messages), keyword, source)
    used = len(worst_header.encode("utf-8"))
    sep = len(_DIGEST_SEP.encode("utf-8"))
    count = 0
    for _title, text in messages:
        size = sep + len(text.encode("utf-8"))
        if used + size > limit_bytes:
            break
        used += size
        count += 1
    if count <= 1:
        return 1, messages[0]
    title, header = _digest_header(count, keyword, source)
    return count, (title, _DIGEST_SEP.join([header, *(text for _, text in messages[:count])]))


def format_digest(
    messages: Sequence[tuple[str, str]], *, keyword: str | None = None, source: str | None = None
) -> tuple[str, str]:
    """All ``messages`` under one title, truncated to the limit (prefer :func:`take_digest`)."""
    if len(messages) == 1:
        return messages[0]
    title, header = _digest_header(len(messages), keyword, source)
    return title, truncate_text(_DIGEST_SEP.join([header, *(text for _, text in messages)]))


# ---- cadence ---------------------------------------------------------------------------------
class ReportCadence:
    """When to send the per-bar report, like the original's ``run_time.minute % 30 == 0 or signals``.

    Due when the bar's close time, as minute of the day in ``tz`` (UTC by default), is a multiple
    of ``every_minutes``, or whenever something was ordered. ``every_minutes=0`` reports only
    bars with orders. Pick a divisor of 1440 (the count restarts at midnight).
    """

    def __init__(self, every_minutes: int, tz: str | tzinfo = UTC) -> None:
        if every_minutes < 0:
            raise ValueError(f"every_minutes must be >= 0, got {every_minutes}")
        self.every_minutes = every_minutes
        self.tz: tzinfo = ZoneInfo(tz) if isinstance(tz, str) else tz

    def due(self, bar_close: datetime, ordered: bool) -> bool:
        if ordered:
            return True
        if self.every_minutes == 0:
            return False
        if bar_close.tzinfo is None:
            raise ValueError(f"naive datetime {bar_close!r}: okxfleet only handles aware datetimes")
        local = bar_close.astimezone(self.tz)
        return (local.hour * 60 + local.minute) % self.every_minutes == 0

    def due_for(self, report: BarReport) -> bool:
        """``due(report.bar_close, report.ordered)``."""
        return self.due(report.bar_close, report.ordered)

    def __repr__(self) -> str:
        return f"ReportCadence(every_minutes={self.every_minutes}, tz={self.tz!s})"
