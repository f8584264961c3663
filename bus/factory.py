"""Building the data bus a process uses from ``DATA_BUS`` (files or Redis)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping

import redis

from bus.connect import connect
from bus.keys import Keys
from bus.publisher import BusPublisher
from bus.reader import Cursor, RedisBars, RedisMarkers
from bus.sources import PublishingMarkerStore, TraderSources
from config.schema import DataBusSettings, FleetConfig
from core.clock import Clock
from core.errors import ConfigError
from core.intervals import Interval
from core.markers import MarkerStore
from core.store import CandleStore

__all__ = ["collector_markers", "host_name", "is_redis", "redis_client", "trader_sources"]


def is_redis(cfg: FleetConfig) -> bool:
    return cfg.data_bus.kind == "redis"


def host_name(settings: DataBusSettings) -> str:
    """This host's name in leases and shares (``DATA_BUS = Redis(..., host=...)`` or the hostname)."""
    return settings.host or socket.gethostname()


def redis_client(cfg: FleetConfig, *, timeout_s: float = 5.0) -> redis.Redis:
    """A client for ``DATA_BUS``; the password comes from the environment (``password_env``)."""
    bus = cfg.data_bus
    if bus.url is None:
        raise ValueError("DATA_BUS is Files(): there is no Redis to connect to")
    password = None
    if bus.password_env:
        password = cfg.env.get(bus.password_env)
        if not password:
            raise ConfigError(f"DATA_BUS: the Redis password variable {bus.password_env} is not set")
    return connect(bus.url, timeout_s=timeout_s, password=password)


def trader_sources(
    cfg: FleetConfig, account: str, client: redis.Redis | None, on_down: Callable[[str], None]
) -> TraderSources:
    """Where ``account``'s trader reads bars and markers."""
    if client is None:
        return TraderSources(CandleStore(cfg.candles_dir, cfg.candle_timezone), MarkerStore(cfg.markers_dir))
    keys = Keys(cfg.data_bus.prefix)
    cursor = Cursor(cfg.data_dir / "bus" / f"{account}.cursor.json")
    return TraderSources(
        RedisBars(client, keys, cfg.candle_timezone), RedisMarkers(client, keys, cursor, on_down)
    )


def collector_markers(
    cfg: FleetConfig,
    store: CandleStore,
    client: redis.Redis | None,
    clock: Clock,
    expected: Mapping[Interval, tuple[str, ...]],
    keep: Mapping[Interval, int],
    on_down: Callable[[str], None],
) -> MarkerStore:
    """The collector's marker store: files only, or files + publishing to Redis."""
    if client is None:
        return MarkerStore(cfg.markers_dir)
    publisher = BusPublisher(client, Keys(cfg.data_bus.prefix), store, clock, keep)
    return PublishingMarkerStore(cfg.markers_dir, publisher, expected, on_down)
