"""Redis key names and stream ids of the data bus — pure, one place.

Every key starts with the configured prefix (default ``okxfleet``), so several fleets can share one
Redis. Stream entry ids are derived from bar times, which makes every publish idempotent: a bar's
id is its open time in ms (``<ms>-0``), a marker's id its close time; Redis refuses an id at or
below the stream's last one, so a re-publish after a restart is a no-op, never a duplicate.
"""

from __future__ import annotations

from datetime import datetime

from core.clock import from_ms, to_ms
from core.intervals import Interval

__all__ = [
    "Keys",
    "id_time",
    "time_id",
]


def time_id(ts: datetime) -> str:
    """The stream id of the bar opening (or the marker closing) at ``ts``."""
    return f"{to_ms(ts)}-0"


def id_time(entry_id: str | bytes) -> datetime:
    """The time an entry id stands for (inverse of :func:`time_id`)."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return from_ms(int(text.split("-", 1)[0]))


class Keys:
    """Key names under one prefix."""

    def __init__(self, prefix: str = "okxfleet") -> None:
        if not prefix or any(c in prefix for c in " \t\n{}"):
            raise ValueError(f"bad Redis key prefix {prefix!r}")
        self.prefix = prefix

    def bars(self, inst_id: str, interval: Interval | str) -> str:
        """Stream of one instrument's closed bars of one interval."""
        return f"{self.prefix}:bars:{interval}:{inst_id}"

    def markers(self, interval: Interval | str) -> str:
        """Stream of one interval's markers."""
        return f"{self.prefix}:markers:{interval}"

    def reports(self, interval: Interval | str, bar_close: datetime) -> str:
        """Hash of the per-instrument statuses the collector shares reported for one close."""
        return f"{self.prefix}:reports:{interval}:{to_ms(bar_close)}"

    def lease(self, account: str) -> str:
        return f"{self.prefix}:lease:{account}"

    def fence(self, account: str) -> str:
        """Counter handing out fencing tokens for one account's lease."""
        return f"{self.prefix}:fence:{account}"

    def lease_holder(self, account: str) -> str:
        return f"{self.prefix}:holder:{account}"

    def account_state(self, account: str) -> str:
        """Hash of an account's standing targets and halt state (Redis mode)."""
        return f"{self.prefix}:state:{account}"

    def commands(self, account: str) -> str:
        """List of operator commands (``--set-target``, ``--flatten``, ``--resume``) for the holder."""
        return f"{self.prefix}:commands:{account}"

    def intents(self, account: str) -> str:
        """Hash clOrdId -> intent of an account's orders (write-ahead, shared across hosts)."""
        return f"{self.prefix}:intents:{account}"

    def journal(self, account: str, part: str) -> str:
        """Hash of an account's replicated journal rows (``cycles`` or ``signals``)."""
        return f"{self.prefix}:journal:{part}:{account}"

    def collectors(self) -> str:
        """Sorted set of live collectors, scored by lease expiry (ms)."""
        return f"{self.prefix}:collectors"

    def shares(self) -> str:
        """Hash collector -> JSON list of the instruments it owns (for the operator view)."""
        return f"{self.prefix}:shares"

    def pattern(self, kind: str) -> str:
        return f"{self.prefix}:{kind}:*"
