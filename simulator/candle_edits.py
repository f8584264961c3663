"""Test control of served candles: hide a bar, or serve it with other values.

Real OKX sometimes never serves a bar (a hole in ``market/candles`` and ``history-candles``),
revises the volume of a bar it already marked complete, and a broken upstream could serve an
impossible candle. :class:`CandleEdits` rehearses all three: an edit names (instId, bar code,
open ms) and either hides that row from every candle reply or replaces some of its fields
(``o h l c vol volCcy volCcyQuote``, as OKX's strings). Only that row changes; larger bars are
not recomputed (OKX's are not either when it revises a minute). Removing an edit serves the bar
as before ("OKX serves it later").
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["FIELDS", "CandleEdits"]

FIELDS = {"o": 1, "h": 2, "l": 3, "c": 4, "vol": 5, "volCcy": 6, "volCcyQuote": 7}
Key = tuple[str, str, int]


class CandleEdits:
    """Thread-safe set of row edits, applied to candle replies."""

    def __init__(self) -> None:
        self._edits: dict[Key, dict[str, str] | None] = {}  # None = hidden
        self._lock = threading.Lock()

    def hide(self, inst_id: str, bar: str, open_ms: int) -> None:
        with self._lock:
            self._edits[(inst_id, bar, open_ms)] = None

    def change(self, inst_id: str, bar: str, open_ms: int, fields: dict[str, str]) -> None:
        unknown = sorted(set(fields) - set(FIELDS))
        if unknown or not fields:
            raise ValueError(f"fields must be some of {', '.join(FIELDS)} (got {unknown or 'none'})")
        with self._lock:
            self._edits[(inst_id, bar, open_ms)] = {k: str(v) for k, v in fields.items()}

    def remove(self, inst_id: str | None = None) -> None:
        """Drop the edits of ``inst_id`` (or all): those bars are served as generated again."""
        with self._lock:
            for key in [k for k in self._edits if inst_id is None or k[0] == inst_id]:
                del self._edits[key]

    def apply(self, inst_id: str, bar: str, rows: list[list[str]]) -> list[list[str]]:
        """``rows`` (fresh lists) with the edits of ``inst_id``/``bar`` applied."""
        if not self._edits:
            return rows
        with self._lock:
            edits = {k[2]: v for k, v in self._edits.items() if k[0] == inst_id and k[1] == bar}
        if not edits:
            return rows
        out = []
        for row in rows:
            ts = int(row[0])
            if ts not in edits:
                out.append(row)
                continue
            change = edits[ts]
            if change is None:
                continue
            for name, value in change.items():
                row[FIELDS[name]] = value
            out.append(row)
        return out

    def to_json(self) -> list[dict[str, Any]]:
        with self._lock:
            items = sorted(self._edits.items())
        return [{"instId": i, "bar": b, "ts": str(t), "hidden": v is None, "fields": v or {}}
                for (i, b, t), v in items]  # fmt: skip
