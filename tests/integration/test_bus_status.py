"""``python -m scripts.fleet status``: lease holders and collector shares, without the password."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import redis

from bus.keys import Keys
from bus.server import RedisProcess
from collector.shard import Membership
from trader.lease import AccountLease

ROOT = Path(__file__).resolve().parents[2]


def test_status_shows_holders_and_shares(tmp_path: Path, redis_proc: RedisProcess) -> None:
    redis.Redis.from_url(redis_proc.url).config_set("requirepass", "s3cret-pw")
    url = redis_proc.url.replace("redis://", "redis://:s3cret-pw@")  # only for this test's own client
    (tmp_path / "config.py").write_text(
        "from config import Account, Exchange, Redis, Strategy\n"
        "EXCHANGE = Exchange(mode='simulator', base_url='http://127.0.0.1:9')\n"
        f"DATA_DIR = {str(tmp_path / 'data')!r}\n"
        f"DATA_BUS = Redis({redis_proc.url!r}, prefix='st', lease_s=30, password_env='FLEET_REDIS_PW')\n"
        "ACCOUNTS = {\n"
        "    'sub1': Account(credentials='OKX_SUB1', interval='1m', strategies=[\n"
        "        Strategy('BTC-USDT-SWAP', 'sma_cross', params={'fast': 2, 'slow': 5})]),\n"
        "    'sub2': Account(credentials='OKX_SUB2', interval='5m', strategies=[\n"
        "        Strategy('ETH-USDT-SWAP', 'sma_cross', params={'fast': 2, 'slow': 5})]),\n"
        "}\n",
        encoding="utf-8",
    )
    client = redis.Redis.from_url(url)
    lease = AccountLease(client, Keys("st"), "sub1", "hostB:4242", 30)
    assert lease.try_acquire()
    member = Membership(client, Keys("st"), "hostA:77", 30)
    member.beat()
    member.publish_share(["BTC-USDT-SWAP", "ETH-USDT-SWAP"])

    def status(*extra: str, env: dict[str, str] | None = None, expect: int = 0) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "scripts.fleet", "status", "--config", str(tmp_path / "config.py"),
             *extra],
            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
            env={**os.environ, "FLEET_REDIS_PW": "s3cret-pw", **(env or {})},
        )  # fmt: skip
        assert proc.returncode == expect, proc.stderr
        assert "s3cret-pw" not in proc.stdout + proc.stderr
        return proc.stdout + proc.stderr

    text = status()
    assert "sub1             hostB:4242  token 1" in text
    assert "sub2             no holder" in text
    assert "hostA:77" in text
    assert "2 instrument(s): BTC-USDT-SWAP, ETH-USDT-SWAP" in text
    assert f"Redis {redis_proc.url}" in text
    data = json.loads(status("--json"))
    assert data["leases"]["sub1"]["holder"] == "hostB:4242"
    assert data["collectors"] == {"hostA:77": ["BTC-USDT-SWAP", "ETH-USDT-SWAP"]}
    assert "FLEET_REDIS_PW" in status(env={"FLEET_REDIS_PW": ""}, expect=2)  # names the missing variable
    assert "AuthenticationError" in status(env={"FLEET_REDIS_PW": "wrong"}, expect=1)
    client.close()
