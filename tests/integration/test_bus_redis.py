"""The Redis data bus against a real redis-server: what the collector publishes is what a trader reads,
with the files' guarantees (marker after its bars, never a forming bar, idempotent, gap-free)."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import redis

from bus.codec import bar_fields
from bus.connect import BusUnavailable, connect, redacted_url
from bus.keys import Keys, time_id
from bus.publisher import BusPublisher
from bus.reader import Cursor, RedisBars, RedisMarkers
from bus.server import RedisProcess
from bus.sources import PublishingMarkerStore
from core.bars import Bar
from core.clock import FakeClock, SystemClock
from core.errors import DataError
from core.intervals import parse_interval
from core.markers import InstrumentStatus, Marker
from core.store import CandleStore

IV = parse_interval("1m")
T0 = datetime(2025, 1, 6, 0, 0, tzinfo=UTC)
BTC, ETH = "BTC-USDT-SWAP", "ETH-USDT-SWAP"


def bars(last_open: datetime, n: int, px: str = "100") -> list[Bar]:
    out = []
    for k in range(n - 1, -1, -1):
        p = Decimal(px) + k
        out.append(Bar(last_open - IV.delta * k, p, p + 1, p - 1, p, Decimal("1.5"), Decimal(2), Decimal(3)))
    return out


def marker(close: datetime, insts: dict[str, str]) -> Marker:
    """``insts``: instrument -> ok | failed."""
    statuses = {
        i: InstrumentStatus(ok=True, last_candle=close - IV.delta)
        if s == "ok"
        else InstrumentStatus(ok=False, last_candle=None, reason="fetch failed")
        for i, s in insts.items()
    }
    return Marker(IV.name, close - IV.delta, close, close, statuses)


class Rig:
    def __init__(self, tmp_path: Path, client: redis.Redis, expected: tuple[str, ...] = (BTC, ETH)) -> None:
        self.keys = Keys("t")
        self.store = CandleStore(tmp_path / "candles", "UTC")
        self.clock = FakeClock(T0)
        self.publisher = BusPublisher(client, self.keys, self.store, self.clock, {IV: 50})
        self.down: list[str] = []
        self.markers = PublishingMarkerStore(
            tmp_path / "markers", self.publisher, {IV: expected}, self.down.append
        )
        self.reader = RedisMarkers(client, self.keys, Cursor(tmp_path / "cursor.json"))
        self.bars = RedisBars(client, self.keys, "UTC")


def test_trader_reads_exactly_what_the_csv_holds(tmp_path: Path, redis_client: redis.Redis) -> None:
    rig = Rig(tmp_path, redis_client)
    close = T0 + IV.delta * 30
    for inst in (BTC, ETH):
        rig.store.rewrite(inst, IV, bars(close - IV.delta, 30))
    rig.markers.write(marker(close, {BTC: "ok", ETH: "ok"}))

    got = rig.reader.wait(IV, close, SystemClock().now() + timedelta(seconds=5), SystemClock())

    assert got is not None
    assert got.is_ready(BTC)
    assert got.is_ready(ETH)
    for inst in (BTC, ETH):
        assert rig.bars.tail(inst, IV, 20) == rig.store.tail(inst, IV, 20)
    assert (tmp_path / "markers" / "1m").is_dir()  # the collector's marker files are still written


def test_marker_waits_for_every_share_and_never_precedes_its_bars(
    tmp_path: Path, redis_client: redis.Redis
) -> None:
    rig = Rig(tmp_path, redis_client)
    close = T0 + IV.delta * 5
    for inst in (BTC, ETH):
        rig.store.rewrite(inst, IV, bars(close - IV.delta, 5))

    rig.markers.write(marker(close, {BTC: "ok"}))  # share 1 of 2
    assert rig.reader.read(IV, close) is None
    assert len(rig.bars.tail(BTC, IV, 10)) == 5  # its bars are out already
    rig.markers.write(marker(close, {ETH: "failed"}))  # share 2 of 2: a failed instrument counts

    got = rig.reader.read(IV, close)
    assert got is not None
    assert got.is_ready(BTC)
    assert not got.is_ready(ETH)
    eth = got.status(ETH)
    assert eth is not None
    assert eth.reason == "fetch failed"
    assert rig.bars.tail(ETH, IV, 10) == []  # a failed instrument's bars are not vouched for


def test_republish_is_idempotent_and_outage_gaps_are_filled(
    tmp_path: Path, redis_client: redis.Redis
) -> None:
    rig = Rig(tmp_path, redis_client, expected=(BTC,))
    first = T0 + IV.delta * 10
    later = first + IV.delta * 3
    history = bars(later - IV.delta, 13)
    rig.store.rewrite(BTC, IV, history[:10])
    rig.markers.write(marker(first, {BTC: "ok"}))
    rig.markers.write(marker(first, {BTC: "ok"}))  # a re-run of the same close
    # three closes the bus missed (say Redis was down): only the CSV got them
    rig.store.rewrite(BTC, IV, history)
    fresh = Rig(tmp_path / "restarted", redis_client, expected=(BTC,))  # a restarted collector
    fresh.store = rig.store
    fresh.publisher.store = rig.store
    fresh.markers.write(marker(later, {BTC: "ok"}))

    streamed = rig.bars.tail(BTC, IV, 100)
    assert streamed == rig.store.tail(BTC, IV, 100)
    times = [b.ts for b in streamed]
    assert times == sorted(set(times))
    assert all(b - a == IV.delta for a, b in itertools.pairwise(times))


def test_streams_are_trimmed_to_the_history_needed(tmp_path: Path, redis_client: redis.Redis) -> None:
    rig = Rig(tmp_path, redis_client, expected=(BTC,))
    close = T0 + IV.delta * 400
    rig.store.rewrite(BTC, IV, bars(close - IV.delta, 400))
    rig.markers.write(marker(close, {BTC: "ok"}))
    length = redis_client.xlen(rig.keys.bars(BTC, IV))
    assert 50 <= length < 400
    assert rig.bars.tail(BTC, IV, 50) == rig.store.tail(BTC, IV, 50)


def test_malformed_entry_is_a_data_error(tmp_path: Path, redis_client: redis.Redis) -> None:
    keys = Keys("t")
    fields = bar_fields(bars(T0, 1)[0])
    del fields["c"]
    redis_client.xadd(keys.bars(BTC, IV), fields, id=time_id(T0))  # type: ignore[arg-type]
    with pytest.raises(DataError, match="'c' missing"):
        RedisBars(redis_client, keys, "UTC").tail(BTC, IV, 1)


def test_cursor_is_persisted_and_resumed(tmp_path: Path, redis_client: redis.Redis) -> None:
    rig = Rig(tmp_path, redis_client, expected=(BTC,))
    close = T0 + IV.delta * 3
    rig.store.rewrite(BTC, IV, bars(close - IV.delta, 3))
    waiter: dict[str, Marker | None] = {}
    wall = SystemClock()
    thread = threading.Thread(
        target=lambda: waiter.update(m=rig.reader.wait(IV, close, wall.now() + timedelta(seconds=30), wall))
    )
    thread.start()
    time.sleep(0.3)  # the reader is blocked in XREAD
    rig.markers.write(marker(close, {BTC: "ok"}))
    thread.join(5)
    assert waiter["m"] is not None
    assert rig.reader.wait(IV, close + IV.delta, wall.now(), wall) is None  # the next wait persists it
    assert Cursor(tmp_path / "cursor.json").get(IV.name) == time_id(close)
    assert rig.reader.cursor.every_s > 0  # later ids are persisted at most that often, or when forced
    rig.reader.cursor.advance(IV.name, time_id(close + IV.delta))
    rig.reader.cursor.flush(force=True)
    assert Cursor(tmp_path / "cursor.json").get(IV.name) == time_id(close + IV.delta)


def test_no_marker_by_the_deadline_returns_none(tmp_path: Path, redis_client: redis.Redis) -> None:
    rig = Rig(tmp_path, redis_client)
    clock = SystemClock()
    started = time.monotonic()
    assert rig.reader.wait(IV, T0, clock.now() + timedelta(seconds=0.6), clock) is None
    assert 0.5 < time.monotonic() - started < 3


def test_a_fake_clock_reaches_the_deadline(tmp_path: Path, redis_client: redis.Redis) -> None:
    rig = Rig(tmp_path, redis_client)
    clock = FakeClock(T0)
    started = time.monotonic()
    assert rig.reader.wait(IV, T0, T0 + timedelta(seconds=55), clock) is None
    assert time.monotonic() - started < 2
    assert clock.now() >= T0 + timedelta(seconds=55)


def test_redis_down_trader_waits_alerts_and_continues(tmp_path: Path, redis_proc: RedisProcess) -> None:
    client = connect(redis_proc.url, timeout_s=0.5)
    rig = Rig(tmp_path, client, expected=(BTC,))
    alerts: list[str] = []
    rig.reader.on_down = alerts.append
    close = T0 + IV.delta * 3
    rig.store.rewrite(BTC, IV, bars(close - IV.delta, 3))
    redis_proc.stop()
    with pytest.raises(BusUnavailable):
        rig.bars.tail(BTC, IV, 3)  # never a partial read: the bar is retried
    rig.markers.write(marker(close, {BTC: "ok"}))  # the collector's files go on; the bus alert fires
    assert rig.down
    assert "Redis unavailable" in rig.down[0]
    assert (tmp_path / "markers" / "1m").is_dir()

    waiter: dict[str, Marker | None] = {}
    clock = SystemClock()
    thread = threading.Thread(
        target=lambda: waiter.update(m=rig.reader.wait(IV, close, clock.now() + timedelta(seconds=20), clock))
    )
    thread.start()
    time.sleep(1.0)
    assert alerts
    assert "Redis unavailable" in alerts[0]  # the trader alerted, once
    redis_proc.start()
    rig.markers.write(marker(close, {BTC: "ok"}))  # the collector's next attempt gets through
    thread.join(15)
    assert waiter["m"] is not None
    assert len(alerts) == 1
    assert rig.bars.tail(BTC, IV, 3) == rig.store.tail(BTC, IV, 3)
    client.close()


def test_redis_url_password_is_redacted() -> None:
    assert redacted_url("redis://:s3cret@db:6379/0") == "redis://:***@db:6379/0"
    assert redacted_url("redis://u:s3cret@db/1") == "redis://u:***@db/1"
    assert redacted_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    with pytest.raises(ValueError, match=r"\*\*\*") as err:
        connect("http://:s3cret@db")
    assert "s3cret" not in str(err.value)


def test_tail_reads_only_new_bars_and_stays_exact(tmp_path: Path, redis_client: redis.Redis) -> None:
    rig = Rig(tmp_path, redis_client, expected=(BTC,))
    history = bars(T0 + IV.delta * 40, 41)
    close = T0 + IV.delta * 30
    rig.store.rewrite(BTC, IV, history[:30])
    rig.markers.write(marker(close, {BTC: "ok"}))
    assert rig.bars.tail(BTC, IV, 5) == rig.store.tail(BTC, IV, 5)
    for k in range(31, 34):  # three more closes
        rig.store.rewrite(BTC, IV, history[:k])
        rig.markers.write(marker(T0 + IV.delta * k, {BTC: "ok"}))
        assert rig.bars.tail(BTC, IV, 5) == rig.store.tail(BTC, IV, 5)
    assert rig.bars.tail(BTC, IV, 20) == rig.store.tail(BTC, IV, 20)  # a longer tail: read whole
    # a stream rebuilt with a hole (say Redis restarted empty and only newer bars came back)
    redis_client.delete(rig.keys.bars(BTC, IV))
    newer = history[36:41]
    redis_client.xadd(rig.keys.bars(BTC, IV), bar_fields(newer[0]), id=time_id(newer[0].ts))  # type: ignore[arg-type]
    assert rig.bars.tail(BTC, IV, 5) == newer[:1]  # not glued onto the bars held before the hole
