"""What the collector does at each bar close — pure, ``close`` is always an argument.

The base interval (the smallest configured) is fetched for the union of every account's
instruments; each larger interval is resampled for the instruments of the accounts trading it.
Instruments are keyed by instrument id (never by an alias: bug 11 of the original framework).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from config.schema import FleetConfig
from core.intervals import Interval, bar_closes_at, floor_to_bar, okx_bar
from core.resample import bins_per_bar

__all__ = ["CollectPlan", "build_plan"]


@dataclass(frozen=True)
class CollectPlan:
    """Intervals (ascending, base first) and the instruments each one is built for."""

    tz: str
    instruments: Mapping[Interval, tuple[str, ...]]

    def __post_init__(self) -> None:
        if not self.instruments:
            raise ValueError("a collect plan needs at least one interval")
        base = self.base
        everything = set(self.instruments[base])
        for iv, insts in self.instruments.items():
            bins_per_bar(base, iv)  # raises if base does not divide iv
            if not set(insts) <= everything:
                raise ValueError(f"{iv} instruments {sorted(set(insts) - everything)} missing from the base")

    @property
    def intervals(self) -> list[Interval]:
        return sorted(self.instruments)

    @property
    def base(self) -> Interval:
        return min(self.instruments)

    @property
    def larger(self) -> list[Interval]:
        """Every configured interval but the base, ascending."""
        return self.intervals[1:]

    @property
    def all_instruments(self) -> tuple[str, ...]:
        """What the collector fetches: the base interval's instruments (the union of all)."""
        return self.instruments[self.base]

    @property
    def base_bar(self) -> str:
        """OKX bar code for the base interval (``1H``, not ``1h``: bug 22)."""
        return okx_bar(self.base, self.tz)

    def closing_at(self, close: datetime) -> list[Interval]:
        """Intervals with a bar closing exactly at ``close``, ascending (base first, if any)."""
        return [iv for iv in self.intervals if bar_closes_at(close, iv, self.tz)]

    def last_close(self, now: datetime, interval: Interval | None = None) -> datetime:
        """Close time of the newest bar of ``interval`` (default base) closed at or before ``now``."""
        return floor_to_bar(now, interval or self.base, self.tz)

    def bar_open(self, close: datetime, interval: Interval | None = None) -> datetime:
        """Open time of the bar of ``interval`` (default base) that closes at ``close``."""
        return close - (interval or self.base).delta


def build_plan(cfg: FleetConfig) -> CollectPlan:
    """The plan for a configuration: union of instruments on the base, per-account lists above it."""
    per_interval: dict[Interval, set[str]] = {iv: set() for iv in cfg.intervals}
    for acct in cfg.accounts.values():
        per_interval[acct.interval_obj].update(s.inst_id for s in acct.strategies)
    base = cfg.base_interval
    per_interval[base].update(cfg.instruments)
    return CollectPlan(
        tz=cfg.candle_timezone,
        instruments={iv: tuple(sorted(insts)) for iv, insts in per_interval.items()},
    )
