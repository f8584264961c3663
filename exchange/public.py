"""Keyless market data: one :class:`PublicClient` per process, ccxt underneath.

Every call waits for the per-IP budget of its endpoint (one :class:`RateLimiter` shared by all
threads), is retried with backoff when OKX is temporarily unavailable, and returns records.
Candles keep OKX's ``confirm`` flag and come back ascending.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any

from core.clock import Clock, to_ms
from exchange import parse as p
from exchange.errors import BadResponse, ExchangeError, UnknownInstrument
from exchange.history import collect_range
from exchange.ratelimit import RateLimiter
from exchange.records import (
    Candle,
    FundingRate,
    FundingSettlement,
    Instrument,
    MarkPrice,
    OrderBook,
    PublicTrade,
    Ticker,
)
from exchange.retry import RetryPolicy, call_with_retry

if TYPE_CHECKING:  # ccxt is imported only when a ccxt transport is used (the trader never does)
    from exchange.ccxtraw import RawOkx

__all__ = ["Fetch", "PublicClient", "inst_type_of"]

log = logging.getLogger(__name__)
_API = "/api/v5/"
CANDLES_MAX = 300  # market/candles page size
HISTORY_MAX = 100  # market/history-candles: 300 in the 2026 docs, 100 in older ones
FUNDING_HISTORY_MAX = 400  # public/funding-rate-history page size


Fetch = Callable[[str, dict[str, Any]], Any]  # (path under /api/v5/, params) -> the raw reply


def inst_type_of(inst_id: str) -> str:
    """OKX instType from the id's shape: ``BTC-USDT`` SPOT, ``…-SWAP`` SWAP, ``…-250627`` FUTURES."""
    parts = inst_id.split("-")
    if parts[-1] == "SWAP":
        return "SWAP"
    if len(parts) == 2:
        return "SPOT"
    if len(parts) == 3 and parts[2].isdigit():
        return "FUTURES"
    return "OPTION"


