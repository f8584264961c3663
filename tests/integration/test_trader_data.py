"""Never trade on stale data: late markers, failed or stale instruments, late bars, preflight refusals."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from core.bars import Bar
from core.errors import ConfigError
from exchange.records import OrderRequest
from notify.events import BarReport, DataAlert
from simulator.server import RunningSimulator
from tests.integration.test_trader_helpers import T0, TraderRig

MINUTE = timedelta(minutes=1)
BTC, ETH = "BTC-USDT-SWAP", "ETH-USDT-SWAP"


@pytest.fixture
def rig_factory(sim_module: RunningSimulator, tmp_path: Path) -> Iterator[Any]:
    rigs: list[TraderRig] = []

    def make(preflight: bool = True, **kwargs: Any) -> TraderRig:
        name = "d" + uuid.uuid4().hex[:10]
        kwargs.setdefault("trader", {"marker_deadline_s": 8})
        rig = TraderRig(sim_module, tmp_path / name, account=name, **kwargs)
        rigs.append(rig)
        if preflight:
            rig.preflight()
        return rig

    yield make
    for rig in rigs:
        rig.close()


def test_no_marker_by_the_deadline_skips_the_bar(rig_factory: Any) -> None:
    rig: TraderRig = rig_factory()
    rig.publish(T0, {BTC: 1}, marker=False)  # the CSV is there, the collector's promise is not
    rig.control.clear_requests()
    result = rig.run(T0)
    assert result.status == "skipped"
    assert rig.clock.now() >= T0 + timedelta(seconds=8)  # it waited (sleeping) until the deadline
    alerts = rig.events(DataAlert)
    assert [(a.kind, a.interval) for a in alerts] == [("marker_late", "1m")]
    assert rig.sim_orders() == []
    assert [r for r in rig.control.requests(path="/api/v5/trade/") if r["method"] == "POST"] == []
    assert rig.ctx.journal.cycle(T0).status == "skipped"  # type: ignore[union-attr]
    assert rig.ctx.journal.signals(T0) == {}  # the CSV was never read


def test_marker_arriving_during_the_wait_is_used(rig_factory: Any) -> None:
    rig: TraderRig = rig_factory()
    rig.publish(T0, {BTC: 1}, marker=False)
    original = rig.clock.advance

    def advance(seconds: float) -> Any:  # the collector finishes 3 s after the close
        now = original(seconds)
        if now >= T0 + timedelta(seconds=3) and rig.ctx.markers.read("1m", T0) is None:
            rig.publish(T0, {BTC: 1})
        return now

    rig.clock.advance = advance  # type: ignore[method-assign]
    result = rig.run(T0, delay_s=0.5)
    assert result.status == "done"
    assert rig.position(BTC) > 0
    assert rig.events(DataAlert) == []


def test_failed_instrument_is_skipped_and_alerted_others_trade(rig_factory: Any) -> None:
    rig: TraderRig = rig_factory(insts={BTC: 2, ETH: 2})
    rig.publish(T0, {BTC: 1, ETH: 1}, status={ETH: "failed"})
    result = rig.run(T0)
    assert rig.position(BTC) > 0
    assert rig.position(ETH) == 0
    assert [(a.kind, a.inst_id) for a in rig.events(DataAlert)] == [("instrument_failed", ETH)]
    assert [o["instId"] for o in rig.sim_orders()] == [BTC]
    assert any(s.startswith(ETH) for s in result.skipped)
    (report,) = rig.events(BarReport)
    assert report.signals == ((BTC, 1),)
    assert rig.ctx.journal.signals(T0)[ETH].status == "skipped"


def test_stale_marker_entry_is_skipped(rig_factory: Any) -> None:
    rig: TraderRig = rig_factory(insts={BTC: 2, ETH: 2})
    rig.publish(T0, {BTC: 1, ETH: -1}, status={BTC: "stale"})
    rig.run(T0)
    assert rig.position(BTC) == 0
    assert rig.position(ETH) < 0
    assert [(a.kind, a.inst_id) for a in rig.events(DataAlert)] == [("stale_data", BTC)]


def test_csv_behind_its_marker_is_not_traded(rig_factory: Any) -> None:
    rig: TraderRig = rig_factory()
    rig.publish(T0, {BTC: 1})
    # The marker vouches for the bar, but the file ends one bar earlier (e.g. restored backup).
    bars = rig.ctx.store.tail(BTC, "1m", 10)[:-1]
    rig.ctx.store.rewrite(BTC, "1m", bars)
    rig.run(T0)
    assert rig.sim_orders() == []
    assert [a.kind for a in rig.events(DataAlert)] == ["stale_data"]


def test_bar_past_its_deadline_is_never_traded(rig_factory: Any) -> None:
    rig: TraderRig = rig_factory()
    rig.publish(T0, {BTC: 1})
    result = rig.run(T0, delay_s=30)
    assert result.status == "skipped"
    assert rig.sim_orders() == []


def test_a_finished_bar_is_not_run_twice(rig_factory: Any) -> None:
    rig: TraderRig = rig_factory()
    rig.publish(T0, {BTC: 1})
    assert rig.run(T0).status == "done"
    assert rig.run(T0).status == "already_done"
    assert len(rig.sim_orders()) == 1


def test_unknown_instrument_is_refused_at_preflight(rig_factory: Any) -> None:
    rig: TraderRig = rig_factory(preflight=False, insts={"NOPE-USDT-SWAP": 2, BTC: 2})
    with pytest.raises(ConfigError, match="NOPE-USDT-SWAP: OKX does not list this instrument"):
        rig.preflight()


def test_preflight_sets_leverage_and_reports_drift(rig_factory: Any) -> None:
    rig: TraderRig = rig_factory(insts={BTC: 7, "DOGE-USDT-SWAP": 20})
    assert rig.client.leverage_info(BTC)[0].lever == 7  # the simulator starts every account at 10
    assert rig.client.leverage_info("DOGE-USDT-SWAP")[0].lever == 20
    assert rig.ctx.leverage == {BTC: Decimal(7), "DOGE-USDT-SWAP": Decimal(20)}
    rig.publish(T0, {BTC: 1, "DOGE-USDT-SWAP": None})
    rig.run(T0)
    # Someone closes the position by hand; the next start notices the drift.
    held = rig.position(BTC)
    rig.client.place_order(OrderRequest(BTC, "cross", "sell", "market", held, "byhand1", reduce_only=True))
    result = rig.preflight()
    assert any("differs from the standing target 1 (strategy" in w for w in result.warnings)


def test_a_malformed_row_never_reaches_a_strategy(rig_factory: Any) -> None:
    rig: TraderRig = rig_factory()
    rig.publish(T0, {BTC: 1})
    path = rig.ctx.store.path(BTC, "1m")
    text = path.read_text().splitlines()
    text[-1] = text[-1].replace(",1,0,0", ",oops,0,0")
    path.write_text("\n".join(text) + "\n")
    result = rig.run(T0)
    assert rig.sim_orders() == []
    assert any("unreadable" in s for s in result.skipped)
    assert [a.kind for a in rig.events(DataAlert)] == ["stale_data"]


def test_bars_are_written_by_publish(rig_factory: Any) -> None:
    rig: TraderRig = rig_factory()
    rig.publish(T0, {BTC: None})
    last = rig.ctx.store.tail(BTC, "1m", 1)[-1]
    assert isinstance(last, Bar)
    assert last.ts == T0 - MINUTE
