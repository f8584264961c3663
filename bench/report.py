"""One line per headline figure, so ``bench.run_all`` can collect every benchmark into a table.

A benchmark calls :func:`emit` for each figure it wants in ``bench/RESULTS.md``; the line it prints
(``BENCH {json}``) is also readable by a person.
"""

from __future__ import annotations

import json

__all__ = ["PREFIX", "emit", "parse_line"]

PREFIX = "BENCH "


def emit(
    bench: str,
    figure: str,
    value: float,
    baseline: float,
    *,
    unit: str,
    target: str = "",
    higher_is_better: bool = False,
    note: str = "",
) -> dict[str, object]:
    """Print one result; ``ratio`` is how many times better than the baseline (>1 = better)."""
    if higher_is_better:
        ratio = value / baseline if baseline else float("inf")
    else:
        ratio = baseline / value if value else float("inf")
    row: dict[str, object] = {
        "bench": bench,
        "figure": figure,
        "value": round(value, 4),
        "baseline": round(baseline, 4),
        "unit": unit,
        "ratio": round(ratio, 3),
        "target": target,
        "note": note,
    }
    print(PREFIX + json.dumps(row, ensure_ascii=False), flush=True)
    return row


def parse_line(line: str) -> dict[str, object] | None:
    if not line.startswith(PREFIX):
        return None
    try:
        row = json.loads(line[len(PREFIX) :])
    except json.JSONDecodeError:
        return None
    return row if isinstance(row, dict) else None
