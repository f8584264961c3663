"""Pure decisions on standing targets (:mod:`trader.targets` stores them).

- :func:`apply_standing`: a strategy's ``None`` becomes the standing target, so the position is
  diffed against it every bar (an exit that was dropped still happens on the next bar).
- :func:`retry_due`: per-instrument backoff after bars whose orders failed: retry on the next bar
  after one failure, then wait 1, 3, 7 ... bars (at most :data:`MAX_BACKOFF_BARS`).
- :func:`reached`: whether a holding satisfies a target (within the sizing band).
- :func:`alert_due`: alert when a target is missed ``every`` bars in a row, and every ``every``
  bars after that.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from trader.diff import DEFAULT_BAND, Holding, Mode
from trader.signals import Decision
from trader.targets import StandingTarget

__all__ = ["MAX_BACKOFF_BARS", "alert_due", "apply_standing", "backoff_bars", "reached", "retry_due"]

MAX_BACKOFF_BARS = 15


def apply_standing(decisions: list[Decision], standing: dict[str, StandingTarget]) -> list[Decision]:
    """Each decision with the standing target in place of a strategy's ``None``."""
    out = []
    for d in decisions:
        held = standing.get(d.inst_id)
        if d.ok and d.target is None and held is not None:
            d = replace(d, target=held.target)
        out.append(d)
    return out


def backoff_bars(fails: int) -> int:
    """Bars to leave out after ``fails`` failed bars in a row: 0, 1, 3, 7, ... capped."""
    if fails <= 1:
        return 0
    return min(2 ** (fails - 1) - 1, MAX_BACKOFF_BARS)


def retry_due(held: StandingTarget, bar_close: datetime, interval: timedelta) -> bool:
    """Whether orders for ``held`` may be sent on the bar closing at ``bar_close``."""
    if held.fails == 0 or held.failed_bar is None:
        return True
    since = bar_close - datetime.fromisoformat(held.failed_bar)
    return since > interval * backoff_bars(held.fails)


def reached(
    target: int,
    holding: Holding,
    size: Decimal | None,
    mode: Mode,
    band: Decimal = DEFAULT_BAND,
    dust: Decimal = Decimal(0),
) -> bool:
    """``holding`` satisfies ``target``: flat (up to ``dust``, what is too small to sell) for 0;
    for 1/-1 nothing on the other side and the target side within ``band`` of ``size`` (any
    amount when the size is not known yet)."""
    if mode == "spot" and target == -1:
        target = 0
    if target == 0:
        return holding.long <= dust and holding.short <= dust
    held, other = (holding.long, holding.short) if target > 0 else (holding.short, holding.long)
    if other > dust or held <= 0:
        return False
    return size is None or size == 0 or abs(size - held) <= band * size


def alert_due(misses: int, every: int) -> bool:
    """Alert on the ``every``-th miss in a row, and on every ``every`` misses after it."""
    return every > 0 and misses >= every and misses % every == 0
