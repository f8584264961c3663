"""The monitor's pure pieces: health flags, live-change detection, bind safety, strategy lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from core.intervals import parse_interval
from core.markers import InstrumentStatus, Marker
from monitor.__main__ import bind_problems
from monitor.health import collector_flags, duration, trader_flags, worst
from monitor.live import changes
from strategies.plots import plot_series

CLOSE = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
M1 = parse_interval("1m")


def _marker(lag_s: float = 1.0, failed: tuple[str, ...] = ()) -> Marker:
    sts = {i: InstrumentStatus(i not in failed, CLOSE - M1.delta, "boom" if i in failed else "")
           for i in ("BTC-USDT-SWAP", "ETH-USDT-SWAP")}  # fmt: skip
    return Marker("1m", CLOSE - M1.delta, CLOSE, CLOSE + timedelta(seconds=lag_s), sts)


@pytest.mark.parametrize(
    ("marker", "now_s", "level", "reason"),
    [
        (None, 0, "bad", "no 1m marker yet"),
        (_marker(), 30, "ok", ""),
        (_marker(), 60 + 85, "bad", "next 1m marker is 85s late"),
        (_marker(failed=("ETH-USDT-SWAP",)), 30, "bad", "failed: ETH-USDT-SWAP"),
        (_marker(lag_s=12.5), 30, "warn", "close-to-ready lag 12.5s"),
    ],
)
def test_collector_flags(marker: Marker | None, now_s: int, level: str, reason: str) -> None:
    flags = collector_flags(marker, M1, CLOSE + timedelta(seconds=now_s), grace_s=35.0)
    assert worst(flags) == level
    assert flags[0].reason == reason


def _cycle(status: str, reason: str = "") -> dict[str, str]:
    return {"bar_close": CLOSE.isoformat(), "status": status, "reason": reason}


@pytest.mark.parametrize(
    ("cycle", "now_s", "orders", "error", "level", "reason"),
    [
        (None, 0, [], None, "warn", "no cycle yet"),
        (_cycle("done"), 20, [], None, "ok", ""),
        (_cycle("skipped", "no marker"), 20, [], None, "bad", "last cycle skipped: no marker"),
        (_cycle("failed", "strategy error"), 20, [], None, "bad", "last cycle failed: strategy error"),
        (_cycle("done"), 60 + 600, [], None, "bad", "no cycle for 11.0m (trader down?)"),
        (_cycle("targets"), 50, [], None, "bad", f"cycle {CLOSE.isoformat()} stuck in targets"),
        (_cycle("done"), 20, [{"status": "unknown"}, {"status": "live"}], None, "bad",
         "1 order(s) of unknown outcome"),
        (_cycle("done"), 20, [], {"at": CLOSE.isoformat(), "message": "order x rejected"}, "warn",
         "order x rejected"),
        (_cycle("done"), 20, [], {"at": (CLOSE - timedelta(hours=1)).isoformat(), "message": "old"}, "ok",
         ""),
    ],
)  # fmt: skip
def test_trader_flags(
    cycle: dict[str, str] | None, now_s: int, orders: list[dict[str, str]], error: dict[str, str] | None,
    level: str, reason: str,
) -> None:  # fmt: skip
    flags = trader_flags(cycle, M1, CLOSE + timedelta(seconds=now_s), 35.0, orders, error)
    assert worst(flags) == level
    assert flags[0].reason == reason


@pytest.mark.parametrize(
    ("s", "text"),
    [(42, "42s"), (85, "85s"), (95, "1.6m"), (600, "10.0m"), (7200, "2.0h"), (3 * 86400, "3.0d")],
)
def test_duration(s: float, text: str) -> None:
    assert duration(s) == text


def test_changes_become_events() -> None:
    old = {"bar:1m": "a.json", "bar:5m": "", "journal:alpha": "1:2/-", "journal:beta": "-/-"}
    new = {"bar:1m": "b.json", "bar:5m": "", "journal:alpha": "1:2/-", "journal:beta": "3:4/5:6"}
    assert changes(old, new) == [
        {"type": "bar", "interval": "1m", "marker": "b.json"},
        {"type": "journal", "account": "beta"},
    ]
    assert changes(new, new) == []
    assert changes(new, {**new, "bar:1m": ""}) == []  # markers pruned away: nothing new to draw


@pytest.mark.parametrize(
    ("host", "token", "errors", "warnings"),
    [
        ("127.0.0.1", None, 0, 0),
        ("localhost", None, 0, 0),
        ("::1", None, 0, 0),
        ("192.0.2.10", None, 1, 2),
        ("192.168.1.5", "x" * 16, 0, 2),
        ("127.0.0.1", "short", 1, 0),
    ],
)
def test_bind_problems(host: str, token: str | None, errors: int, warnings: int) -> None:
    errs, warns = bind_problems(host, token)
    assert (len(errs), len(warns)) == (errors, warnings)


def test_bollinger_lines_are_the_bands_the_strategy_trades_on() -> None:
    closes = pd.Series(np.linspace(100, 130, 60) + np.sin(np.arange(60)))
    lines = plot_series("bollinger", {"n": 20, "m": 2.0}, closes)
    window = closes.to_numpy()[-20:]
    assert lines["median"].iloc[-1] == pytest.approx(window.mean())
    assert lines["upper"].iloc[-1] == pytest.approx(window.mean() + 2 * window.std(ddof=0))
    assert lines["lower"].iloc[-1] == pytest.approx(window.mean() - 2 * window.std(ddof=0))
    assert lines["median"].iloc[:19].isna().all()
    assert set(plot_series("bollinger_bias", {"n": 20, "m": 2.0, "p": 0.02}, closes)) == {
        "median",
        "upper",
        "lower",
    }


def test_sma_lines_and_bad_params() -> None:
    closes = pd.Series([float(x) for x in range(1, 11)])
    lines = plot_series("sma_cross", {"fast": 2, "slow": 5}, closes)
    assert lines["sma2"].iloc[-1] == 9.5
    assert lines["sma5"].iloc[-1] == 8.0
    with pytest.raises(ValueError, match="fast"):
        plot_series("sma_cross", {"fast": 5, "slow": 2}, closes)
    with pytest.raises(ValueError, match="unknown strategy"):
        plot_series("nope", {}, closes)


def test_every_static_file_is_package_data() -> None:
    import fnmatch
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"][
        "monitor"
    ]
    static = [
        p.relative_to(root / "monitor").as_posix()
        for p in (root / "monitor" / "static").rglob("*")
        if p.is_file()
    ]
    assert static
    assert [f for f in static if not any(fnmatch.fnmatch(f, g) for g in globs)] == []
    vendor = root / "monitor" / "static" / "vendor"
    assert "TradingView" in (vendor / "NOTICE").read_text(encoding="utf-8")
    assert "Apache License" in (vendor / "LICENSE").read_text(encoding="utf-8")
