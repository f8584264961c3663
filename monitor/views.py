"""The JSON each page shows, built from the files on disk (markers, CSVs, journals) and ``now``.

Only what a trader needs to see leaves this module: account names, instruments, intervals,
strategy names and params, journal rows. Never credentials (not even their variable names), never
the DingTalk webhook.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from config.schema import AccountSettings, FleetConfig
from core.clock import Clock
from core.errors import DataError
from core.intervals import Interval, floor_to_bar, parse_interval
from core.markers import Marker, MarkerStore
from core.store import CandleStore
from monitor.backtests import read_trades, trades_path
from monitor.candles import ChartBars, ChartCandles
from monitor.health import Flag, collector_flags, grace_for, trader_flags, worst
from monitor.journal_view import JournalUnreadable, open_journal
from strategies.plots import plot_series

__all__ = ["FleetViews", "NotFound"]

_RECENT_LAGS = 20
log = logging.getLogger("okxfleet.monitor")


class NotFound(LookupError):
    """An unknown account, instrument or interval; the message says which and what is known."""


def _unknown(what: str, value: str, known: list[str]) -> NotFound:
    return NotFound(f"unknown {what} {value!r}; known: {', '.join(known) or '(none)'}")


class FleetViews:
    def __init__(self, cfg: FleetConfig, clock: Clock) -> None:
        self.cfg = cfg
        self.clock = clock
        self.markers = MarkerStore(cfg.markers_dir)
        self.candles = ChartCandles(CandleStore(cfg.candles_dir, cfg.candle_timezone))

    def warm(self) -> int:
        """Parse every configured candle file once (at start), so the first chart opens at once."""
        n = 0
        for iv in self.cfg.intervals:
            for inst in self.cfg.instruments:
                try:
                    n += len(self.candles.bars(inst, iv.name))
                except (DataError, OSError) as exc:  # shown again to whoever opens that chart
                    log.warning("warm-up: %s", exc)
        return n

    # ---- lookups -------------------------------------------------------------------------------
    def account(self, name: str) -> AccountSettings:
        if name not in self.cfg.accounts:
            raise _unknown("account", name, sorted(self.cfg.accounts))
        return self.cfg.accounts[name]

    def interval(self, name: str) -> Interval:
        known = [iv.name for iv in self.cfg.intervals]
        if name not in known:
            raise _unknown("interval", name, known)
        return parse_interval(name)

    def instrument(self, inst_id: str) -> str:
        if inst_id not in self.cfg.instruments:
            raise _unknown("instrument", inst_id, self.cfg.instruments)
        return inst_id

    def journal_path(self, account: str) -> Path:
        return self.cfg.journal_dir / f"{account}.sqlite"

    # ---- fleet ---------------------------------------------------------------------------------
    def _recent_markers(self, interval: Interval, n: int) -> list[Marker]:
        folder = self.markers.root / interval.name
        if not folder.is_dir():
            return []
        names = sorted(p.name for p in folder.glob("*.json"))[-n:]
        out = []
        for name in names:
            try:
                out.append(Marker.from_json((folder / name).read_text(encoding="utf-8")))
            except (OSError, DataError):
                continue  # pruned or being replaced right now
        return out

    def collector(self, now: datetime) -> list[dict[str, Any]]:
        rows = []
        for iv in self.cfg.intervals:
            recent = self._recent_markers(iv, _RECENT_LAGS)
            last = recent[-1] if recent else None
            col = self.cfg.collector  # a marker is due once the close delay and confirm retries are spent
            grace = col.close_delay_s + col.confirm_retry_s + 10.0
            flags = collector_flags(last, iv, now, grace)
            lags = [round((m.created_at - m.bar_close).total_seconds(), 3) for m in recent]
            rows.append({
                "interval": iv.name,
                "bar_close": last.bar_close.isoformat() if last else None,
                "age_s": round((now - last.created_at).total_seconds(), 1) if last else None,
                "lag_s": lags[-1] if lags else None,
                "max_lag_s": max(lags) if lags else None,
                "ok": sorted(k for k, v in last.instruments.items() if v.ok) if last else [],
                "failed": {k: v.reason for k, v in sorted(last.instruments.items()) if not v.ok}
                if last else {},
                "level": worst(flags),
                "flags": [f.to_json() for f in flags],
            })  # fmt: skip
        return rows

    def trader(self, name: str, now: datetime) -> dict[str, Any]:
        acct = self.account(name)
        iv = acct.interval_obj
        empty: dict[str, Any] = {
            "journal": False, "positions": [], "open_orders": [], "skips": [], "last_error": None,
            "targets": None, "equity": None, "cycles": {},
        }  # fmt: skip
        last: dict[str, Any] | None = None
        try:
            with open_journal(self.journal_path(name)) as jv:
                body = empty
                if jv is not None:
                    last = jv.last_cycle()
                    curve = jv.equity_curve()
                    body = {
                        "journal": True, "positions": jv.positions(), "open_orders": jv.open_orders(),
                        "skips": jv.recent_skips(5), "last_error": jv.last_error(),
                        "targets": jv.standing_targets(), "equity": curve[-1]["equity"] if curve else None,
                        "cycles": jv.cycle_counts(),
                    }  # fmt: skip
        except JournalUnreadable as exc:  # this trader red with the reason; the others unaffected
            last, body = None, {**empty, "journal_error": str(exc)}
        grace = grace_for(iv, acct.trader.marker_deadline_s)
        flags = (
            [Flag("bad", body["journal_error"])]
            if "journal_error" in body
            else trader_flags(last, iv, now, grace, body["open_orders"], body["last_error"])
        )
        strategies = [
            {"inst_id": s.inst_id, "strategy": s.name, "params": s.params, "leverage": str(s.leverage)}
            for s in acct.strategies
        ]
        return {"account": name, "interval": iv.name, "strategies": strategies, "last_cycle": last, **body,
                "level": worst(flags), "flags": [f.to_json() for f in flags]}  # fmt: skip

    def alerts(self) -> list[dict[str, Any]] | None:
        """Every account's ``alerts`` rows, newest first; ``None`` if no journal has the table."""
        found: list[dict[str, Any]] | None = None
        for name in self.cfg.accounts:
            try:
                with open_journal(self.journal_path(name)) as jv:
                    rows = jv.alerts(50) if jv is not None else None
            except JournalUnreadable:  # flagged on that trader's row
                rows = None
            if rows is not None:
                found = (found or []) + [{"account": name, **r} for r in rows]
        return sorted(found, key=lambda r: str(r["at"]), reverse=True)[:50] if found is not None else None

    def fleet(self) -> dict[str, Any]:
        now = self.clock.now()
        collector = self.collector(now)
        traders = [self.trader(name, now) for name in sorted(self.cfg.accounts)]
        levels = [r["level"] for r in collector] + [t["level"] for t in traders]
        return {"now": now.isoformat(), "level": max(levels, key=["ok", "warn", "bad"].index, default="ok"),
                "collector": collector, "traders": traders, "alerts": self.alerts(),
                "charts": self.chart_links(), "instruments": self.cfg.instruments,
                "intervals": [iv.name for iv in self.cfg.intervals]}  # fmt: skip

    def chart_links(self) -> list[dict[str, str]]:
        return [{"account": name, "inst_id": s.inst_id, "interval": acct.interval, "strategy": s.name}
                for name, acct in sorted(self.cfg.accounts.items()) for s in acct.strategies]  # fmt: skip

    # ---- account -------------------------------------------------------------------------------
    def account_page(self, name: str) -> dict[str, Any]:
        now = self.clock.now()
        summary = self.trader(name, now)
        extra: dict[str, Any] = {"equity_curve": [], "orders": [], "fills": [], "pnl": []}
        try:
            with open_journal(self.journal_path(name)) as jv:
                if jv is not None:
                    extra = {"equity_curve": jv.equity_curve(), "orders": jv.orders(200),
                             "fills": jv.fills(None, 200), "pnl": jv.pnl_by_strategy()}  # fmt: skip
        except JournalUnreadable:  # the summary's flag says why
            pass
        return {"now": now.isoformat(), **summary, **extra}

    def _backtest(self, run: str, inst_id: str, iv: Interval) -> list[dict[str, Any]]:
        path = trades_path(self.cfg.data_dir, run)
        if not path.is_file():
            raise NotFound(f"unknown backtest run {run!r}: no backtests/{run}/trades.csv in the data folder")
        return [
            {"bar": int(floor_to_bar(r["ts"], iv, self.cfg.candle_timezone).timestamp()), "side": r["side"],
             "px": str(r["px"]), "sz": str(r["sz"]), "ts": r["ts"].isoformat()}
            for r in read_trades(path, inst_id)
        ]  # fmt: skip

    # ---- chart ---------------------------------------------------------------------------------
    def chart_bars(self, inst_id: str, interval: str, since: int | None) -> ChartBars:
        self.instrument(inst_id)
        self.interval(interval)
        return self.candles.bars(inst_id, interval).since(since)

    def overlays(
        self, inst_id: str, interval: str, account: str | None, since: int | None, backtest: str | None = None
    ) -> dict[str, Any]:
        """Fill markers, target changes and the strategy's lines (from ``since``) for one chart, and
        a backtest run's trades when ``backtest`` names one."""
        self.instrument(inst_id)
        iv = self.interval(interval)
        bars = self.candles.bars(inst_id, interval)
        out: dict[str, Any] = {"fills": [], "targets": [], "lines": {}, "strategy": None}
        if backtest is not None:
            out["backtest"] = self._backtest(backtest, inst_id, iv)
        if account is None:
            return out
        acct = self.account(account)
        strat = next((s for s in acct.strategies if s.inst_id == inst_id), None)
        if strat is not None and len(bars):
            out["strategy"] = {"name": strat.name, "params": strat.params}
            series = plot_series(strat.name, strat.params, bars.closes())
            keep = bars.since(since)
            start = len(bars) - len(keep)
            out["lines"] = {k: v.to_numpy()[start:] for k, v in series.items()}  # NaN = not defined yet
            out["lines_t"] = keep.t
        tz = self.cfg.candle_timezone
        try:
            with open_journal(self.journal_path(account)) as jv:
                if jv is None:
                    return out
                fills, changes = jv.fills(inst_id, 5000), jv.target_changes(inst_id)
        except JournalUnreadable as exc:  # the chart still shows, without the fills
            return {**out, "journal_error": str(exc)}
        for f in fills:
            ts = datetime.fromisoformat(f["ts"]).astimezone(UTC)
            out["fills"].append({**f, "bar": int(floor_to_bar(ts, iv, tz).timestamp())})
        for t in changes:
            close = datetime.fromisoformat(t["bar_close"]).astimezone(UTC)
            bar = floor_to_bar(close - acct.interval_obj.delta, iv, tz)
            out["targets"].append({**t, "bar": int(bar.timestamp())})
        return out
