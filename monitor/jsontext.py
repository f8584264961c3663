"""JSON text for the API, with number columns (numpy arrays, pandas series) encoded by pandas' C
encoder: 50,000 prices in milliseconds instead of the stdlib's tenths of a second."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["dumps", "json_array"]


def json_array(values: np.ndarray | pd.Series) -> str:
    """A JSON array of numbers, NaN as ``null``; floats to 10 decimals (display only)."""
    return str(pd.Series(values).to_json(orient="values", double_precision=10))


def dumps(obj: Any) -> str:
    """``json.dumps`` (``default=str``), except that arrays and series become :func:`json_array`."""
    if isinstance(obj, np.ndarray | pd.Series):
        return json_array(obj)
    if isinstance(obj, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dumps(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, list | tuple):
        return "[" + ",".join(dumps(v) for v in obj) + "]"
    return json.dumps(obj, default=str)
