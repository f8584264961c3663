"""The WebSocket candle feed against the simulator: normal closes, dropped and never-confirmed
pushes, disconnects, downtime, duplicates, an unknown instrument — the CSVs always equal the
simulator's native bars; a connection that stays down and refused subscriptions are notified."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from collector.feed_journal import FeedJournal
from notify.events import DataAlert
from notify.service import RecordingNotifier
from simulator.server import RunningSimulator
from tests.integration.test_collector_support import make_rig
from tests.integration.ws_support import WsRig, make_ws_rig, wait_for

CLOSE = datetime(2024, 3, 1, 0, 0, tzinfo=UTC)
INSTS = ("BTC-USDT-SWAP", "ETH-USDT-SWAP", "SOL-USDT")


@pytest.fixture
def sim(sim_module: RunningSimulator) -> Iterator[RunningSimulator]:
    sim_module.control.reset()
    sim_module.control.set_rate_limits(False)
    sim_module.control.ws(reset=True, delay_ms=50, jitter_ms=100)
    yield sim_module
    sim_module.control.ws(reset=True, disconnect=True)
    sim_module.control.reset()


@pytest.fixture
def rig(sim: RunningSimulator, tmp_path: Path) -> Iterator[WsRig]:
    running = make_ws_rig(sim, tmp_path, INSTS, CLOSE)
    running.wait_live(len(INSTS))
    yield running
    running.close_all()


def candle_requests(sim: RunningSimulator) -> list[str]:
    """instIds of the ``market/candles`` requests logged since the last clear."""
    rows = sim.control.requests(path="/api/v5/market/candles")
    return sorted(parse_qs(urlsplit(r["path"]).query)["instId"][0] for r in rows)


def assert_native(rig: WsRig) -> None:
    for inst in INSTS:
        rows = rig.csv(inst)
        assert rows[-1].ts == rig.close - timedelta(minutes=1), inst
        assert rows == rig.native(inst), inst


def test_normal_closes_come_from_pushes_alone(rig: WsRig, sim: RunningSimulator) -> None:
    sim.control.clear_requests()

    reports = [rig.bar() for _ in range(3)]

    assert all(r.outcome("1m").ok == sorted(INSTS) for r in reports)
    last = rig.feed.last
    assert last is not None
    assert (last.via_push, last.via_rest, last.fallback) == (3, 0, ())
    assert rig.service.close_delay_s == 0.0  # the cycle starts at the close and waits for pushes
    assert last.ready_s < 1.0  # within the push delay, well before the 1 s REST deadline
    assert candle_requests(sim) == []  # not one REST candle request
    assert_native(rig)
    rounds = FeedJournal(rig.service.cfg.data_dir / "collector").rounds()
    assert [r["via_push"] for r in rounds[-3:]] == [3, 3, 3]


def test_a_dropped_confirm_is_fetched_over_rest_for_that_instrument_only(
    rig: WsRig, sim: RunningSimulator
) -> None:
    sim.control.ws(drop_confirm=["ETH-USDT-SWAP"])
    sim.control.clear_requests()

    report = rig.bar()

    assert report.outcome("1m").ok == sorted(INSTS)
    last = rig.feed.last
    assert last is not None
    assert (last.via_push, last.via_rest, last.fallback) == (2, 1, ("ETH-USDT-SWAP",))
    assert last.ready_s >= 1.0  # it waited for the deadline
    assert set(candle_requests(sim)) == {"ETH-USDT-SWAP"}
    assert_native(rig)


def test_a_never_confirmed_bar_is_not_written_from_its_push(rig: WsRig, sim: RunningSimulator) -> None:
    sim.control.ws(never_confirm=["SOL-USDT"])

    rig.bar()

    last = rig.feed.last
    assert last is not None
    assert last.fallback == ("SOL-USDT",)
    assert_native(rig)  # the REST bar, not the stale "confirm 0" push


def test_duplicate_and_out_of_order_pushes_are_harmless(rig: WsRig, sim: RunningSimulator) -> None:
    sim.control.ws(echo=True)

    reports = [rig.bar() for _ in range(3)]

    assert all(r.outcome("1m").ok == sorted(INSTS) for r in reports)
    last = rig.feed.last
    assert last is not None
    assert last.via_push == 3
    assert_native(rig)


def test_a_disconnect_mid_bar_reconnects_resubscribes_and_loses_nothing(
    rig: WsRig, sim: RunningSimulator
) -> None:
    rig.bar()
    rig.move_to(rig.close + timedelta(seconds=30))  # mid-bar
    total = sim.control.ws()["connections_total"]

    sim.control.ws(disconnect=True)
    wait_for("a new connection", lambda: sim.control.ws()["connections_total"] > total)
    rig.wait_live(len(INSTS))
    rig.move_to(rig.close - timedelta(seconds=30))
    report = rig.bar()

    assert report.outcome("1m").ok == sorted(INSTS)
    assert rig.feed.status().reconnects >= 1
    assert sim.control.ws()["subscriptions"] == len(INSTS)
    last = rig.feed.last
    assert last is not None
    assert last.via_push == 3
    assert_native(rig)


def test_minutes_of_downtime_are_repaired_from_history(rig: WsRig, sim: RunningSimulator) -> None:
    rig.bar()
    sim.control.ws(refuse=True, disconnect=True)
    wait_for("the feed to notice", lambda: rig.feed.status().live_instruments == 0)
    down = rig.bar()  # a close while the feed is down: REST at once, no waiting
    assert down.outcome("1m").ok == sorted(INSTS)
    assert rig.feed.last is not None
    assert (rig.feed.last.via_rest, rig.feed.last.ready_s < 1.0) == (3, True)
    rig.move_to(rig.close + timedelta(minutes=5))  # five closes pass with no cycle and no connection
    sim.control.ws(refuse=False)
    rig.wait_live(len(INSTS))

    report = rig.bar()

    assert report.outcome("1m").ok == sorted(INSTS)
    assert set(report.repaired) == set(INSTS)  # older bars from history, not only the latest page
    last = rig.feed.last
    assert last is not None
    assert last.ready_s < 1.0  # REST at once: bars missed while down will never be pushed
    assert rig.feed.status().reconnects >= 1
    assert_native(rig)
    assert rig.bar().outcome("1m").ok == sorted(INSTS)
    last = rig.feed.last
    assert last is not None
    assert last.via_push == 3  # back on pushes


def test_unknown_instruments_are_isolated(sim: RunningSimulator, tmp_path: Path) -> None:
    unknown = ["NADA-USDT-SWAP", "NOPE-USDT-SWAP"]  # two in one request: isolated by halving
    rig = make_ws_rig(sim, tmp_path, [*INSTS, *unknown], CLOSE)
    try:
        rig.wait_live(len(INSTS))
        wait_for("the refusals", lambda: sorted(rig.feed.status().refused) == unknown)

        report = rig.bar()

        assert report.outcome("1m").ok == sorted(INSTS)
        assert list(report.outcome("1m").failed) == unknown
        assert all(r.startswith("60018: ") for r in rig.feed.status().refused.values())
        last = rig.feed.last
        assert last is not None
        assert last.via_push == 3
        assert_native(rig)
    finally:
        rig.close_all()


@pytest.mark.parametrize(("ping_every_s", "survives"), [(0.2, True), (25.0, False)])
def test_text_pings_keep_a_quiet_connection_open(
    sim: RunningSimulator, tmp_path: Path, ping_every_s: float, survives: bool
) -> None:
    sim.control.ws(update_ms=0, idle_ms=600)  # nothing pushed; closed after 0.6 s of client silence
    rig = make_ws_rig(sim, tmp_path, INSTS[:1], CLOSE, ping_every_s=ping_every_s)
    try:
        rig.wait_live(1)
        total = sim.control.ws()["connections_total"]

        time.sleep(1.5)

        assert (sim.control.ws()["connections_total"] == total) is survives
    finally:
        rig.close_all()


def test_the_rest_feed_polls_every_instrument(sim: RunningSimulator, tmp_path: Path) -> None:
    rig = make_rig(sim, tmp_path, {"a": ("1m", list(INSTS))}, CLOSE + timedelta(seconds=1),
                   collector="history_bars=30, confirm_retry_s=5, feed='rest'")  # fmt: skip
    try:
        rig.service.start_up()
        sim.control.clear_requests()

        report = rig.step()

        assert report is not None
        assert report.outcome("1m").ok == sorted(INSTS)
        status = rig.service.feed.status()
        assert (status.feed, status.connections) == ("rest", 0)
        assert status.last is not None
        assert (status.last.via_push, status.last.via_rest) == (0, 3)
        assert candle_requests(sim) == sorted(INSTS)
        assert rig.service.close_delay_s == 1.0  # REST waits for OKX to confirm; websocket starts at once
    finally:
        rig.close()


# ---- QA defect 17: feed problems are notified, not only logged ----
def data_alerts(rig: WsRig, kind: str) -> list[DataAlert]:
    notifier = rig.service.notifier
    assert isinstance(notifier, RecordingNotifier)
    return [e for e in notifier.of_type(DataAlert) if isinstance(e, DataAlert) and e.kind == kind]


def test_a_websocket_that_stays_down_is_notified_once_and_its_recovery_too(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    rig = make_ws_rig(sim, tmp_path, INSTS, CLOSE)
    try:
        rig.wait_live(len(INSTS))
        conn = rig.feed._conns[0]
        conn.stable_s = 0.5  # recovered once subscribed again this long
        sim.control.ws(refuse=True, disconnect=True)
        wait_for("the outage notice", lambda: len(data_alerts(rig, "ws_down")) == 1)
        wait_for("one more failed attempt", lambda: conn.failures > conn.down_after)
        down = data_alerts(rig, "ws_down")
        assert len(down) == 1  # once per outage, not once per attempt
        assert "connection attempts in a row failed" in down[0].detail
        assert down[0].inst_id is None
        assert rig.feed.url in down[0].detail
        assert data_alerts(rig, "ws_recovered") == []

        sim.control.ws(refuse=False)
        rig.wait_live(len(INSTS))
        wait_for("the recovery notice", lambda: len(data_alerts(rig, "ws_recovered")) == 1)
        assert len(data_alerts(rig, "ws_down")) == 1
    finally:
        rig.close_all()


def test_a_websocket_that_keeps_dropping_is_notified_as_down(sim: RunningSimulator, tmp_path: Path) -> None:
    rig = make_ws_rig(sim, tmp_path, INSTS, CLOSE)
    try:
        conn = rig.feed._conns[0]
        for n in range(conn.down_after):  # each connection subscribes, then drops within stable_s
            rig.wait_live(len(INSTS))
            sim.control.ws(disconnect=True)
            wait_for("the drop", lambda: conn.failures > n)  # noqa: B023 - waited for at once
        wait_for("the outage notice", lambda: len(data_alerts(rig, "ws_down")) == 1)
        assert "closed by the server" in data_alerts(rig, "ws_down")[0].detail
        assert data_alerts(rig, "ws_recovered") == []  # not stable for stable_s (60 s) yet
    finally:
        rig.close_all()


def test_refused_subscriptions_are_notified_once_per_instrument(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    unknown = ["NADA-USDT-SWAP", "NOPE-USDT-SWAP"]
    rig = make_ws_rig(sim, tmp_path, [*INSTS, *unknown], CLOSE)
    try:
        rig.wait_live(len(INSTS))
        wait_for("the refusal notices", lambda: len(data_alerts(rig, "ws_refused")) == len(unknown))
        refused = data_alerts(rig, "ws_refused")
        assert sorted(a.inst_id or "" for a in refused) == unknown
        assert all("60018" in a.detail for a in refused)
        assert data_alerts(rig, "ws_down") == []  # the connection itself is fine
    finally:
        rig.close_all()
