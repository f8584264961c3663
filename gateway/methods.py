"""The method table and :func:`handle`: one FMZ request in, one reply envelope out (never raises).

=================  ====================================  ==========================================
method             params                                data
=================  ====================================  ==========================================
``ticker``         symbol                                {symbol, buy, sell, high, low, open, last,
                                                         vol, time} (strings)
``depth``          symbol, limit (20)                    {time, asks [[p, a]] asc, bids desc}
``trades``         symbol, limit (100)                   [{id, time, price, amount, type}]
``records``        symbol, period (minutes), limit (300) [[time_s, o, h, l, c, v]] oldest first
``accounts``       --                                    [{currency, free, frozen}] (strings)
``assets``         --                                    same as accounts
``trade``          symbol, type, price, amount           {id: "INST,ordId"}
``orders``         symbol                                [order]
``order``          id, symbol                            order
``historyorders``  symbol, since (ms), limit (100)       [order]
``cancel``         id, symbol                            true
``positions``      symbol (.swap; optional)              [{symbol, type, amount, price, ...}]
``marginlevel``    symbol (.swap), marginLevel           true
``fundings``       symbol (.swap)                        [{symbol, time, rate, interval}]
``tickers``        --                                    [ticker]
``markets``        --                                    {symbol: market}
``__api_<path>``   the query as an object; verb in the   OKX's reply {code, msg, data}
                   ``Http-Method`` header (POST default)
=================  ====================================  ==========================================

order = {id, symbol, amount, price, deal_amount, avg_price, type, status, time}. Errors:
:class:`BadRequest` -> its message; OKX errors -> ``"<endpoint>: OKX <code>: <msg>"``; anything else
-> ``internal error (<type>)`` (traceback logged, redacted, never returned). Unknown methods ->
``"<method> not support"``.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from typing import Any

from exchange import ExchangeError
from gateway import market, trading
from gateway.calls import Call, Handler, Options
from gateway.clients import ClientPool
from gateway.protocol import BadRequest, FmzRequest, fail, ok

__all__ = ["HANDLERS", "handle"]

log = logging.getLogger(__name__)

HANDLERS: dict[str, Handler] = {
    "ticker": market.ticker,
    "depth": market.depth,
    "trades": market.trades,
    "records": market.records,
    "tickers": market.tickers,
    "markets": market.markets,
    "fundings": market.fundings,
    "accounts": trading.accounts,
    "assets": trading.assets,
    "trade": trading.trade,
    "orders": trading.orders,
    "order": trading.order,
    "historyorders": trading.history_orders,
    "cancel": trading.cancel,
    "positions": trading.positions,
    "marginlevel": trading.margin_level,
}


def handle(request: FmzRequest, pool: ClientPool, options: Options) -> dict[str, Any]:
    """Run the request's handler and build the reply; every failure is ``{"error": ...}``."""
    handler = trading.api_passthrough if request.is_api else HANDLERS.get(request.method)
    if handler is None:
        return fail(f"{request.method[:64]} not support")
    try:
        with ExitStack() as stack:
            data, raw_reply = handler(Call(request, pool, options, stack))
        return ok(data, raw_reply)
    except (BadRequest, ExchangeError) as exc:
        return fail(str(exc))
    except Exception as exc:
        log.exception("%s: unexpected error", request.method[:64])
        return fail(f"internal error ({type(exc).__name__})")
