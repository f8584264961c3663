"""``python -m backtest`` against the simulator: a missing range is backfilled through the
collector's backfill, the outputs are written, bad input exits 2 with a message naming the
problem, and a grid runs in worker processes and prints a ranked table."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backtest.__main__ import main
from backtest.report import TRADE_COLUMNS
from core.clock import SystemClock
from core.store import CandleStore
from monitor.backtests import read_trades
from simulator.server import RunningSimulator

ACCOUNT = "sub1"
ONE = ["--strategy"]
ETH = ["--inst", "ETH-USDT-SWAP", "--interval", "1h"]


@pytest.fixture
def sim(sim_module: RunningSimulator) -> Iterator[RunningSimulator]:
    sim_module.control.reset()
    sim_module.control.set_rate_limits(False)
    yield sim_module
    sim_module.control.reset()


def write_config(tmp_path: Path, base_url: str) -> Path:
    path = tmp_path / "config.py"
    path.write_text(
        "from config import Account, Exchange, Notify, Strategy, Trader\n"
        f"EXCHANGE = Exchange(mode='simulator', base_url={base_url!r})\n"
        f"DATA_DIR = {str(tmp_path / 'data')!r}\n"
        "CANDLE_TIMEZONE = 'UTC'\n"
        "NOTIFY = Notify(dingtalk=None)\n"
        f"ACCOUNTS = {{{ACCOUNT!r}: Account(credentials='OKX_SUB1', interval='1h', strategies=[\n"
        "    Strategy('ETH-USDT-SWAP', 'bollinger', params={'n': 20, 'm': 2}, leverage=3),\n"
        "    Strategy('BTC-USDT', 'sma_cross', params={'fast': 5, 'slow': 20}),\n"
        "], trader=Trader(order_type='market'))}\n",
        encoding="utf-8",
    )
    return path


def days_ago(n: int) -> str:
    return (SystemClock().now() - timedelta(days=n)).date().isoformat()


def run_account(config: Path, frm: int, to: int, out: Path, progress: str = "off") -> int:
    """``--account`` from ``frm`` to ``to`` days ago."""
    return main(["--account", ACCOUNT, "--from", days_ago(frm), "--to", days_ago(to), "--config", str(config),
                 "--progress", progress, "--out", str(out)])  # fmt: skip


def test_account_run_backfills_and_writes_its_outputs(
    sim: RunningSimulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, sim.base_url)
    out = tmp_path / "run"

    code = main(["--account", ACCOUNT, "--from", days_ago(8), "--to", days_ago(2), "--config", str(config),
                 "--progress", "off", "--out", str(out)])  # fmt: skip

    assert code == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "bollinger ETH-USDT-SWAP  vectorised" in printed
    assert "account" in printed
    assert (tmp_path / "data" / "candles" / "ETH-USDT-SWAP_1h.csv").is_file()  # fetched by the backfill
    summary = json.loads((out / "summary.json").read_text())
    assert summary["bars"] == 7 * 24
    assert summary["order_type"] == "market"
    assert [s["targets"] for s in summary["strategies"]] == ["vectorised", "vectorised"]
    assert all(s["checked_bars"] > 0 for s in summary["strategies"])
    # the swap's funding history was fetched from public/funding-rate-history; spot pays none
    assert (tmp_path / "data" / "funding" / "ETH-USDT-SWAP.csv").is_file()
    sources = {s["inst_id"]: s["funding_source"] for s in summary["strategies"]}
    assert sources["ETH-USDT-SWAP"].startswith("ETH-USDT-SWAP.csv (")
    assert sources["BTC-USDT"] == "flat rate"
    assert set(summary["account"]) >= {"total_return", "annual_return", "max_drawdown", "sharpe", "sortino",
                                       "trades", "win_rate", "exposure", "fees", "funding"}  # fmt: skip
    with (out / "trades.csv").open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == TRADE_COLUMNS
    assert len(rows) > 2
    drawn = read_trades(out / "trades.csv", "ETH-USDT-SWAP")  # the monitor's chart overlay reads it
    assert len(drawn) == sum(1 for r in rows[1:] if r[1] == "ETH-USDT-SWAP") > 0
    assert (out / "equity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len((out / "equity.csv").read_text().splitlines()) == 7 * 24 + 1


def test_replay_and_vectorised_runs_agree(sim: RunningSimulator, tmp_path: Path) -> None:
    config = write_config(tmp_path, sim.base_url)
    args = ["--account", ACCOUNT, "--from", days_ago(5), "--to", days_ago(3), "--config", str(config),
            "--progress", "off"]  # fmt: skip

    assert main([*args, "--out", str(tmp_path / "v"), "--method", "vectorised"]) == 0
    assert main([*args, "--out", str(tmp_path / "r"), "--method", "replay", "--no-fetch"]) == 0

    assert (tmp_path / "v" / "trades.csv").read_text() == (tmp_path / "r" / "trades.csv").read_text()
    assert (tmp_path / "v" / "equity.csv").read_text() == (tmp_path / "r" / "equity.csv").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--account", "nobody"], "unknown account 'nobody'; configured: sub1"),
        ([*ONE, "nope", *ETH], "unknown strategy 'nope'"),
        ([*ONE, "bollinger", *ETH, "--params", '{"n": 0}'], "bad params {'n': 0}: param 'n'"),
        ([*ONE, "bollinger", *ETH, "--params", "[1]"], "--params must be a JSON object"),
        ([*ONE, "bollinger", *ETH, "--grid", '{"n": 5}'], "'n' must be a non-empty list"),
        (["--account", ACCOUNT, "--from", "2026-03-02", "--to", "2026-03-01"], "empty range"),
        (["--account", ACCOUNT, "--no-fetch"], "no candle file"),
    ],
)
def test_bad_input_exits_2_naming_the_problem(
    sim: RunningSimulator, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    config = write_config(tmp_path, sim.base_url)

    code = main([*args, "--config", str(config), "--progress", "off"])

    assert code == 2
    assert message in capsys.readouterr().err


def test_a_range_older_than_the_csv_is_fetched_backwards_into_the_history_cache(
    sim: RunningSimulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """QA 15: a --from before the CSV's first row stopped with "still missing after the backfill"."""
    config = write_config(tmp_path, sim.base_url)
    assert run_account(config, 3, 2, tmp_path / "recent") == 0
    live = tmp_path / "data" / "candles" / "ETH-USDT-SWAP_1h.csv"
    before = live.read_bytes()
    capsys.readouterr()

    code = run_account(config, 12, 10, tmp_path / "old", progress="on")

    err = capsys.readouterr().err
    assert code == 0, err
    assert "history ETH-USDT-SWAP 1h" in err  # the progress bar
    summary = json.loads((tmp_path / "old" / "summary.json").read_text())
    assert summary["bars"] == 3 * 24  # a plain --to includes its day
    assert live.read_bytes() == before  # the collector's live CSV is never rewritten
    cache = CandleStore(tmp_path / "data" / "backtests" / "history", "UTC")
    bars = cache.read_all("ETH-USDT-SWAP", "1h")  # a regular candle CSV, contiguous
    live_first = CandleStore(tmp_path / "data" / "candles", "UTC").first_time("ETH-USDT-SWAP", "1h")
    assert bars[0].ts <= datetime.fromisoformat(days_ago(12)).replace(tzinfo=UTC) - timedelta(hours=20)
    assert bars[-1].ts == CandleStore(tmp_path / "data" / "candles", "UTC").last_time("ETH-USDT-SWAP", "1h")
    assert live_first in {b.ts for b in bars}
    fetched = len(bars)

    # a second run reuses the cache's older part: nothing is fetched again
    sim.control.clear_requests()
    assert run_account(config, 11, 10, tmp_path / "again") == 0
    assert not [r for r in sim.control.requests() if "history-candles" in r["path"]]
    assert len(cache.read_all("ETH-USDT-SWAP", "1h")) >= fetched


