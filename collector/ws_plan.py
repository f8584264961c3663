"""How the WebSocket feed spreads its subscriptions — pure functions.

OKX rules (okx-v5.md §4.3): the combined ``args`` of one request stay under 64 KB, at most 3
connection attempts per second per IP, 480 subscribe operations per connection per hour. The feed
gives each connection at most ``per_connection`` instruments, subscribes them in as few requests
as fit under the byte limit, and reconnects after a jittered exponential backoff.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Sequence

from core.intervals import Interval

__all__ = [
    "MAX_ARGS_BYTES",
    "backoff_s",
    "batches",
    "candle_args",
    "connections_needed",
    "deadline_s",
    "shard",
]

MAX_ARGS_BYTES = 60_000  # OKX refuses requests whose args exceed 64 KB; keep a margin


def connections_needed(instruments: int, per_connection: int) -> int:
    """Connections for ``instruments`` subscriptions (0 for none)."""
    if per_connection < 1:
        raise ValueError(f"per_connection must be >= 1, got {per_connection}")
    return math.ceil(instruments / per_connection)


def shard(inst_ids: Sequence[str], per_connection: int) -> list[tuple[str, ...]]:
    """Instruments split into ``connections_needed`` groups of (nearly) equal size, order kept."""
    n = connections_needed(len(inst_ids), per_connection)
    if n == 0:
        return []
    size, extra = divmod(len(inst_ids), n)
    out, start = [], 0
    for k in range(n):
        end = start + size + (1 if k < extra else 0)
        out.append(tuple(inst_ids[start:end]))
        start = end
    return out


def candle_args(channel: str, inst_ids: Sequence[str]) -> list[dict[str, str]]:
    return [{"channel": channel, "instId": inst} for inst in inst_ids]


def batches(args: Sequence[dict[str, str]], max_bytes: int = MAX_ARGS_BYTES) -> list[list[dict[str, str]]]:
    """``args`` cut into consecutive requests whose JSON ``args`` list stays within ``max_bytes``."""
    out: list[list[dict[str, str]]] = []
    current: list[dict[str, str]] = []
    size = 2  # the brackets
    for arg in args:
        cost = len(json.dumps(arg, separators=(",", ":"))) + 1
        if cost + 2 > max_bytes:
            raise ValueError(f"one subscription arg is larger than {max_bytes} bytes: {arg}")
        if current and size + cost > max_bytes:
            out.append(current)
            current, size = [], 2
        current.append(arg)
        size += cost
    if current:
        out.append(current)
    return out


def backoff_s(attempt: int, rng: random.Random, *, base_s: float = 0.5, cap_s: float = 30.0) -> float:
    """Seconds before reconnect ``attempt`` (1, 2, ...): exponential, capped, jittered to 50-100 %."""
    if attempt < 1:
        return 0.0
    return min(cap_s, base_s * 2 ** (attempt - 1)) * rng.uniform(0.5, 1.0)


def deadline_s(base: Interval, configured: float) -> float:
    """The REST-fallback deadline after a close: the configured one, below a third of the bar."""
    return min(configured, base.seconds / 3)
