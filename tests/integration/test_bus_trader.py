"""A trader on the Redis bus while Redis goes down and comes back: it waits and alerts, skips the
bar it could not read (never trades on partial data), and trades the next one normally."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from bus.connect import connect
from bus.factory import trader_sources
from bus.keys import Keys
from bus.publisher import BusPublisher
from bus.server import RedisProcess
from bus.sources import PublishingMarkerStore
from core.store import CandleStore
from simulator.server import RunningSimulator
from tests.integration.test_trader_helpers import T0, TraderRig, publish_bar
from trader.context import build_context

BTC = "BTC-USDT-SWAP"


def test_trader_waits_through_a_redis_outage(
    sim: RunningSimulator, tmp_path: Path, redis_proc: RedisProcess
) -> None:
    rig = TraderRig(sim, tmp_path, insts={BTC: 3})
    client = connect(redis_proc.url, timeout_s=0.5)
    down: list[str] = []
    rig.ctx.close()
    rig.ctx = build_context(
        rig.cfg, rig.account, client=rig.client, public=rig.public, clock=rig.clock, notifier=rig.notifier,
        poll_s=0.5, sources=trader_sources(rig.cfg, rig.account, client, down.append),
    )  # fmt: skip
    rig.preflight()
    store = CandleStore(tmp_path / "collector" / "candles", "UTC")  # the collector's host
    publisher = BusPublisher(connect(redis_proc.url), Keys(rig.cfg.data_bus.prefix), store, rig.clock,
                             {rig.interval: 100})  # fmt: skip
    markers = PublishingMarkerStore(tmp_path / "collector" / "markers", publisher, {rig.interval: (BTC,)})

    redis_proc.stop()
    publish_bar(store, markers, rig.interval, T0, {BTC: 1}, {BTC: rig.price(BTC)})  # CSV only: bus down
    result = rig.run(T0)
    assert result.status == "skipped"
    assert result.skipped == ["marker late"]
    assert len(down) == 1
    assert "Redis unavailable" in down[0]
    assert rig.sim_orders() == []  # nothing traded on data it could not read

    redis_proc.start()
    bar2 = T0 + timedelta(minutes=1)
    publish_bar(store, markers, rig.interval, bar2, {BTC: 1}, {BTC: rig.price(BTC)})
    result = rig.run(bar2)
    assert result.status == "done", result.skipped
    assert result.orders
    assert rig.position(BTC) > Decimal(0)
    assert not (tmp_path / "data" / "candles").exists()  # the trader read no file
    rig.close()
    client.close()
    publisher.client.close()
