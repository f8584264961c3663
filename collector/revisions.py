"""Revisions beyond the base verification window, found through OKX's own larger bars.

OKX revises closed bars (the volume of a 1H bar read 92986.87 in one fetch and 92981.09 days later,
see ``tests/fixtures/okx-real/README.md``). Comparing the last ``verify_bars`` base rows only
catches recent revisions. For every larger interval an instrument is derived in, housekeeping also
asks OKX for its latest ``verify_bars`` native bars (one request per instrument and interval) and
compares them with the derived rows on disk: a bin that differs has had a base bar revised (or was
built wrong), so its base bars are fetched again, and the ones that changed are returned for the
usual repair (base rows rewritten, the bins containing them recomputed).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime

from collector.fetch import candle_to_bar
from collector.plan import CollectPlan
from core.bars import Bar
from core.intervals import Interval, okx_bar
from core.store import CandleStore
from exchange.errors import ExchangeError
from exchange.public import PublicClient
from exchange.records import Candle

__all__ = ["differing_bins", "native_requests", "revised_base_rows"]

log = logging.getLogger(__name__)


def native_requests(plan: CollectPlan, insts: Iterable[str]) -> list[tuple[str, str]]:
    """(instId, OKX bar) of every larger interval each instrument is derived in."""
    return [
        (inst, okx_bar(iv, plan.tz)) for iv in plan.larger for inst in insts if inst in plan.instruments[iv]
    ]


def differing_bins(
    stored: Iterable[Bar], native: Iterable[Candle], iv: Interval, now: datetime
) -> list[datetime]:
    """Open times of closed native bars whose stored derived row differs, ascending."""
    mine = {b.ts: b for b in stored}
    out = []
    for c in native:
        if c.confirmed and c.ts + iv.delta <= now and c.ts in mine and candle_to_bar(c) != mine[c.ts]:
            out.append(c.ts)
    return sorted(out)


def revised_base_rows(
    client: PublicClient,
    store: CandleStore,
    plan: CollectPlan,
    inst: str,
    native: Mapping[Interval, list[Candle] | ExchangeError],
    now: datetime,
    rows: int,
) -> dict[datetime, Bar]:
    """Base bars (as OKX serves them now) that differ from the CSV, inside every bin of the last
    ``rows`` derived rows per interval that differs from OKX's native bar."""
    base = plan.base
    fixes: dict[datetime, Bar] = {}
    for iv, reply in native.items():
        if isinstance(reply, ExchangeError):
            log.info("%s %s: native bars unavailable for verification: %s", inst, iv, reply)
            continue
        for opened in differing_bins(store.tail(inst, iv, rows), reply, iv, now):
            end = opened + iv.delta
            try:
                remote = client.candles_range(inst, plan.base_bar, opened, end)
            except ExchangeError as exc:
                log.info(
                    "%s: cannot refetch the %s bars of %s %s: %s", inst, base, iv, opened.isoformat(), exc
                )
                continue
            last = store.last_time(inst, base)
            count = 0 if last is None or last < opened else int((last - opened) / base.delta) + 1
            local = {b.ts: b for b in store.tail(inst, base, count) if b.ts < end}
            for c in remote:
                bar = candle_to_bar(c)
                if c.confirmed and c.ts in local and local[c.ts] != bar:
                    fixes[c.ts] = bar
            if not any(opened <= ts < end for ts in fixes):
                log.warning("%s: OKX's own %s bar %s differs from the aggregation of its %s bars",
                            inst, iv, opened.isoformat(), base)  # fmt: skip
    return fixes
