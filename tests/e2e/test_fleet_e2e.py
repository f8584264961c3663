"""End to end: the whole fleet as the user runs it — ``python -m scripts.fleet --with-simulator``.

Simulator, collector and two traders run as real subprocesses under the fleet supervisor on an
accelerated virtual clock (``--speed``), notifying a fake DingTalk robot. Account ``alpha`` trades
1m bars with limit orders, ``beta`` 5m bars (resampled by the collector) with market orders; each
runs ``sma_cross`` fast 2 / slow 4 (orders when it crosses, every few bars) on one instrument and
``e2e_regime`` (always a target, so it orders from its first bar) on another — so every account
trades whatever the (date-dependent) simulated market does. After several bars the test takes
a snapshot of the simulator at a quiet moment, stops the fleet with SIGTERM and checks every part:

- CSVs: ascending, no duplicates, no gaps, only closed bars, each row (1m and resampled 5m) equal
  to the bar the simulator itself serves;
- markers: one per bar close since the collector started, each written once, every instrument
  ``ok``, no temp files left;
- journals: a ``done`` cycle for every marked bar since each trader started, one run each, a
  signal per strategy priced at the CSV's close, orders in terminal states, fills recorded;
- orders at the simulator: unique clOrdIds, each traceable to its journal row (and back), placed
  after the marker that vouched for its bar, never over-filled; positions = the journals' targets;
- DingTalk: every process announced its start, bar reports arrived (their clOrdIds are the
  journal's), nothing was refused (signature, keyword, 20/min: the fleet shares one window);
- a clean stop: exit code 0, every child stopped on SIGTERM within the grace period, none left,
  no ERROR or traceback in any log.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from config import load_config
from simulator.control import SimControl
from tests.e2e.fleet_harness import (
    AccountPlan,
    FleetProcess,
    MarkerWatch,
    StrategyPlan,
    alive,
    check_candles,
    check_native,
    check_orders,
    check_positions,
    check_signals,
    collect_native,
    done_cycles,
    free_port,
    kill_leftovers,
    marker_index,
    quiet_snapshot,
    read_csv,
    read_journal,
    read_markers,
    sim_clock,
    stray_files,
    wait_for,
    write_config,
)
from tests.e2e.fleet_strategy import REGIME
from tests.fakes.dingtalk import FakeDingTalk
from tests.plugins.notify import dingtalk_env

pytestmark = pytest.mark.slow

SPEED = 24  # a 1m bar every 2.5 s of wall time, a 5m bar every 12.5 s
BTC, ETH, SOL = "BTC-USDT-SWAP", "ETH-USDT-SWAP", "SOL-USDT-SWAP"
REGIME_2_4 = StrategyPlan(ETH, REGIME, {"fast": 2, "slow": 4})
ACCOUNTS = (  # sma_cross orders on crosses only; e2e_regime from the first bar on, whatever the market
    AccountPlan("alpha", "1m", (StrategyPlan(BTC), REGIME_2_4), order_type="limit"),
    AccountPlan("beta", "5m", (StrategyPlan(ETH), replace(REGIME_2_4, inst_id=SOL)), order_type="market"),
)
ALPHA_BARS = 14  # done 1m cycles to wait for
BETA_BARS = 2  # done 5m cycles to wait for
_REPORT_ORDER = re.compile(r"· (ox[cro][0-9a-z]{29})\b")


def test_fleet_end_to_end(tmp_path: Path, dingtalk: FakeDingTalk) -> None:
    config = write_config(tmp_path, port=free_port(), accounts=ACCOUNTS)
    cfg = load_config(config, environ={}, env_file=tmp_path / "absent.env")
    fleet = FleetProcess(config, tmp_path / "fleet.out", env=dingtalk_env(dingtalk), speed=SPEED)
    control = SimControl(cfg.exchange.url, timeout=5)
    try:
        with MarkerWatch(cfg.markers_dir, ["1m", "5m"]) as watch:
            fleet.start()
            wait_for("the simulator", lambda: _answers(control), 60)
            clock = sim_clock(control)
            assert clock.speed == SPEED
            started = clock.now()
            wait_for("both traders' cycles", lambda: (
                len(done_cycles(cfg, "alpha")) >= ALPHA_BARS and len(done_cycles(cfg, "beta")) >= BETA_BARS
            ), 120)  # fmt: skip
            snap = quiet_snapshot(cfg, control, clock, after=started, timeout_s=60)
            native = collect_native(cfg)  # what the simulator serves for every bar on disk so far
            children = fleet.children()
            stopped_at = clock.now()
            code = fleet.stop(timeout_s=60)
    finally:
        control.close()
        fleet.kill_everything()
        leftovers = kill_leftovers(str(config))
    output = fleet.output()
    assert code == 0, output[-3000:]
    assert not leftovers, f"processes left running after the fleet stopped: {leftovers}"

    # ---- a clean stop ------------------------------------------------------------------------
    assert "all processes stopped." in output
    assert "SIGKILL" not in output, output[-3000:]  # nobody outlived the grace period
    assert sorted(" ".join(c.split()[2:4]) for c in children.values()) == [
        "collector --config", "simulator --config", "trader alpha", "trader beta",
    ], children  # fmt: skip
    assert not [pid for pid in children if alive(pid)]
    assert re.search(r"alpha\s+\d+ \S+\s+done", output), output[-2000:]  # the live status table
    logs = {p.stem: p.read_text(encoding="utf-8", errors="replace") for p in cfg.logs_dir.glob("*.log")}
    assert sorted(logs) == ["collector", "trader-alpha", "trader-beta"]
    assert "collector stopped: received SIGTERM" in logs["collector"]
    for name in ("trader-alpha", "trader-beta"):
        assert "received SIGTERM" in logs[name], name
    for name, text in logs.items():
        assert "Traceback" not in text, f"{name}:\n{text[-3000:]}"
        assert " ERROR " not in text, f"{name}:\n{text[-3000:]}"

    # ---- CSVs ---------------------------------------------------------------------------------
    candles = {}
    for (inst, interval), served in native.items():
        name = f"{inst}_{interval}.csv"
        bars = read_csv(cfg.candles_dir / name)
        check_candles(bars, interval, name=name, closed_by=stopped_at + timedelta(seconds=5))
        assert check_native(bars, served, name=name) == len(served), name  # every bar, field for field
        assert len(served) >= 30, (name, len(served))  # history_bars of every interval + the run
        candles[(inst, interval)] = bars
    assert set(candles) == {(BTC, "1m"), (ETH, "1m"), (SOL, "1m"), (ETH, "5m"), (SOL, "5m")}
    assert sorted(p.name for p in cfg.candles_dir.iterdir()) == sorted(f"{i}_{iv}.csv" for i, iv in candles)
    assert stray_files(cfg.markers_dir, ".json") == []  # no temp files left behind

    # ---- markers ------------------------------------------------------------------------------
    markers = {iv: marker_index(read_markers(cfg.markers_dir, iv)) for iv in ("1m", "5m")}
    assert watch.rewritten() == {}  # each marker written once, never replaced
    for interval, insts in (("1m", {BTC, ETH, SOL}), ("5m", {ETH, SOL})):
        closes = sorted(markers[interval])
        step = timedelta(minutes=int(interval[:-1]))
        assert len(closes) >= {"1m": ALPHA_BARS, "5m": BETA_BARS}[interval], closes
        assert all(b - a == step for a, b in itertools.pairwise(closes)), f"{interval}: {closes}"
        for close in closes:
            m = markers[interval][close]
            assert set(m.instruments) == insts, m
            assert all(m.is_ready(i) for i in insts), m
            assert m.created_at >= close, m
            for inst in insts:  # the marker vouches for rows that are really there
                assert any(b.ts == m.bar_open for b in candles[(inst, interval)]), (inst, m)
    first_1m = min(markers["1m"])
    assert markers["5m"]
    assert all(c in markers["1m"] for c in markers["5m"])  # a 5m marker comes with its 1m one
    assert all(c in markers["5m"] for c in markers["1m"] if c.minute % 5 == 0 and c > first_1m)

    # ---- journals -----------------------------------------------------------------------------
    journals, signals = {}, {}
    for name, acct in cfg.accounts.items():
        interval = acct.interval
        cycles = read_journal(cfg, name, "cycles")
        assert cycles, name
        statuses = [(c["bar_close"], c["status"], c["reason"]) for c in cycles]
        # The first bar may be one that closed before the collector started: never marked.
        first_skipped = cycles[0]["status"] == "skipped" and "marker" in cycles[0]["reason"]
        rest = cycles[1:] if first_skipped else cycles
        if rest[-1]["bar_close"] > snap.at.isoformat() and rest[-1]["status"] != "done":
            rest = rest[:-1]  # a bar that closed after the snapshot, cut short by the stop
        assert all(c["status"] == "done" for c in rest), statuses
        assert all(c["runs"] == 1 for c in cycles), statuses
        done = [c["bar_close"] for c in rest]
        marked = [c.isoformat() for c in sorted(markers[interval]) if c.isoformat() >= done[0]]
        assert done == marked[: len(done)], (name, done, marked)  # every marked bar, in order
        assert len(marked) - len(done) <= 2, (name, done, marked)  # (+ bars closing around the stop)
        sigs = read_journal(cfg, name, "signals")
        for c in rest:  # a decision per strategy and bar, none skipped, on the bar that closed
            got = {s["inst_id"]: s["status"] for s in sigs if s["bar_close"] == c["bar_close"]}
            assert set(got.values()) <= {"target", "sized"}, (name, c["bar_close"], got)
            assert set(got) == {s.inst_id for s in acct.strategies}, (name, c["bar_close"], got)
        assert check_signals(cfg, name, sigs, markers, candles) >= len(rest) * len(acct.strategies)
        orders = [o for o in read_journal(cfg, name, "orders") if o["bar_close"] <= snap.at.isoformat()]
        assert orders, f"{name} never ordered"
        assert {o["status"] for o in orders} == {"done"}, [(o["cl_ord_id"], o["status"]) for o in orders]
        assert {o["state"] for o in orders} <= {"filled", "canceled"}, orders
        assert {o["ord_type"] for o in orders} == {acct.trader.order_type}, name
        filled = {o["cl_ord_id"] for o in orders if o["state"] == "filled"}
        assert filled, name
        fills = {f["cl_ord_id"] for f in read_journal(cfg, name, "fills")}
        assert filled <= fills <= {o["cl_ord_id"] for o in read_journal(cfg, name, "orders")}, name
        journals[name], signals[name] = orders, sigs

    # ---- orders and positions at the simulator ------------------------------------------------
    report = check_orders(cfg, snap.orders, journals, signals, markers, candles)
    assert report.orders == len(snap.orders) >= 4, report
    assert set(report.by_account) == {"alpha", "beta"}, report
    at_sim = {o["clOrdId"]: o for o in snap.orders}
    for name, orders in journals.items():
        for o in orders:
            if o["created_at"] < snap.at.isoformat():
                sim = at_sim.get(o["cl_ord_id"])
                assert sim is not None, f"{name} {o['cl_ord_id']} journaled but not at the simulator"
                assert sim["ordId"] == o["ord_id"], (sim, o)
                assert sim["state"] == o["state"], (sim, o)
    check_positions(cfg, snap)

    # ---- DingTalk -----------------------------------------------------------------------------
    # More reports were due than DingTalk's 20 a minute: the fleet shares one rate window (wall
    # time), digests the excess and is never refused or muted. Stop messages are best effort (a
    # full window at shutdown holds them back), so they are not required here.
    texts = "\n".join(dingtalk.texts())
    assert dingtalk.rejections == [], dingtalk.rejections[:3]
    for process in ("collector", "trader-alpha", "trader-beta"):
        assert f"{process} started" in texts, process
    for name in cfg.accounts:
        reported = re.findall(rf"{name} · bar (\S+Z)", texts)
        assert reported, f"no bar report for {name}"
        done_bars = {c.strftime("%Y-%m-%dT%H:%M:%SZ") for c in done_cycles(cfg, name)}
        assert set(reported) <= done_bars, (name, reported)
    listed = set(_REPORT_ORDER.findall(texts))
    assert listed, "no bar report listed an order"
    assert listed <= {o["cl_ord_id"] for name in cfg.accounts for o in read_journal(cfg, name, "orders")}


def _answers(control: SimControl) -> bool:
    try:
        control.status()
    except OSError:
        return False
    return True
