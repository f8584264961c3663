"""``python -m scripts.fleet status``: who trades which account and which collector owns which
instruments, read from Redis (``DATA_BUS = Redis(...)``). Read-only; the Redis URL's password is
never shown.

    python -m scripts.fleet status [--config PATH] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from typing import Any

import redis

from bus.connect import REDIS_ERRORS, redacted_url
from bus.factory import redis_client
from bus.keys import Keys, id_time
from collector.shard import assign
from config.loader import add_config_argument, load_config
from config.schema import FleetConfig
from core.errors import ConfigError
from trader.lease import read_lease

__all__ = ["BusStatus", "collect_bus_status", "main", "render_bus_status"]


@dataclass(frozen=True)
class BusStatus:
    url: str  # redacted
    leases: dict[str, dict[str, Any] | None]  # account -> holder, token, ttl_ms (None: no holder)
    collectors: dict[str, list[str]]  # live collector -> instruments it owns
    markers: dict[str, str | None]  # interval -> close of the newest marker in the stream


def collect_bus_status(cfg: FleetConfig, client: redis.Redis) -> BusStatus:
    keys = Keys(cfg.data_bus.prefix)
    raw: Any = client
    leases: dict[str, dict[str, Any] | None] = {}
    for account in sorted(cfg.accounts):
        info = read_lease(client, keys, account)
        leases[account] = None if info is None else {"holder": info.holder, "token": info.token,
                                                     "ttl_ms": info.ttl_ms}  # fmt: skip
    now_s, now_us = raw.time()
    now_ms = now_s * 1000 + now_us // 1000
    live = sorted(m.decode() for m in raw.zrangebyscore(keys.collectors(), now_ms, "+inf"))
    shares = {k.decode(): json.loads(v) for k, v in raw.hgetall(keys.shares()).items()}
    expected = assign(cfg.instruments, live) if live else {}
    collectors = {m: sorted(shares.get(m, expected.get(m, ()))) for m in live}
    markers: dict[str, str | None] = {}
    for iv in cfg.intervals:
        last = raw.xrevrange(keys.markers(iv), count=1)
        markers[iv.name] = id_time(last[0][0]).isoformat() if last else None
    return BusStatus(redacted_url(cfg.data_bus.url or ""), leases, collectors, markers)


def render_bus_status(status: BusStatus) -> str:
    lines = [f"data bus: Redis {status.url}", "", "accounts (lease holder):"]
    for account, info in status.leases.items():
        if info is None:
            lines.append(f"  {account:<16} no holder (no trader running, or its lease lapsed)")
        else:
            holder, token, ttl = info["holder"], info["token"], info["ttl_ms"]
            lines.append(f"  {account:<16} {holder}  token {token}  expires in {ttl} ms")
    lines += ["", f"collectors ({len(status.collectors)} live):"]
    if not status.collectors:
        lines.append("  none")
    for member, insts in status.collectors.items():
        shown = ", ".join(insts[:6]) + (f", ... (+{len(insts) - 6})" if len(insts) > 6 else "")
        lines.append(f"  {member:<24} {len(insts):>4} instrument(s): {shown}")
    lines += ["", "newest marker per interval:"]
    lines += [f"  {iv:<4} {close or 'none yet'}" for iv, close in status.markers.items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.fleet status", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    add_config_argument(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.config, check_credentials=False)
    except ConfigError as exc:
        print("config is invalid:\n  - " + "\n  - ".join(exc.problems), file=sys.stderr)
        return 2
    if cfg.data_bus.kind != "redis" or cfg.data_bus.url is None:
        print("DATA_BUS is Files(): one host, no leases or shares to show (see `python -m scripts.fleet`)")
        return 0
    try:
        client = redis_client(cfg, timeout_s=3)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        status = collect_bus_status(cfg, client)
    except REDIS_ERRORS as exc:
        print(f"Redis {redacted_url(cfg.data_bus.url)} unreachable: {type(exc).__name__}", file=sys.stderr)
        return 1
    finally:
        client.close()
    sys.stdout.write(json.dumps(asdict(status), indent=1) + "\n" if args.json else render_bus_status(status))
    return 0