class PublicClient:
    """OKX public REST. Thread-safe; each worker thread gets its own ccxt instance."""

    def __init__(
        self,
        *,
        new_exchange: Callable[[], RawOkx] | None = None,
        clock: Clock,
        limiter: RateLimiter,
        max_workers: int = 16,
        retry: RetryPolicy | None = None,
        instruments_ttl_s: float = 3600.0,
        rng: random.Random | None = None,
        fetch: Fetch | None = None,
    ) -> None:
        if (new_exchange is None) == (fetch is None):
            raise ValueError("PublicClient needs either new_exchange (ccxt) or fetch (plain HTTP)")
        self._new_exchange = new_exchange
        self._fetch = fetch
        self.clock = clock
        self.limiter = limiter
        self.max_workers = max(1, max_workers)
        self.retry = retry or RetryPolicy()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not crypto
        self._ttl_s = instruments_ttl_s
        self._local = threading.local()
        self._lock = threading.Lock()
        self._exchanges: list[RawOkx] = []
        self._pool: ThreadPoolExecutor | None = None
        self._on_close: list[Callable[[], None]] = []
        self._instruments: dict[str, Instrument] = {}
        self._loaded_at: dict[str, datetime] = {}
        self._inst_lock = threading.Lock()

    # ---- plumbing ---------------------------------------------------------------------------

    def _exchange(self) -> RawOkx:
        ex: RawOkx | None = getattr(self._local, "ex", None)
        if ex is None:
            assert self._new_exchange is not None
            ex = self._new_exchange()
            self._local.ex = ex
            with self._lock:
                self._exchanges.append(ex)
        return ex

    def _get(self, path: str, params: dict[str, Any]) -> list[Any]:
        """Checked ``data`` of ``GET /api/v5/<path>``, within budget, retried when temporary."""
        endpoint = _API + path
        clean = {k: v for k, v in params.items() if v is not None and v != ""}

        def once() -> list[Any]:
            self.limiter.acquire(endpoint)
            try:
                if self._fetch is not None:
                    reply = self._fetch(path, clean)
                else:
                    from exchange.ccxtraw import call_public

                    reply = call_public(self._exchange(), path, clean)
            except ExchangeError as exc:
                if exc.code in ("50011", "429"):
                    self.limiter.penalize(endpoint)
                raise
            return p.check_envelope(reply, endpoint)

        return call_with_retry(
            once, policy=self.retry, clock=self.clock, rng=self._rng, what=f"GET {endpoint}"
        )

    # ---- time and instruments ---------------------------------------------------------------

    def server_time(self) -> datetime:
        data = self._get("public/time", {})
        if not data:
            raise BadResponse("", "public/time returned no data", endpoint="public/time")
        return p.parse_server_time(data[0])

    def instruments(self, inst_type: str) -> list[Instrument]:
        """Every instrument of ``inst_type`` (SPOT, SWAP...); refreshes the cache for that type."""
        items = [p.parse_instrument(d) for d in self._get("public/instruments", {"instType": inst_type})]
        with self._inst_lock:
            for stale in [k for k, v in self._instruments.items() if v.inst_type == inst_type]:
                del self._instruments[stale]
            self._instruments.update({i.inst_id: i for i in items})
            self._loaded_at[inst_type] = self.clock.now()
        return items

    def instrument(self, inst_id: str, *, refresh: bool = False) -> Instrument:
        """One instrument from the cache, loading (or refreshing) its whole type when needed.

        Raises :class:`UnknownInstrument` (code 51001) if OKX does not list it."""
        inst_type = inst_type_of(inst_id)
        with self._inst_lock:
            loaded = self._loaded_at.get(inst_type)
            age = None if loaded is None else (self.clock.now() - loaded).total_seconds()
            cached = self._instruments.get(inst_id)
        # An id missing from a list loaded a minute ago is not asked for again at once.
        stale = age is None or age >= self._ttl_s or (cached is None and age >= 60.0)
        if refresh or stale:
            self.instruments(inst_type)
            with self._inst_lock:
                cached = self._instruments.get(inst_id)
        if cached is None:
            raise UnknownInstrument(
                "51001", f"instrument {inst_id} does not exist", endpoint="instrument cache"
            )
        return cached

    # ---- candles ----------------------------------------------------------------------------

    def _candles(
        self, path: str, inst_id: str, bar: str, limit: int, cap: int,
        after: datetime | None, before: datetime | None,
    ) -> list[Candle]:  # fmt: skip
        params: dict[str, Any] = {"instId": inst_id, "bar": bar, "limit": str(max(1, min(limit, cap)))}
        if after is not None:
            params["after"] = str(to_ms(after))
        if before is not None:
            params["before"] = str(to_ms(before))
        return p.parse_candles(self._get(path, params), inst_id, bar)

    def candles(
        self, inst_id: str, bar: str, *, limit: int = 100,
        after: datetime | None = None, before: datetime | None = None,
    ) -> list[Candle]:  # fmt: skip
        """``market/candles`` (latest 1,440 bars), ascending; the forming bar has ``confirmed=False``.

        ``after``: only bars older than it; ``before``: only bars newer than it (OKX semantics)."""
        return self._candles("market/candles", inst_id, bar, limit, CANDLES_MAX, after, before)

    def history_candles(
        self, inst_id: str, bar: str, *, limit: int = 100,
        after: datetime | None = None, before: datetime | None = None,
    ) -> list[Candle]:  # fmt: skip
        """``market/history-candles``, ascending (limit capped at 100)."""
        return self._candles("market/history-candles", inst_id, bar, limit, HISTORY_MAX, after, before)

    def candles_range(
        self, inst_id: str, bar: str, start: datetime, end: datetime, *,
        progress: Callable[[int], None] | None = None,
    ) -> list[Candle]:  # fmt: skip
        """Every bar with ``start <= ts < end``, ascending, de-duplicated, as served (the forming
        bar included, unconfirmed). Pages backwards from ``end``: through ``market/candles`` while
        it reaches, then ``market/history-candles``."""
        return collect_range(
            recent=lambda after: self.candles(inst_id, bar, limit=CANDLES_MAX, after=after),
            history=lambda after: self.history_candles(inst_id, bar, limit=HISTORY_MAX, after=after),
            bar=bar, start=start, end=end, now=self.clock.now(), progress=progress,
        )  # fmt: skip

    def candles_many(
        self, requests: Sequence[tuple[str, str]], *, limit: int = 3
    ) -> dict[tuple[str, str], list[Candle] | ExchangeError]:
        """Latest ``limit`` candles for many (instId, bar) pairs, concurrently within the per-IP
        budget. A failing pair yields its error; it never fails the others."""
        pairs = list(dict.fromkeys(requests))

        def one(pair: tuple[str, str]) -> list[Candle] | ExchangeError:
            try:
                return self.candles(pair[0], pair[1], limit=limit)
            except ExchangeError as exc:
                log.warning("candles %s %s failed: %s", pair[0], pair[1], exc)
                return exc
            except Exception as exc:
                log.exception("candles %s %s: unexpected error", pair[0], pair[1])
                return BadResponse("", f"{type(exc).__name__}: {exc}", endpoint="market/candles")

        if len(pairs) <= 1 or self.max_workers == 1:
            return {pair: one(pair) for pair in pairs}
        return dict(zip(pairs, self._executor().map(one, pairs), strict=True))

    def latest_candles_many(
        self, inst_ids: Sequence[str], bar: str, *, limit: int = 3
    ) -> dict[str, list[Candle] | ExchangeError]:
        """:meth:`candles_many` for one bar, keyed by instId."""
        got = self.candles_many([(i, bar) for i in inst_ids], limit=limit)
        return {inst: result for (inst, _), result in got.items()}

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="okx-public")
            return self._pool

    # ---- other market data ------------------------------------------------------------------

    def _one(self, path: str, params: dict[str, Any]) -> Any:
        data = self._get(path, params)
        if not data:
            raise BadResponse("", f"no data for {params}", endpoint=_API + path)
        return data[0]

    def ticker(self, inst_id: str) -> Ticker:
        return p.parse_ticker(self._one("market/ticker", {"instId": inst_id}))

    def tickers(self, inst_type: str) -> list[Ticker]:
        return [p.parse_ticker(d) for d in self._get("market/tickers", {"instType": inst_type})]

    def order_book(self, inst_id: str, depth: int = 20) -> OrderBook:
        item = self._one("market/books", {"instId": inst_id, "sz": str(max(1, min(depth, 400)))})
        return p.parse_order_book(item, inst_id)

    def trades(self, inst_id: str, limit: int = 100) -> list[PublicTrade]:
        data = self._get("market/trades", {"instId": inst_id, "limit": str(max(1, min(limit, 500)))})
        return [p.parse_public_trade(d) for d in data]

    def funding_rate(self, inst_id: str) -> FundingRate:
        return p.parse_funding_rate(self._one("public/funding-rate", {"instId": inst_id}))

    def funding_history(
        self, inst_id: str, *, after: datetime | None = None, limit: int = FUNDING_HISTORY_MAX
    ) -> list[FundingSettlement]:
        """``public/funding-rate-history``: settled funding of a swap, oldest first; ``after``: only
        settlements before it (OKX keeps about three months)."""
        params = {"instId": inst_id, "limit": str(max(1, min(limit, FUNDING_HISTORY_MAX)))}
        if after is not None:
            params["after"] = str(int(after.timestamp() * 1000))
        rows = [p.parse_funding_settlement(d) for d in self._get("public/funding-rate-history", params)]
        return sorted(rows, key=lambda r: r.funding_time)

    def mark_price(self, inst_id: str) -> MarkPrice:
        inst_type = inst_type_of(inst_id)
        params = {"instType": "MARGIN" if inst_type == "SPOT" else inst_type, "instId": inst_id}
        return p.parse_mark_price(self._one("public/mark-price", params))

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            exchanges, self._exchanges = self._exchanges, []
        if pool is not None:
            pool.shutdown(wait=True)
        for ex in exchanges:
            session = getattr(ex, "session", None)
            if session is not None:
                session.close()
        for hook in self._on_close:
            hook()

    def on_close(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` when the client is closed (e.g. to close a plain-HTTP transport)."""
        self._on_close.append(hook)

    def __enter__(self) -> PublicClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
