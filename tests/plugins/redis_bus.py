"""Fixtures for the Redis data bus: a real redis-server per test on a free loopback port.

No skip: without ``redis-server`` on PATH the fixture fails with a message saying how to install it.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bus.server import RedisProcess


@pytest.fixture
def redis_proc(tmp_path: Path) -> Iterator[RedisProcess]:
    proc = RedisProcess(tmp_path / "redis").start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def redis_client(redis_proc: RedisProcess) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_proc.url)
    try:
        yield client
    finally:
        client.close()
