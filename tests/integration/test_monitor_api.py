"""The monitor's JSON API on a real server (loopback, free port) over files written by the
project's own writers: every endpoint, bad input, the token, the live event stream, no secrets."""

from __future__ import annotations

import csv
import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from config import load_config
from config.schema import FleetConfig
from core.clock import FakeClock
from core.store import CandleStore
from monitor.journal_view import open_journal
from tests.integration.monitor_rig import (
    BTC,
    CLOSE,
    ETH,
    NOW,
    MonitorServer,
    fleet_config,
    fleet_files,
    make_bars,
    write_marker,
)
from trader.journal import Journal

TOKEN = "t0ken-for-the-monitor-tests"


@pytest.fixture
def cfg(tmp_path: Path) -> FleetConfig:
    cfg = fleet_config(tmp_path)
    fleet_files(cfg, new_tables=True)
    return cfg


@pytest.fixture
def server(cfg: FleetConfig) -> Iterator[MonitorServer]:
    with MonitorServer(cfg, FakeClock(NOW)).running() as srv:
        yield srv


def _get(srv: MonitorServer, path: str, **kw: object) -> requests.Response:
    return requests.get(srv.url + path, timeout=10, **kw)  # type: ignore[arg-type]


def _csv_rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as fh:
        return list(csv.reader(fh))[1:]


# ---- fleet -----------------------------------------------------------------------------------
def test_fleet_flags_what_is_wrong(server: MonitorServer) -> None:
    body = _get(server, "/api/fleet").json()
    col = {r["interval"]: r for r in body["collector"]}
    assert col["1m"]["level"] == "ok"
    assert col["1m"]["lag_s"] == 2.5
    assert col["1m"]["max_lag_s"] == 2.5
    assert col["1m"]["age_s"] == pytest.approx(27.5)  # created 2.5 s after the close, now is 30 s after
    assert col["5m"]["level"] == "bad"
    assert col["5m"]["failed"] == {BTC: "gap in history"}
    traders = {t["account"]: t for t in body["traders"]}
    assert traders["alpha"]["level"] == "ok"
    assert traders["alpha"]["last_cycle"]["status"] == "done"
    assert traders["alpha"]["equity"] == "1005"
    assert traders["beta"]["level"] == "bad"
    assert "no marker before the deadline" in traders["beta"]["flags"][0]["reason"]
    assert traders["beta"]["skips"][0]["reason"] == "no marker before the deadline"
    assert body["level"] == "bad"
    assert body["alerts"][0]["message"] == "51008 insufficient margin"
    assert {(c["account"], c["inst_id"]) for c in body["charts"]} == {
        ("alpha", BTC),
        ("alpha", ETH),
        ("beta", ETH),
    }
    assert (body["instruments"], body["intervals"]) == ([BTC, ETH], ["1m", "5m"])


def test_a_stale_collector_and_trader_turn_red(cfg: FleetConfig) -> None:
    with MonitorServer(cfg, FakeClock(NOW + timedelta(minutes=10))).running() as srv:
        body = _get(srv, "/api/fleet").json()
    col = {r["interval"]: r for r in body["collector"]}
    assert col["1m"]["level"] == "bad"
    assert "late" in col["1m"]["flags"][0]["reason"]
    alpha = next(t for t in body["traders"] if t["account"] == "alpha")
    assert alpha["level"] == "bad"
    assert "trader down" in alpha["flags"][0]["reason"]


def test_older_journals_show_targets_and_alerts_as_absent(tmp_path: Path) -> None:
    cfg = fleet_config(tmp_path)
    fleet_files(cfg, new_tables=False)
    with MonitorServer(cfg, FakeClock(NOW)).running() as srv:
        assert _get(srv, "/api/fleet").json()["alerts"] is None
        assert _get(srv, "/api/accounts/alpha").json()["targets"] is None


def test_an_account_without_a_journal_yet(tmp_path: Path) -> None:
    cfg = fleet_config(tmp_path)
    with MonitorServer(cfg, FakeClock(NOW)).running() as srv:
        body = _get(srv, "/api/accounts/alpha").json()
        fleet = _get(srv, "/api/fleet").json()
    assert body["journal"] is False
    assert body["equity_curve"] == []
    assert body["level"] == "warn"
    assert {r["level"] for r in fleet["collector"]} == {"bad"}  # no marker yet