def test_a_gap_in_the_data_stops_the_run_naming_it(
    sim: RunningSimulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, sim.base_url)
    assert run_account(config, 4, 3, tmp_path / "ok") == 0
    path = tmp_path / "data" / "candles" / "ETH-USDT-SWAP_1h.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:50] + lines[53:]) + "\n")  # three bars gone

    code = main(["--account", ACCOUNT, "--config", str(config), "--progress", "off", "--no-fetch"])

    err = capsys.readouterr().err
    assert code == 2
    assert "gap in the data: ETH-USDT-SWAP 1h has no bars between" in err
    assert "(3 bar(s) missing)" in err


def test_a_grid_runs_on_worker_processes_and_is_ranked(
    sim: RunningSimulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, sim.base_url)

    code = main([*ONE, "bollinger", *ETH, "--from", days_ago(6), "--to", days_ago(2),
                 "--grid", '{"n": [10, 20], "m": [1.5, 2]}', "--workers", "2",
                 "--config", str(config), "--progress", "off", "--out", str(tmp_path / "grid")])  # fmt: skip

    assert code == 0, capsys.readouterr().err
    table = (tmp_path / "grid" / "grid.txt").read_text().splitlines()
    assert table[0].split()[:3] == ["params", "return", "annual"]
    assert len(table) == 1 + 4
    sharpes = [float(line.split("}")[1].split()[3]) for line in table[1:]]
    assert sharpes == sorted(sharpes, reverse=True)
