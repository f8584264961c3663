"""Operator commands in Redis mode: ``--set-target``, ``--flatten`` and ``--resume`` from any host.

An operator holds no lease, so it never writes the account's state hash
(:mod:`trader.account_store`): :func:`enqueue` appends the command to the account's list in Redis
and the lease holder :func:`apply` s it before its next bar and right after a takeover — to its
journal tables, then pushed (fenced) to Redis, then removed from the list (fenced). A holder
killed between applying and removing leaves the command for its successor, which applies it again;
each command is idempotent (a manual target, a halt, a resume). A ``--flatten`` halts with a
pending flatten, which the holder's halted bar carries out (:func:`trader.riskgate.halted_report`).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

import redis

from bus.connect import REDIS_ERRORS
from bus.keys import Keys
from trader.account_store import RedisAccountStore
from trader.halt import HaltStore
from trader.journal import Journal
from trader.lease import AccountLease, LeaseLost
from trader.targets import TargetBook

__all__ = ["OPS", "apply", "enqueue"]

log = logging.getLogger(__name__)
OPS = ("set_target", "halt", "resume")
_FENCED_LTRIM = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('LTRIM', KEYS[2], tonumber(ARGV[2]), -1)
return 1
"""


def enqueue(client: redis.Redis, keys: Keys, account: str, op: str, **args: Any) -> None:
    """Queue one command for the account's lease holder (whichever host holds it, now or later)."""
    if op not in OPS:
        raise ValueError(f"unknown command {op!r} (known: {', '.join(OPS)})")
    client.rpush(keys.commands(account), json.dumps({"op": op, **args}))


def _apply_one(journal: Journal, command: dict[str, Any], now: datetime) -> str:
    op = command["op"]
    if op == "set_target":
        with journal.transaction():
            book = TargetBook(journal)
            book.set(command["inst_id"], command["strategy"], int(command["target"]), "manual", now)
        return f"manual target {command['inst_id']} {command['target']}"
    halt = HaltStore(journal.path)
    try:
        if op == "halt":
            halt.halt(str(command["reason"]), now)
            return f"halted: {command['reason']}"
        if op == "resume":
            halt.resume(now)
            return "halt lifted"
    finally:
        halt.close()
    raise ValueError(f"unknown command {op!r} in the queue (known: {', '.join(OPS)})")


def apply(
    journal: Journal, store: RedisAccountStore, lease: AccountLease, keys: Keys, now: datetime
) -> list[str]:
    """Apply the queued commands to the journal, push the state to Redis, drop them from the queue."""
    client: Any = store.hash.client
    key = keys.commands(lease.account)
    try:
        raw = client.lrange(key, 0, -1)
    except REDIS_ERRORS as exc:
        raise LeaseLost(f"account {lease.account}: Redis unreachable, commands unread: {exc}") from exc
    if not raw:
        return []
    done = [_apply_one(journal, json.loads(item), now) for item in raw]
    store.push(journal)
    try:
        ok = client.eval(_FENCED_LTRIM, 2, keys.lease(lease.account), key, lease.value, len(raw))
    except REDIS_ERRORS as exc:
        raise LeaseLost(f"account {lease.account}: Redis unreachable, commands kept: {exc}") from exc
    if not ok:
        raise LeaseLost(f"account {lease.account}: lease lost; commands kept for the next holder")
    for line in done:
        log.warning("operator command applied: %s", line)
    return done
