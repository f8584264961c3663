"""Market-data handlers: ticker, depth, trades, records, tickers, markets, fundings.

Public OKX endpoints through the shared :class:`PublicClient` (per-IP budgets); no credentials needed.
"""

from __future__ import annotations

from datetime import datetime

from exchange import PublicClient
from exchange.records import Candle
from gateway import convert, raw
from gateway.calls import Call, Reply
from gateway.protocol import BadRequest, param_int
from gateway.symbols import period_to_bar

__all__ = [
    "depth",
    "fetch_candles",
    "fundings",
    "markets",
    "records",
    "ticker",
    "tickers",
    "trades",
]

DEPTH_DEFAULT, DEPTH_MAX = 20, 400
TRADES_DEFAULT, TRADES_MAX = 100, 500
RECORDS_DEFAULT, RECORDS_MAX = 300, 2000
_CANDLES_PAGE, _HISTORY_PAGE = 300, 100


def ticker(call: Call) -> Reply:
    t = call.public().ticker(call.market().inst_id)
    return convert.ticker_data(t), raw.envelope(t)


def depth(call: Call) -> Reply:
    limit = param_int(call.params, "limit", DEPTH_DEFAULT, maximum=DEPTH_MAX) or DEPTH_DEFAULT
    book = call.public().order_book(call.market().inst_id, depth=limit)
    return convert.depth_data(book, limit), raw.envelope(book)


def trades(call: Call) -> Reply:
    limit = param_int(call.params, "limit", TRADES_DEFAULT, maximum=TRADES_MAX) or TRADES_DEFAULT
    rows = call.public().trades(call.market().inst_id, limit=limit)
    return convert.trade_rows(rows), raw.envelope(rows)


def records(call: Call) -> Reply:
    market = call.market()
    period = param_int(call.params, "period", -1, minimum=1)
    if period == -1:
        raise BadRequest("period required (minutes, e.g. 60)")
    bar = period_to_bar(period, call.options.candle_timezone)
    limit = param_int(call.params, "limit", RECORDS_DEFAULT, maximum=RECORDS_MAX) or RECORDS_DEFAULT
    candles = fetch_candles(call.public(), market.inst_id, bar, limit)
    newest_first = sorted(candles, key=lambda c: c.ts, reverse=True)[:limit]
    return convert.record_rows(candles, limit), raw.envelope(newest_first)


def fetch_candles(public: PublicClient, inst_id: str, bar: str, limit: int) -> list[Candle]:
    """The newest ``limit`` candles: ``market/candles`` pages, then ``history-candles`` beyond."""
    got: dict[datetime, Candle] = {}
    oldest: datetime | None = None
    use_history = False
    while len(got) < limit:
        want = limit - len(got)
        if use_history:
            page = public.history_candles(inst_id, bar, limit=min(want, _HISTORY_PAGE), after=oldest)
        else:
            page = public.candles(inst_id, bar, limit=min(want, _CANDLES_PAGE), after=oldest)
        fresh = [c for c in page if c.ts not in got]
        if not fresh:
            if use_history or oldest is None:
                break
            use_history = True  # market/candles reaches back 1,440 bars only
            continue
        got.update((c.ts, c) for c in fresh)
        oldest = min(got)
    return sorted(got.values(), key=lambda c: c.ts)


def tickers(call: Call) -> Reply:
    """Every SPOT and SWAP ticker (method name UNCONFIRMED; the guide lists GetTickers as planned)."""
    public = call.public()
    rows = [*public.tickers("SPOT"), *public.tickers("SWAP")]
    return [convert.ticker_data(t) for t in rows], raw.envelope(rows)


def markets(call: Call) -> Reply:
    """Every SPOT and SWAP instrument keyed by FMZ symbol (name and shape UNCONFIRMED)."""
    public = call.public()
    items = [*public.instruments("SPOT"), *public.instruments("SWAP")]
    data = {row["symbol"]: row for row in (convert.market_row(i) for i in items)}
    return data, raw.envelope(items)


def fundings(call: Call) -> Reply:
    """Current funding rate of a ``.swap`` symbol (name and shape UNCONFIRMED)."""
    market = call.market()
    if not market.swap:
        raise BadRequest("fundings needs a swap symbol, e.g. BTC_USDT.swap")
    rate = call.public().funding_rate(market.inst_id)
    return [convert.funding_row(rate)], raw.envelope(rate)