@pytest.mark.parametrize(
    ("content", "why"),
    [(b"", "is empty (0 bytes)"), (bytes(range(256)) * 64, "file is not a database")],
    ids=["empty", "random-bytes"],
)
def test_an_unreadable_journal_turns_that_trader_red(cfg: FleetConfig, content: bytes, why: str) -> None:
    """QA 11: a corrupt journal made /api/fleet, the account page and the overlays 500."""
    for extra in ("-wal", "-shm"):
        (cfg.journal_dir / f"beta.sqlite{extra}").unlink(missing_ok=True)
    (cfg.journal_dir / "beta.sqlite").write_bytes(content)
    with MonitorServer(cfg, FakeClock(NOW)).running() as srv:
        fleet = _get(srv, "/api/fleet")
        page = _get(srv, "/api/accounts/beta")
        overlays = _get(srv, "/api/overlays", params={"inst": ETH, "interval": "5m", "account": "beta"})
    assert (fleet.status_code, page.status_code, overlays.status_code) == (200, 200, 200)
    traders = {t["account"]: t for t in fleet.json()["traders"]}
    assert traders["beta"]["level"] == "bad"
    reason = traders["beta"]["flags"][0]["reason"]
    assert reason.startswith("journal unreadable: beta.sqlite")
    assert why in reason
    assert traders["alpha"]["level"] == "ok"  # the other account is unaffected
    assert fleet.json()["alerts"][0]["message"] == "51008 insufficient margin"  # alpha's alerts still show
    assert page.json()["level"] == "bad"
    assert page.json()["flags"][0]["reason"] == reason
    assert page.json()["orders"] == []
    assert overlays.json()["fills"] == []
    assert overlays.json()["journal_error"] == reason
    assert overlays.json()["strategy"] is not None  # the chart's lines still come


# ---- account ---------------------------------------------------------------------------------
def test_account_page_data(server: MonitorServer) -> None:
    body = _get(server, "/api/accounts/alpha").json()
    assert [p["equity"] for p in body["equity_curve"]] == [str(1000 + i) for i in range(6)]
    assert body["targets"][0]["inst_id"] == BTC
    assert body["targets"][0]["target"] == -1
    assert body["positions"][0]["inst_id"] == BTC
    assert len(body["orders"]) == 2
    assert len(body["fills"]) == 2
    (pnl,) = body["pnl"]
    assert (pnl["inst_id"], pnl["strategy"], pnl["orders"]) == (BTC, "sma_cross", 2)
    assert Decimal(pnl["pnl"]) == Decimal("1.25")
    assert Decimal(pnl["fee"]) == Decimal("-0.04")
    page = _get(server, "/account/alpha")
    assert page.status_code == 200
    assert "<html" in page.text


# ---- chart -----------------------------------------------------------------------------------
def test_candles_match_the_csv_and_follow_appends(server: MonitorServer, cfg: FleetConfig) -> None:
    path = CandleStore(cfg.candles_dir, cfg.candle_timezone).path(BTC, "1m")
    rows = _csv_rows(path)
    body = _get(server, "/api/candles", params={"inst": BTC, "interval": "1m"}).json()
    assert len(body["t"]) == len(rows) == 300
    assert body["close"][-1] == float(rows[-1][4])
    assert body["open"][0] == float(rows[0][1])
    assert body["t"][-1] == int((CLOSE - timedelta(minutes=1)).timestamp())
    assert body["t"] == sorted(body["t"])
    assert len(set(body["t"])) == 300

    store = CandleStore(cfg.candles_dir, cfg.candle_timezone)
    store.append(BTC, "1m", make_bars(1, 60, CLOSE, seed=9))
    since = _get(
        server, "/api/candles", params={"inst": BTC, "interval": "1m", "since": body["t"][-1]}
    ).json()
    assert since["t"] == [int(CLOSE.timestamp())]
    again = _get(server, "/api/candles", params={"inst": BTC, "interval": "1m"}).json()
    assert len(again["t"]) == len(_csv_rows(path)) == 301

    store.rewrite(BTC, "1m", make_bars(50, 60, CLOSE, seed=4))  # a repair rewrote the file: reload it
    short = _get(server, "/api/candles", params={"inst": BTC, "interval": "1m"}).json()
    assert len(short["t"]) == len(_csv_rows(path)) == 50
    assert short["close"][-1] == float(_csv_rows(path)[-1][4])


