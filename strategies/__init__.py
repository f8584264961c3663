"""Strategies: plain functions returning a target position, and the explicit registry that names them.

Built in: ``bollinger`` (n, m), ``bollinger_bias`` (n, m, p) and ``sma_cross`` (fast, slow); see
their docstrings for the exact rules.

Writing your own strategy
-------------------------

A strategy is a function ``(df, now_pos, avg_price, params)`` returning the position it wants:
``1`` long, ``-1`` short, ``0`` flat, or ``None`` to keep whatever is held. Register it under a
name with a parameter model (a :class:`~strategies.registry.StrategyParams` subclass: frozen,
unknown keys rejected) and its lookback, the number of closed bars it needs. Define it in
``config/config.py``, or in your own module imported from there, and use the name in the config::

    from pydantic import Field

    from strategies.guard import window_closes
    from strategies.registry import StrategyParams, register


    class ChannelParams(StrategyParams):
        n: int = Field(20, ge=2)


    @register("close_channel", ChannelParams, lookback=lambda p: p.n + 1)
    def close_channel(df, now_pos, avg_price, params):
        \"\"\"Long above the highest of the previous n closes, short below the lowest.\"\"\"
        closes = window_closes(df, params.n + 1)  # ValueError if too short or a close is NaN
        before, last = closes[:-1], closes[-1]
        if last > before.max():
            return 1
        if last < before.min():
            return -1
        return None


    # in ACCOUNTS: Strategy("ETH-USDT-SWAP", "close_channel", params={"n": 55}, leverage=2)

What the function receives:

- ``df``: the instrument's *closed* candles, oldest first, at least ``lookback`` rows, columns
  ``candle_begin_time`` (tz-aware), ``open, high, low, close, volume, volume_ccy, volume_quote``
  (floats). It is a copy; do not modify it (the guard checks, and treats it as a failure).
- ``now_pos``: the sign of the position OKX reports: ``1``, ``-1`` or ``0``.
- ``avg_price``: the held position's average entry price (``Decimal``), or ``None`` when flat.
- ``params``: your validated, frozen parameter model.

The trader calls every strategy through :func:`strategies.guard.run_strategy`: an exception, a
modified ``df`` or a return value other than 1 / -1 / 0 / None becomes a ``StrategyError`` naming
the strategy and instrument; that strategy is skipped for the bar and the others run on. Too little
history or broken data is an error — raise (``window_closes`` does it for you), never return
``None`` in silence. The target is compared with the real position on every bar, so returning the
same target again is harmless: ``1`` while already long orders nothing.
"""
