"""What a run leaves behind, and the summary printed at the end.

Each run writes a folder (default ``<DATA_DIR>/backtests/<label>-<YYYYmmddTHHMMSSZ>/``):

``trades.csv``
    One row per simulated fill, oldest first — the file a chart (the monitor) overlays on the
    candles. Columns: ``time`` (ISO 8601 UTC: the bar close the order was placed at),
    ``inst_id``, ``strategy``, ``kind`` (close | reduce | open), ``side`` (buy | sell), ``sz``
    (contracts; spot: base units), ``price``, ``fee`` (paid, quote currency), ``pnl`` (realised by
    the fill, before fees), ``position`` (signed, after the fill), ``target`` (the standing target
    the order moved towards). Decimal values are written exactly.
``equity.csv``
    ``time`` (bar close, UTC), ``equity`` (the account) and one column per strategy
    (``<strategy> <inst_id>``: its equal share of the start plus its P&L).
``summary.json``
    The request, the data range, how each target series was produced (vectorised and how many
    bars were checked against the per-bar function, or replayed) and the metrics per strategy
    and for the account.
``equity.png``
    Equity curves (account and strategies) above their drawdowns.
"""

from __future__ import annotations

import csv
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from backtest.metrics import Metrics
from backtest.runner import Outcome

__all__ = ["TRADE_COLUMNS", "format_summary", "write_outputs"]

TRADE_COLUMNS = (
    "time",
    "inst_id",
    "strategy",
    "kind",
    "side",
    "sz",
    "price",
    "fee",
    "pnl",
    "position",
    "target",
)


def _iso(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, tz=UTC).isoformat()


def write_trades(outcome: Outcome, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(TRADE_COLUMNS)
        for f in outcome.result.fills:
            writer.writerow(
                [f.time.isoformat(), f.inst_id, f.strategy, f.kind, f.side, f.sz, f.price, f.fee, f.pnl,
                 f.position, f.target]
            )  # fmt: skip


def write_equity(outcome: Outcome, path: Path) -> None:
    result = outcome.result
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["time", "equity", *(lane.run.label for lane in result.lanes)])
        for k, close in enumerate(result.closes.tolist()):
            row = [_iso(close), f"{result.equity[k]:.8f}"]
            row += [f"{lane.value[k]:.8f}" for lane in result.lanes]
            writer.writerow(row)


def _json_number(x: float | None) -> float | str | None:
    if x is None:
        return None
    return x if math.isfinite(x) else str(x)


def _metrics(m: Metrics) -> dict[str, Any]:
    return {k: _json_number(v) if isinstance(v, float) else v for k, v in m.as_dict().items()}


def summary(outcome: Outcome) -> dict[str, Any]:
    req, result = outcome.request, outcome.result
    strategies = []
    for lane, res, m in zip(outcome.lanes, result.lanes, outcome.per_strategy, strict=True):
        strategies.append(
            {
                "strategy": lane.run.name,
                "inst_id": lane.run.inst_id,
                "params": dict(lane.run.raw_params),
                "leverage": str(lane.run.leverage),
                "targets": res.method,
                "checked_bars": res.checked,
                "skipped_bars": len(res.skips),
                "refused_orders": len(res.refusals),
                "funding_source": lane.funding.source,
                "metrics": _metrics(m),
            }
        )
    settings = req.settings
    return {
        "label": req.label,
        "interval": req.interval.name,
        "from": _iso(int(result.closes[0]) - req.interval.seconds),
        "to": _iso(int(result.closes[-1])),
        "bars": len(result.closes),
        "order_type": settings.order_type,
        "slippage": str(settings.slippage),
        "initial_equity": str(settings.initial_equity),
        "account": _metrics(outcome.account),
        "strategies": strategies,
    }


def plot(outcome: Outcome, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    result = outcome.result
    times = result.closes.astype("datetime64[s]")
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 6.5), sharex=True, height_ratios=(3, 1))
    curves = [("account", result.equity)] + [(lane.run.label, lane.value) for lane in result.lanes]
    for name, values in curves if len(result.lanes) > 1 else curves[:1]:
        top.plot(times, values, label=name, linewidth=1.6 if name == "account" else 0.9)
        peaks = np.maximum.accumulate(values)
        bottom.plot(times, -(1 - values / peaks) * 100, linewidth=0.9)
    top.set_title(f"backtest {outcome.request.label} ({outcome.request.interval})")
    top.set_ylabel("equity")
    top.legend(loc="upper left", fontsize="small")
    top.grid(alpha=0.3)
    bottom.set_ylabel("drawdown %")
    bottom.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_outputs(outcome: Outcome, folder: Path) -> Path:
    """Write the four files (see the module docstring) into ``folder``; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    write_trades(outcome, folder / "trades.csv")
    write_equity(outcome, folder / "equity.csv")
    (folder / "summary.json").write_text(json.dumps(summary(outcome), indent=2) + "\n", encoding="utf-8")
    plot(outcome, folder / "equity.png")
    return folder


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.2f}%"


def _num(x: float) -> str:
    return f"{x:.2f}" if math.isfinite(x) else str(x)


def metrics_row(m: Metrics) -> list[str]:
    return [
        _pct(m.total_return), _pct(m.annual_return), _pct(m.max_drawdown), _num(m.sharpe),
        _num(m.sortino), str(m.trades), _pct(m.win_rate), _pct(m.exposure), f"{m.fees:.2f}",
        f"{m.funding:.2f}",
    ]  # fmt: skip


METRIC_HEADERS = [
    "return",
    "annual",
    "max dd",
    "sharpe",
    "sortino",
    "trades",
    "win",
    "exposure",
    "fees",
    "funding",
]


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def format_summary(outcome: Outcome) -> str:
    result = outcome.result
    rows = []
    for lane, res, m in zip(outcome.lanes, result.lanes, outcome.per_strategy, strict=True):
        how = f"{res.method} ({res.checked} checked)" if res.method == "vectorised" else res.method
        rows.append([lane.run.label, how, *metrics_row(m)])
    rows.append(["account", "", *metrics_row(outcome.account)])
    iv = outcome.request.interval
    head = (
        f"backtest {outcome.request.label}: {len(result.closes)} {iv} bars "
        f"{_iso(int(result.closes[0]) - iv.seconds)} .. {_iso(int(result.closes[-1]))}, "
        f"equity {result.initial} -> {result.final:.2f}"
    )
    return head + "\n" + table(["strategy", "targets", *METRIC_HEADERS], rows)