def test_overlays_fills_targets_and_strategy_lines(server: MonitorServer, cfg: FleetConfig) -> None:
    body = _get(server, "/api/overlays", params={"inst": BTC, "interval": "1m", "account": "alpha"}).json()
    assert [f["side"] for f in body["fills"]] == ["sell", "buy"]
    first_close = CLOSE - timedelta(minutes=5)
    assert body["fills"][1]["bar"] == int(first_close.timestamp())  # filled 2 s after that bar opened
    assert [t["target"] for t in body["targets"]] == [1, -1, 1, -1, 1, -1]
    assert body["strategy"] == {"name": "sma_cross", "params": {"fast": 2, "slow": 4}}
    closes = [float(r[4]) for r in _csv_rows(CandleStore(cfg.candles_dir).path(BTC, "1m"))]
    assert body["lines"]["sma2"][-1] == pytest.approx(sum(closes[-2:]) / 2)
    assert body["lines"]["sma4"][:3] == [None, None, None]
    assert len(body["lines_t"]) == len(body["lines"]["sma4"]) == 300

    eth = _get(server, "/api/overlays", params={"inst": ETH, "interval": "1m", "account": "alpha"}).json()
    assert set(eth["lines"]) == {"median", "upper", "lower"}
    last = _get(server, "/api/overlays", params={"inst": ETH, "interval": "1m", "account": "alpha",
                                                 "since": eth["lines_t"][-3]}).json()  # fmt: skip
    assert last["lines_t"] == eth["lines_t"][-2:]
    assert last["lines"]["upper"] == eth["lines"]["upper"][-2:]
    bare = _get(server, "/api/overlays", params={"inst": ETH, "interval": "5m"}).json()
    assert bare == {"fills": [], "targets": [], "lines": {}, "strategy": None}


def test_reading_never_blocks_the_trader_and_never_writes(cfg: FleetConfig) -> None:
    path = cfg.journal_dir / "alpha.sqlite"
    Journal(path).close()  # the trader's journal is in WAL mode
    writer = sqlite3.connect(path, timeout=0, isolation_level=None)  # any wait would be an error
    try:
        with open_journal(path) as view:
            assert view is not None
            view._db.execute("BEGIN")
            assert view.equity_curve()[-1]["equity"] == "1005"  # a read snapshot is held open...
            writer.execute("BEGIN IMMEDIATE")  # ...and the trader still takes its write lock at once
            writer.execute("UPDATE cycles SET equity = '2000' WHERE bar_close = ?", (CLOSE.isoformat(),))
            writer.execute("COMMIT")
            assert view.equity_curve()[-1]["equity"] == "1005"  # (the snapshot is consistent)
            view._db.execute("COMMIT")
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                view._db.execute("UPDATE cycles SET equity = '0'")
    finally:
        writer.close()
    with open_journal(path) as view:
        assert view is not None
        assert view.equity_curve()[-1]["equity"] == "2000"


