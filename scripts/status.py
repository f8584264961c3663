"""The fleet's live status, read from what the processes leave on disk (markers, CSVs, journals)
and from the simulator's control API when it runs. Read-only; never touches a secret."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from collector.feed_journal import read_feed_status
from config.schema import FleetConfig
from core.markers import MarkerStore

__all__ = ["AccountStatus", "FleetStatus", "collect_status", "feed_line", "render_status"]


@dataclass(frozen=True)
class AccountStatus:
    name: str
    cycles: int
    last_bar: str
    last_status: str
    equity: str
    orders: int
    filled: int
    rejected: int


@dataclass(frozen=True)
class FleetStatus:
    markers: dict[str, tuple[str, int, int]]  # interval -> (last bar close, ok, failed)
    base_rows: int
    accounts: list[AccountStatus]
    feed: dict[str, Any] | None = None  # the collector's collector/feed.json


def feed_line(feed: dict[str, Any] | None) -> str:
    """Which feed is live, its connections, and how many instruments the last bar took from REST."""
    if not feed:
        return "feed     : - (no bar collected yet)"
    text = f"feed     : {feed.get('feed')}"
    if feed.get("connections"):
        text += (f", {feed.get('open_connections')}/{feed.get('connections')} connection(s) open, "
                 f"{feed.get('live_instruments')} instrument(s) live")  # fmt: skip
    last = feed.get("last") or {}
    if last:
        text += (f"; last bar {last.get('via_push')} via push, {len(last.get('fallback') or [])} fell back "
                 f"to REST, ready {last.get('ready_s', 0):.2f}s after the close")  # fmt: skip
    if feed.get("refused"):
        text += f"; refused: {', '.join(sorted(feed['refused']))}"
    return text


def _count_rows(path: Path) -> int:
    try:
        with path.open("rb") as fh:
            return max(0, sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 16), b"")) - 1)
    except FileNotFoundError:
        return 0


def _account_status(name: str, path: Path) -> AccountStatus:
    empty = AccountStatus(name, 0, "-", "waiting", "-", 0, 0, 0)
    if not path.is_file():
        return empty
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            cycles = db.execute("SELECT COUNT(*) FROM cycles").fetchone()[0]
            last = db.execute(
                "SELECT bar_close, status, equity FROM cycles ORDER BY bar_close DESC LIMIT 1"
            ).fetchone()
            orders = db.execute(
                "SELECT COUNT(*), SUM(state = 'filled'), SUM(status = 'rejected') FROM orders"
            ).fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return empty
    return AccountStatus(
        name,
        cycles,
        last[0] if last else "-",
        last[1] if last else "waiting",
        last[2] or "-" if last else "-",
        orders[0] or 0,
        orders[1] or 0,
        orders[2] or 0,
    )


def collect_status(cfg: FleetConfig) -> FleetStatus:
    markers = MarkerStore(cfg.markers_dir)
    marker_info: dict[str, tuple[str, int, int]] = {}
    for iv in cfg.intervals:
        try:
            m = markers.latest(iv)
        except Exception:  # a marker being replaced right now: show it next time
            m = None
        if m is None:
            marker_info[iv.name] = ("-", 0, 0)
        else:
            ok = sum(1 for s in m.instruments.values() if s.ok)
            marker_info[iv.name] = (m.bar_close.isoformat(), ok, len(m.instruments) - ok)
    base = cfg.base_interval.name
    rows = sum(_count_rows(cfg.candles_dir / f"{inst}_{base}.csv") for inst in cfg.instruments)
    accounts = [_account_status(name, cfg.journal_dir / f"{name}.sqlite") for name in cfg.accounts]
    return FleetStatus(marker_info, rows, accounts, read_feed_status(cfg.data_dir / "collector"))


def render_status(
    status: FleetStatus, *, now: datetime, children: list[tuple[str, str]], events: list[str]
) -> str:
    lines = [f"okxfleet — {now.isoformat(timespec='seconds')}   (Ctrl-C stops everything)", ""]
    lines.append("processes: " + "  ".join(f"{name} [{state}]" for name, state in children))
    lines.append(f"candles  : {status.base_rows} base-interval rows on disk")
    lines.append(feed_line(status.feed))
    for iv, (bar, ok, failed) in status.markers.items():
        lines.append(f"marker {iv:>4}: last bar close {bar}  ok {ok}  failed {failed}")
    lines.append("")
    lines.append(f"{'account':<10} {'cycles':>6} {'last bar':<26} {'status':<10} {'equity':>14} "
                 f"{'orders':>6} {'filled':>6} {'rejected':>8}")
    for a in status.accounts:
        equity = a.equity if a.equity == "-" else f"{float(a.equity):,.2f}"
        lines.append(f"{a.name:<10} {a.cycles:>6} {a.last_bar:<26} {a.last_status:<10} {equity:>14} "
                     f"{a.orders:>6} {a.filled:>6} {a.rejected:>8}")
    if events:
        lines += ["", "recent events:"] + [f"  {e}" for e in events[-6:]]
    return "\n".join(lines)
