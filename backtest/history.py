"""History older than the collector's CSVs, fetched for a backtest.

The collector's backfill only extends a CSV forward (from its last row to the last closed bar), so
a ``--from`` before a file's first row was a dead end. :func:`extend_back` fetches the missing
older bars backwards through the exchange's history (``PublicClient.candles_range``: the
collector's own paging, ``market/history-candles`` past the recent endpoint's reach, with the
backfill's progress bar) and writes them, followed by the live CSV's rows, to a separate backtest
cache: a :class:`~core.store.CandleStore` under ``<data_dir>/backtests/history/`` (the same CSV
format, so the backtest reads it like any other).

The live CSV is never rewritten: the running collector appends to it without a lock, and a
rewrite racing an append would drop that row (the collector's next append would then fail on the
hole), while the traders read the same file. The cache's older part is kept and reused; each run
re-copies the live rows after it, so the cache never lags the collector.
"""

from __future__ import annotations

import logging
from datetime import datetime

from backtest.model import BacktestError
from collector.backfill import _Progress
from collector.fetch import candle_to_bar, contiguous_from
from core.bars import Bar
from core.errors import DataError
from core.intervals import Interval, okx_bar
from core.store import CandleStore
from exchange.errors import ExchangeError
from exchange.public import PublicClient

__all__ = ["HISTORY_DIR", "extend_back"]

log = logging.getLogger(__name__)
HISTORY_DIR = "backtests/history"  # under the data folder


def _older(cache: CandleStore, inst_id: str, iv: Interval, before: datetime) -> list[Bar]:
    """The cache's bars before ``before`` (the live file's first row), if they run up to it."""
    if not cache.path(inst_id, iv).is_file():
        return []
    try:
        bars = [b for b in cache.read_all(inst_id, iv) if b.ts < before]
    except DataError as exc:  # a damaged cache is rebuilt from the exchange
        log.warning("%s %s: backtest history cache unreadable, fetching again: %s", inst_id, iv, exc)
        return []
    return bars if bars and bars[-1].ts + iv.delta == before else []


def extend_back(
    live: CandleStore, cache: CandleStore, public: PublicClient, inst_id: str, iv: Interval,
    need_from: datetime, *, progress: bool | None = None,
) -> int:  # fmt: skip
    """Make ``cache`` hold ``inst_id``'s ``iv`` bars from ``need_from`` (or the instrument's first
    bar, if later) through the live CSV's last row. Returns the bars fetched from the exchange;
    :class:`BacktestError` naming the problem when the exchange fails or leaves a hole."""
    first = live.first_time(inst_id, iv)
    if first is None:
        raise BacktestError(f"{inst_id} {iv}: no live candle file to extend backwards")
    older = _older(cache, inst_id, iv, first)
    have_from = older[0].ts if older else first
    fetched: list[Bar] = []
    if need_from < have_from:
        total = int((have_from - need_from) / iv.delta)
        bar = _Progress(total, f"history {inst_id} {iv}", progress)
        try:
            candles = public.candles_range(
                inst_id, okx_bar(iv, live.tz), need_from, have_from, progress=bar.callback(inst_id, total)
            )
        except ExchangeError as exc:
            raise BacktestError(
                f"{inst_id} {iv}: fetching history before {have_from.isoformat()} failed: {exc}"
            ) from None
        finally:
            bar.close()
        got = {c.ts: candle_to_bar(c) for c in candles if c.confirmed}
        start = min(got) if got else have_from  # a young instrument starts at its listing
        fetched = contiguous_from(got, start, have_from - iv.delta, iv)
        if got and (not fetched or fetched[-1].ts + iv.delta != have_from):
            reached = fetched[-1].ts.isoformat() if fetched else start.isoformat()
            raise BacktestError(
                f"{inst_id} {iv}: the exchange's history has a hole after {reached} "
                f"(wanted every bar up to {have_from.isoformat()})"
            )
        log.info("%s %s: %d older bar(s) fetched for the backtest", inst_id, iv, len(fetched))
    try:
        cache.rewrite(inst_id, iv, fetched + older + live.read_all(inst_id, iv))
    except DataError as exc:
        raise BacktestError(f"{inst_id} {iv}: cannot write the backtest history cache: {exc}") from None
    return len(fetched)
