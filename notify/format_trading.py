"""Pure formatting of :class:`notify.events.TradingAlert` (used by :mod:`notify.format`)."""

from __future__ import annotations

from notify.events import TradingAlert

__all__ = ["TRADING_LABELS", "render_trading_alert"]

TRADING_LABELS = {
    "order_unresolved": "Order unresolved 订单状态未知",
    "order_rejected": "Order rejected 下单被拒",
    "order_failed": "Order failed 下单失败",
    "strategy_error": "Strategy error 策略出错",
    "margin_shortfall": "Margin shortfall 保证金不足",
    "bar_skipped": "Bar skipped 跳过K线",
    "target_not_reached": "Target not reached 目标仓位未达成",
    "trading_paused": "Trading paused 交易暂停",
    "late_registration": "Late order found 迟到订单",
    "unjournaled_order": "Unjournaled order 未记录订单",
    "journal_unreadable": "Journal unreadable 日志库损坏",
    "risk_halt": "Risk halt 风控停止交易",
    "risk_daily_loss": "Daily loss limit 日内亏损上限",
    "risk_clip": "Order clipped 风控限额",
    "kill_switch": "Kill switch 一键平仓",
    "kill_switch_failed": "Kill switch failed 一键平仓失败",
    "resume": "Halt lifted 恢复交易",
}


def _one_line(value: object, limit: int = 400) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_trading_alert(e: TradingAlert) -> tuple[str, list[str]]:
    """``(title, lines)`` of one trading alert (times in UTC ISO 8601)."""
    label = TRADING_LABELS.get(e.kind, _one_line(e.kind, 60))
    head = f"**Account 账户** {_one_line(e.account)} · **kind** {_one_line(e.kind, 60)}"
    lines = [head]
    if e.inst_id:
        lines.append(f"**Instrument 品种** {_one_line(e.inst_id)}")
    if e.bar_close is not None:
        lines.append(f"**Bar K线** {e.bar_close.isoformat().replace('+00:00', 'Z')}")
    lines.append(f"**Detail 详情** {_one_line(e.detail)}")
    title = f"{e.account} · {label}" + (f" · {e.inst_id}" if e.inst_id else "")
    return title, lines