# ---- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        (
            "/api/candles",
            {"inst": "XRP-USDT-SWAP", "interval": "1m"},
            404,
            "unknown instrument 'XRP-USDT-SWAP'",
        ),
        ("/api/candles", {"inst": BTC, "interval": "4h"}, 404, "unknown interval '4h'; known: 1m, 5m"),
        ("/api/candles", {"inst": BTC}, 400, "missing query parameter 'interval'"),
        (
            "/api/candles",
            {"inst": BTC, "interval": "1m", "since": "yesterday"},
            400,
            "since must be Unix seconds",
        ),
        (
            "/api/overlays",
            {"inst": BTC, "interval": "1m", "account": "gamma"},
            404,
            "unknown account 'gamma'",
        ),
        ("/api/accounts/gamma", {}, 404, "unknown account 'gamma'; known: alpha, beta"),
        ("/account/gamma", {}, 404, "unknown account 'gamma'"),
        ("/api/nothing", {}, 404, "no such page: /api/nothing"),
    ],
)
def test_bad_input_is_a_clear_error(
    server: MonitorServer, path: str, params: dict[str, str], status: int, message: str
) -> None:
    resp = _get(server, path, params=params)
    assert resp.status_code == status
    assert message in resp.json()["error"]
    assert "Traceback" not in resp.text


def test_a_corrupt_csv_is_reported_not_crashed_on(server: MonitorServer, cfg: FleetConfig) -> None:
    path = CandleStore(cfg.candles_dir).path(ETH, "5m")
    path.write_text(path.read_text().replace(",", ";", 30))
    resp = _get(server, "/api/candles", params={"inst": ETH, "interval": "5m"})
    assert resp.status_code == 500
    assert str(path) in resp.json()["error"]


@pytest.mark.parametrize(
    ("tail", "why"),
    [("2025-01-06 00:00:00+00:00,1.5,2", "incomplete"), ("garbage;not;a;row\n", "unreadable")],
    ids=["torn", "junk"],
)
def test_a_bad_last_row_is_left_out_and_flagged(
    server: MonitorServer, cfg: FleetConfig, tail: str, why: str
) -> None:
    """QA 20: a partial or junk last line made /api/candles 500; the good rows are served."""
    path = CandleStore(cfg.candles_dir).path(ETH, "5m")
    good = _csv_rows(path)
    params = {"inst": ETH, "interval": "5m"}
    assert "warning" not in _get(server, "/api/candles", params=params).json()  # cached clean first
    with path.open("a") as fh:
        fh.write(tail)
    resp = _get(server, "/api/candles", params=params)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert len(body["t"]) == len(good)
    assert body["close"][-1] == float(good[-1][4])
    assert why in body["warning"]
    assert path.name in body["warning"]
    overlays = _get(server, "/api/overlays", params={**params, "account": "beta"})
    assert overlays.status_code == 200


