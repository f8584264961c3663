"""Backtesting: the trader's own code paths replayed over the collector's candle CSVs.

``python -m backtest --account sub1`` (or ``--strategy NAME --inst ID --interval IV``) runs the
configured strategies through the trader's guard, standing-target semantics, ``Decimal`` sizing
and order diff (:mod:`backtest.engine`), with simulated fills, fees, funding and a margin check,
and writes trades, equity, metrics and a chart (:mod:`backtest.report`). Strategies with a
vectorised form (:func:`strategies.registry.register_vectorised`) are computed in one pass and
checked against the per-bar function; a parameter grid runs on every core (:mod:`backtest.grid`).
"""
