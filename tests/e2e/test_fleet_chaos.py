"""Chaos: the whole fleet over many bars while processes are SIGKILLed and the exchange misbehaves.

The fleet of ``scripts.fleet --with-simulator`` (simulator, collector, traders ``alpha`` on 1m bars
with limit orders and ``beta`` on 3m bars — resampled — with market orders) runs under the fleet's
supervisor, driven by the test. For a stretch of bars a seeded RNG SIGKILLs the collector and the
traders at random moments — half of them just after a bar close, inside the cycles — and the
supervisor restarts them, while the simulator injects faults (seeded too): about one order or
cancel POST in four loses its response (applied, reply lost), is executed late — held past the
client's timeout, then applied (with ``expTime`` 60 s virtual = 3 s wall, it is still in time) —,
times out or loses the connection (not applied); a tenth of the other trade calls and a
twentieth of everything else (candles, positions...) get 5xx, 50001/50013, rate limits, timeouts
or dropped connections. Positions use 40 % of the margin (``volatility_ratio``), so a duplicated
order would fill instead of bouncing off 51008. Then the chaos stops, the faults are cleared, a
couple of clean bars run, and from the simulator's own logs and the files on disk:

- no duplicate order: every clOrdId reached the simulator once; per (account, instrument, bar,
  leg) no more filled than the leg's size;
- no trade on stale or partial data: every order's bar had a marker, written before the order,
  vouching for that instrument, and the bar's CSV row is there with the close the strategy saw;
- no lost bar: every CSV is contiguous from its first row to the last closed bar, each row equal
  to the simulator's own bar (1m and resampled 3m);
- final positions are the strategies' targets: the strategy (``e2e_regime``) names a target every
  bar, so the clean bars heal whatever the chaos left half done, and each position must be the
  journal's latest target × size and the standing target × size (within the re-trade band);
- the journal agrees with the exchange on every order, from the simulator's order log: accepted
  there = ``done`` here with the same state and fill, anything else never placed there;
- every journaled order is resolved, the processes restarted, and all stop cleanly at the end.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from config import load_config
from core.clock import ScaledClock
from core.intervals import floor_to_bar, parse_interval
from simulator.control import SimControl
from tests.e2e.fleet_checks import check_journal_agrees, check_standing
from tests.e2e.fleet_harness import (
    AccountPlan,
    MarkerWatch,
    StrategyPlan,
    SupervisedFleet,
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
    wait_for,
    write_config,
)
from tests.e2e.fleet_strategy import REGIME
from tests.fakes.dingtalk import FakeDingTalk
from tests.plugins.notify import dingtalk_env

pytestmark = pytest.mark.slow

SEED = 20250611
SPEED = 20  # a 1m bar every 3 s of wall time, a 3m bar every 9 s
CHAOS_S = 75.0  # wall seconds of kills and faults (~25 1m bars)
KILL_EVERY_S = (2.0, 7.0)  # wall seconds between two kills, drawn uniformly
VICTIMS = ("collector", "trader-alpha", "trader-beta")
FAULTS = [  # the first matching rule that fires wins
    {  # the first order or cancel of the chaos: applied, but the reply is lost
        "kind": "lost_response",
        "rate": 1.0,
        "count": 1,
        "path": "/api/v5/trade/*order*",
        "method": "POST",
    },
    {  # the next one: held past the client's 2 s timeout, then executed (late registration)
        "kind": "late",
        "rate": 1.0,
        "count": 1,
        "path": "/api/v5/trade/*order*",
        "method": "POST",
        "hold_ms": 2500,
    },
    {  # then about one in eight
        "kind": "lost_response",
        "rate": 0.12,
        "path": "/api/v5/trade/*order*",
        "method": "POST",
    },
    {  # ... or held past the client's 2 s timeout, then executed (late registration): the
        # trader must not resend it, must keep it unresolved and catch up when OKX shows it
        "kind": "late",
        "rate": 0.12,
        "path": "/api/v5/trade/*order*",
        "method": "POST",
        "hold_ms": 2500,
    },
    {  # ... or not applied, and no reply either
        "kinds": ["timeout", "drop"],
        "rate": 0.1,
        "path": "/api/v5/trade/*order*",
        "method": "POST",
        "hold_ms": 2500,  # a "timeout" outlasts the client's 2 s timeout
    },
    {  # the rest of the trade API (order look-ups, pending orders, fills)
        "kinds": ["http_503", "code_50001", "rate_limit", "timeout", "drop", "lost_response"],
        "rate": 0.1,
        "path": "/api/v5/trade/*",
        "hold_ms": 2500,
    },
    {  # everything else: candles, positions, balance, tickers, leverage
        "kinds": ["http_503", "code_50001", "code_50013", "rate_limit", "timeout", "drop"],
        "rate": 0.05,
        "path": "/api/v5/*",
        "hold_ms": 2500,
    },
]
BTC, ETH, SOL = "BTC-USDT-SWAP", "ETH-USDT-SWAP", "SOL-USDT-SWAP"
PARAMS = {"fast": 2, "slow": 4}
ACCOUNTS = (
    AccountPlan("alpha", "1m", (StrategyPlan(BTC, REGIME, PARAMS), StrategyPlan(ETH, REGIME, PARAMS)),
                order_type="limit"),
    AccountPlan("beta", "3m", (StrategyPlan(ETH, REGIME, PARAMS), StrategyPlan(SOL, REGIME, PARAMS)),
                order_type="market"),
)  # fmt: skip


def test_fleet_survives_chaos(tmp_path: Path, dingtalk: FakeDingTalk) -> None:
    # Positions use 40 % of the margin: a duplicated order would fill, not bounce off 51008.
    config = write_config(
        tmp_path, port=free_port(), accounts=ACCOUNTS, timeout_s=2.0, volatility_ratio="0.4",
        order_exp_s=60,  # virtual seconds: 3 s of wall time, so a request held 2.5 s still executes
    )  # fmt: skip
    cfg = load_config(config, environ={}, env_file=tmp_path / "absent.env")
    intervals = sorted({a.interval for a in cfg.accounts.values()})
    fleet = SupervisedFleet(config, speed=SPEED, env=dingtalk_env(dingtalk), seed=SEED % 1000)
    control = SimControl(cfg.exchange.url, timeout=5)
    rng = random.Random(SEED)
    codes: dict[str, int | None] = {}
    try:
        with MarkerWatch(cfg.markers_dir, intervals) as watch:
            fleet.start()
            clock = sim_clock(control)
            wait_for("the first cycles", lambda: fleet.all_running() and all(
                done_cycles(cfg, name) for name in cfg.accounts
            ), 90)  # fmt: skip

            # ---- chaos -----------------------------------------------------------------------
            control.set_faults(FAULTS)
            chaos_end = time.monotonic() + CHAOS_S
            next_kill = _kill_time(rng, clock)
            while time.monotonic() < chaos_end:
                fleet.poll()
                if time.monotonic() >= next_kill:
                    fleet.kill(rng.choice(VICTIMS))
                    next_kill = _kill_time(rng, clock)
                time.sleep(0.02)
            fired = Counter(r["fault"] for r in control.requests() if r.get("fault"))
            control.clear_faults()

            # ---- clean bars ------------------------------------------------------------------
            wait_for("every process back up", fleet.all_running, 30)
            clean_from = clock.now()
            wait_for("two clean cycles per account", lambda: fleet.all_running() and all(
                len(done_cycles(cfg, name, after=clean_from)) >= 2 for name in cfg.accounts
            ), 90)  # fmt: skip
            snap = quiet_snapshot(cfg, control, clock, after=clean_from, timeout_s=60)
            native = collect_native(cfg)
            stopped_at = clock.now()
            starts = {c.name: c.starts for c in fleet.sup.children}
            codes = fleet.stop()
    finally:
        control.close()
        fleet.sup.stop_all()
        leftovers = kill_leftovers(str(config))
    assert not leftovers, f"processes left running: {leftovers}"
    assert codes == dict.fromkeys(codes, 0), (codes, fleet.events[-10:])
    killed = Counter(name for _, name in fleet.kills)
    summary = f"kills {dict(killed)}, faults {dict(fired)}, starts {starts}"

    # ---- the chaos happened -------------------------------------------------------------------
    assert sum(killed.values()) >= 8, summary
    assert set(killed) == set(VICTIMS), summary
    for name in VICTIMS:  # every kill was followed by exactly one restart, nothing died by itself
        assert starts[name] == killed[name] + 1, (summary, fleet.events)
    assert starts["simulator"] == 1, summary
    assert sum(fired.values()) >= 10, summary
    assert fired["lost_response"] >= 1, summary
    assert fired["late"] >= 1, summary

    # ---- no lost bar --------------------------------------------------------------------------
    candles = {}
    for (inst, interval), served in native.items():
        name = f"{inst}_{interval}.csv"
        bars = read_csv(cfg.candles_dir / name)
        check_candles(bars, interval, name=name, closed_by=stopped_at + timedelta(seconds=5))
        assert check_native(bars, served, name=name) == len(served), name  # every bar, field for field
        latest = floor_to_bar(snap.at, interval, cfg.candle_timezone)
        assert bars[-1].ts + parse_interval(interval).delta >= latest, (name, bars[-1].text_ts)
        candles[(inst, interval)] = bars

    # ---- no duplicate order, no trade on stale or partial data --------------------------------
    final = {iv: marker_index(read_markers(cfg.markers_dir, iv)) for iv in intervals}
    markers = {iv: {**final[iv], **watch.first(iv)} for iv in intervals}  # as first written
    journals = {name: read_journal(cfg, name, "orders") for name in cfg.accounts}
    signals = {name: read_journal(cfg, name, "signals") for name in cfg.accounts}
    report = check_orders(cfg, snap.orders, journals, signals, markers, candles)
    assert report.orders == len(snap.orders), report
    assert set(report.by_account) == {"alpha", "beta"}, report
    accepted = {o["clOrdId"]: o for o in snap.orders if o["ordId"]}  # (refused ones have no ordId)
    for name, orders in journals.items():
        statuses = Counter(o["status"] for o in orders)
        assert set(statuses) <= {"done", "rejected", "not_placed", "lost"}, (name, statuses)  # resolved
        for o in orders:
            cl = o["cl_ord_id"]
            if o["status"] == "done":
                assert cl in accepted, f"{name} {cl}: done in the journal, unknown to OKX"
                assert accepted[cl]["ordId"] == o["ord_id"], (accepted[cl], o)
                assert accepted[cl]["state"] == o["state"], (accepted[cl], o)
            else:
                assert cl not in accepted, f"{name} {cl}: {o['status']} in the journal, but placed"

    # ---- every decision on vouched-for data; every traded bar marked; nothing left half done ----
    for name, acct in cfg.accounts.items():
        assert check_signals(cfg, name, signals[name], markers, candles) >= 10, name
        cycles = read_journal(cfg, name, "cycles")
        assert {c["status"] for c in cycles} <= {"done", "skipped", "failed"}, (name, cycles)
        for c in cycles:
            if c["status"] == "done":
                close = datetime.fromisoformat(c["bar_close"])
                assert close in markers[acct.interval], (name, c)

    # ---- the journal agrees with the exchange on every order (late ones included) ---------------
    assert check_journal_agrees(snap.orders, journals) == len(accepted), summary

    # ---- final positions = the strategies' targets = the standing targets ---------------------
    held = check_positions(cfg, snap)
    assert any(pos != 0 for acct in held.values() for pos in acct.values()), held
    check_standing(cfg, snap)

    # ---- notifications kept within DingTalk's limits ------------------------------------------
    assert dingtalk.rejections == [], dingtalk.rejections[:3]
    texts = "\n".join(dingtalk.texts())
    for process in ("collector", "trader-alpha", "trader-beta"):
        assert f"{process} started" in texts, process


def _kill_time(rng: random.Random, clock: ScaledClock) -> float:
    """When to kill next (monotonic): after a random pause, half the time moved to just after a
    1m bar close — when the collector and the traders are inside their cycles."""
    pause = rng.uniform(*KILL_EVERY_S)
    if rng.random() < 0.5:
        at = clock.now() + timedelta(seconds=pause * SPEED)
        close = floor_to_bar(at, "1m") + timedelta(minutes=1)
        pause = (close - clock.now()).total_seconds() / SPEED + rng.uniform(0.0, 0.6)
    return time.monotonic() + pause
