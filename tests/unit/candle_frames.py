"""Hand-built candle DataFrames in the shape the trader passes to strategies (tests only)."""

import pandas as pd

__all__ = ["candles"]


def candles(closes: list[float], freq: str = "1h", tz: str = "UTC") -> pd.DataFrame:
    """Closed candles with the given closes, oldest first; open/high/low equal the close."""
    values = [float(c) for c in closes]
    return pd.DataFrame(
        {
            "candle_begin_time": pd.date_range("2024-01-01", periods=len(values), freq=freq, tz=tz),
            "open": values,
            "high": values,
            "low": values,
            "close": values,
            "volume": 1.0,
            "volume_ccy": 1.0,
            "volume_quote": values,
        }
    )
