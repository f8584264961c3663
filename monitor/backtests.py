"""A backtest's trades on the chart: the file-based hook for the backtester.

``python -m backtest`` writes ``<data_dir>/backtests/<run>/trades.csv`` (see ``backtest/report.py``)::

    time,inst_id,strategy,kind,side,sz,price,fee,pnl,position,target
    2026-03-02T12:01:00+00:00,BTC-USDT-SWAP,sma_cross,open,buy,0.01,64012.5,0.32,0,0.01,1

Of those the chart needs ``time`` (ISO 8601 with its UTC offset), ``inst_id``, ``side`` (buy/sell),
``price`` and ``sz`` (decimal strings); other columns are ignored. The chart page draws them when
opened with ``&backtest=<run>``. Run names are plain (letters, digits, ``._-``)
so a name can never leave the ``backtests`` folder.
"""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from core.errors import DataError

__all__ = ["COLUMNS", "RUN_RE", "read_trades", "trades_path"]

COLUMNS = ("time", "inst_id", "side", "price", "sz")
RUN_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")


def trades_path(data_dir: Path, run: str) -> Path:
    """``<data_dir>/backtests/<run>/trades.csv``; ``ValueError`` for a name that is not plain."""
    if not RUN_RE.match(run):
        raise ValueError(f"backtest run names are letters, digits and ._- (max 64), got {run!r}")
    return data_dir / "backtests" / run / "trades.csv"


def _parse(row: dict[str, str], where: str) -> dict[str, Any]:
    try:
        ts = datetime.fromisoformat(row["time"])
        px, sz = Decimal(row["price"]), Decimal(row["sz"])
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise DataError(f"{where}: malformed trade {row!r} ({exc})") from None
    if ts.tzinfo is None:
        raise DataError(f"{where}: time without UTC offset: {row['time']!r}")
    if row["side"] not in ("buy", "sell"):
        raise DataError(f"{where}: side must be buy or sell, got {row['side']!r}")
    if not (px.is_finite() and sz.is_finite()):
        raise DataError(f"{where}: px and sz must be finite numbers")
    return {"ts": ts.astimezone(UTC), "inst_id": row["inst_id"], "side": row["side"], "px": px, "sz": sz}


def read_trades(path: Path, inst_id: str) -> list[dict[str, Any]]:
    """The trades of ``inst_id`` in ``path``, in file order; ``DataError`` naming a bad row."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise DataError(f"{path}: header lacks {','.join(missing)} (got {reader.fieldnames})")
        rows = [_parse(r, f"{path}, line {reader.line_num}") for r in reader]
    return [r for r in rows if r["inst_id"] == inst_id]
