"""Errors grouped by how the caller reacts (freqtrade style).

::

    OkxfleetError
    ├── ConfigError            bad configuration or credentials: stop the process with the message
    ├── DataError              data missing, stale or partial: skip the bar, alert, never guess
    ├── StrategyError          a strategy raised or returned nonsense: skip that strategy this bar
    └── TemporaryError         network trouble, maintenance, 5xx: retry with backoff
        └── RateLimitedError   over a rate budget: wait, then retry

Exchange-specific errors (rejections, insufficient funds, unknown outcomes) live in
``exchange.errors`` and subclass these where the reaction is the same.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DataError",
    "OkxfleetError",
    "RateLimitedError",
    "StrategyError",
    "TemporaryError",
]


class OkxfleetError(Exception):
    """Base of every error okxfleet raises on purpose."""


class ConfigError(OkxfleetError):
    """Configuration or credentials are wrong; the process cannot work. Carries every problem."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class DataError(OkxfleetError):
    """Market data is missing, stale or partial. Never trade on it."""


class StrategyError(OkxfleetError):
    """A strategy failed; names the strategy and instrument."""

    def __init__(self, strategy: str, inst_id: str, reason: str) -> None:
        self.strategy = strategy
        self.inst_id = inst_id
        self.reason = reason
        super().__init__(f"strategy {strategy!r} on {inst_id}: {reason}")


class TemporaryError(OkxfleetError):
    """Something that may work if tried again later."""


class RateLimitedError(TemporaryError):
    """A rate budget was exceeded; wait before retrying."""