# ---- token -----------------------------------------------------------------------------------
def test_token_protects_every_route(cfg: FleetConfig) -> None:
    with MonitorServer(cfg, FakeClock(NOW), token=TOKEN).running() as srv:
        assert _get(srv, "/api/fleet").status_code == 401
        assert _get(srv, "/api/fleet", headers={"X-Okxfleet-Token": TOKEN + "x"}).status_code == 401
        assert _get(srv, "/static/fleet.js", allow_redirects=False).status_code == 302
        page = _get(srv, "/", allow_redirects=False)
        assert page.status_code == 302
        assert page.headers["Location"] == "/login"
        assert _get(srv, "/api/fleet", headers={"X-Okxfleet-Token": TOKEN}).status_code == 200
        assert _get(srv, "/api/fleet", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        with requests.Session() as browser:
            wrong = browser.post(srv.url + "/login", data={"token": "nope"}, timeout=10)
            assert wrong.status_code == 401
            assert "wrong token" in wrong.text
            ok = browser.post(srv.url + "/login", data={"token": TOKEN}, timeout=10)
            assert ok.status_code == 200
            assert "okxfleet · fleet" in ok.text
            assert browser.get(srv.url + "/api/fleet", timeout=10).status_code == 200


# ---- live ------------------------------------------------------------------------------------
def _events(srv: MonitorServer, want: int, out: list[dict[str, str]], connected: threading.Event) -> None:
    with requests.get(srv.url + "/api/events", stream=True, timeout=10) as resp:
        for line in resp.iter_lines(decode_unicode=True):
            if line == ": connected":
                connected.set()
            if line.startswith("data: "):
                out.append(json.loads(line[6:]))
                if len(out) >= want:
                    return


def test_new_markers_and_journal_writes_are_pushed(server: MonitorServer, cfg: FleetConfig) -> None:
    got: list[dict[str, str]] = []
    connected = threading.Event()
    reader = threading.Thread(target=_events, args=(server, 2, got, connected), daemon=True)
    reader.start()
    assert connected.wait(10)
    write_marker(cfg, "1m", CLOSE + timedelta(minutes=1))
    reader.join(0.5)
    db = sqlite3.connect(cfg.journal_dir / "beta.sqlite")
    with db:
        db.execute("UPDATE cycles SET equity = '1002'")
    db.close()
    reader.join(10)
    assert {"type": "bar", "interval": "1m", "marker": "20260302T120100Z.json"} in got
    assert {"type": "journal", "account": "beta"} in got


# ---- safety ----------------------------------------------------------------------------------
def test_nothing_secret_reaches_the_page(tmp_path: Path) -> None:
    cfg0 = fleet_config(tmp_path)
    secrets = {"OKX_E2E_ALPHA_API_KEY": "k-1f2e3d4c5b6a", "OKX_E2E_ALPHA_SECRET": "s-9a8b7c6d5e4f",
               "OKX_E2E_ALPHA_PASSPHRASE": "p-Zq8Yx7Wv", "DINGTALK_WEBHOOK": "https://oapi.dingtalk.com/robot/send?access_token=tok-55aa",
               "DINGTALK_SECRET": "SEC-77bb66cc"}  # fmt: skip
    cfg = load_config(cfg0.source, environ=secrets, check_credentials=False)
    assert cfg.env["OKX_E2E_ALPHA_SECRET"] == "s-9a8b7c6d5e4f"  # the config holds them...
    fleet_files(cfg, new_tables=True)
    with MonitorServer(cfg, FakeClock(NOW)).running() as srv:
        bodies = [
            _get(srv, p).text
            for p in ("/api/fleet", "/api/accounts/alpha", "/api/accounts/beta",
                      f"/api/overlays?inst={BTC}&interval=1m&account=alpha",
                      f"/api/candles?inst={BTC}&interval=1m")
        ]  # fmt: skip
    text = "\n".join(bodies)
    for value in secrets.values():
        assert value not in text  # ...the pages never see them
    assert "OKX_E2E_ALPHA" not in text
    assert "credentials" not in text


# ---- the backtester's hook -------------------------------------------------------------------
def test_a_backtest_runs_trades_on_the_chart(server: MonitorServer, cfg: FleetConfig) -> None:
    run = cfg.data_dir / "backtests" / "bt-1" / "trades.csv"
    run.parent.mkdir(parents=True)
    at = CLOSE - timedelta(minutes=3, seconds=-20)
    run.write_text(
        "time,inst_id,strategy,kind,side,sz,price,fee,pnl,position,target\n"
        f"{at.isoformat()},{BTC},sma_cross,open,buy,0.01,100.5,0.01,0,0.01,1\n"
        f"{(at + timedelta(minutes=1)).isoformat()},{ETH},bollinger,open,sell,1,2000,1,0,-1,-1\n",
        encoding="utf-8",
    )
    query = {"inst": BTC, "interval": "1m", "backtest": "bt-1"}
    body = _get(server, "/api/overlays", params=query).json()
    assert body["backtest"] == [{"bar": int((CLOSE - timedelta(minutes=3)).timestamp()), "side": "buy",
                                 "px": "100.5", "sz": "0.01", "ts": at.isoformat()}]  # fmt: skip
    bad = _get(server, "/api/overlays", params={**query, "backtest": "../../etc"})
    assert bad.status_code == 400
    assert "backtest run names are letters" in bad.json()["error"]
    missing = _get(server, "/api/overlays", params={**query, "backtest": "nope"})
    assert missing.status_code == 404
    assert "unknown backtest run 'nope'" in missing.json()["error"]
    junk = f"{at.isoformat()},{BTC},x,open,hold,1,1,0,0,1,1\n"
    run.write_text(run.read_text(encoding="utf-8") + junk, encoding="utf-8")
    broken = _get(server, "/api/overlays", params=query)
    assert broken.status_code == 500
    assert "line 4" in broken.json()["error"]
    assert "side must be buy or sell" in broken.json()["error"]
