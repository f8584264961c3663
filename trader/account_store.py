"""Redis mode: an account's standing targets and risk/halt state live in Redis, fenced by the lease.

One source of truth per mode. Files mode: the journal's ``targets`` table
(:class:`trader.targets.TargetBook`) and ``risk_state`` table (:class:`trader.halt.HaltStore`).
Redis mode: the hash ``<prefix>:state:<account>`` — a ``target:<inst>`` field per standing target
(the whole row: target, size, source, miss and failure counts) and a ``risk:<key>`` field per
risk-state key (peak, day, day_open, halted, reason, flatten_pending). Only the lease holder writes
it, through a Lua script that checks the fencing token (:class:`FencedHash`), so a trader that lost
its lease can never overwrite what its successor decided. The holder keeps the two journal tables
as its working copy and pushes them after every change (:meth:`RedisAccountStore.push`); a
takeover copies Redis over them (:meth:`RedisAccountStore.restore`), so ``--report`` and the monitor
read the holder's journal as in files mode.

Operators on any host (``--set-target``, ``--flatten``, ``--resume``) hold no lease, so they do not
write the state: they append a command to ``<prefix>:commands:<account>``, which the lease holder
applies (and removes, fenced) before its next bar and on takeover (:func:`trader.commands.apply`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import redis

from bus.connect import REDIS_ERRORS
from bus.keys import Keys
from trader.journal import Journal
from trader.lease import AccountLease, LeaseLost

__all__ = ["FencedHash", "RedisAccountStore", "journal_state", "restore_journal_state"]

_FENCED_HSET = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
return 1
"""
_FENCED_HDEL = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[2], unpack(ARGV, 2))
return 1
"""
_TARGET_COLUMNS = ("strategy", "target", "size", "bar_close", "source", "updated_at", "misses", "fails",
                   "failed_bar")  # fmt: skip
_SEEDED = "seeded"  # present once the hash holds the account's state (even with no target yet)


class FencedHash:
    """A Redis hash written only by the current lease holder."""

    def __init__(self, client: redis.Redis, lease: AccountLease, key: str) -> None:
        self.client: Any = client
        self.lease = lease
        self.key = key
        self._hset = self.client.register_script(_FENCED_HSET)
        self._hdel = self.client.register_script(_FENCED_HDEL)

    def _run(self, script: Any, args: list[str]) -> None:
        lease_key = self.lease.keys.lease(self.lease.account)
        try:
            ok = script(keys=[lease_key, self.key], args=[self.lease.value, *args])
        except REDIS_ERRORS as exc:
            raise LeaseLost(f"account {self.lease.account}: Redis unreachable, write refused: {exc}") from exc
        if not ok:
            raise LeaseLost(f"account {self.lease.account}: lease lost; write to {self.key} refused")

    def set(self, fields: Mapping[str, str]) -> None:
        if fields:
            self._run(self._hset, [x for kv in fields.items() for x in kv])

    def delete(self, *fields: str) -> None:
        if fields:
            self._run(self._hdel, list(fields))

    def all(self) -> dict[str, str]:
        raw = self.client.hgetall(self.key)
        return {k.decode(): v.decode() for k, v in raw.items()}

    def get(self, field: str) -> str | None:
        value = self.client.hget(self.key, field)
        return None if value is None else value.decode()


def journal_state(journal: Journal) -> dict[str, str]:
    """The journal's ``targets`` and ``risk_state`` rows as the Redis hash's fields."""
    out = {_SEEDED: "1"}
    for r in journal.query("SELECT * FROM targets"):
        out[f"target:{r['inst_id']}"] = json.dumps({c: r[c] for c in _TARGET_COLUMNS})
    for r in journal.query("SELECT key, value, updated_at FROM risk_state"):
        out[f"risk:{r['key']}"] = json.dumps({"value": r["value"], "updated_at": r["updated_at"]})
    return out


def restore_journal_state(journal: Journal, fields: Mapping[str, str]) -> None:
    """Replace the journal's ``targets`` and ``risk_state`` rows with the hash's (one transaction)."""
    with journal.transaction():
        journal.write("DELETE FROM targets")
        journal.write("DELETE FROM risk_state")
        for name, text in fields.items():
            kind, _, key = name.partition(":")
            if kind == "target":
                raw = json.loads(text)
                journal.write(
                    f"INSERT INTO targets (inst_id, {', '.join(_TARGET_COLUMNS)}) "  # noqa: S608
                    f"VALUES (?{', ?' * len(_TARGET_COLUMNS)})",
                    (key, *(raw[c] for c in _TARGET_COLUMNS)),
                )
            elif kind == "risk":
                raw = json.loads(text)
                journal.write(
                    "INSERT INTO risk_state (key, value, updated_at) VALUES (?, ?, ?)",
                    (key, raw["value"], raw["updated_at"]),
                )


class RedisAccountStore:
    """The account's state hash (see the module docstring); writes are fenced by the lease."""

    def __init__(self, client: redis.Redis, keys: Keys, lease: AccountLease) -> None:
        self.hash = FencedHash(client, lease, keys.account_state(lease.account))
        self._pushed: dict[str, str] | None = None

    def fields(self) -> dict[str, str]:
        return self.hash.all()

    def push(self, journal: Journal) -> None:
        """Make Redis hold the journal's current targets and risk state (no write if unchanged)."""
        now = journal_state(journal)
        before = self.fields() if self._pushed is None else self._pushed
        changed = {k: v for k, v in now.items() if before.get(k) != v}
        gone = [k for k in before if k not in now]
        self.hash.set(changed)
        self.hash.delete(*gone)
        self._pushed = now

    def restore(self, journal: Journal) -> str:
        """On takeover: Redis wins (copied over the journal); a hash never written (the account's
        first Redis-mode run) is seeded from the journal instead. Returns what was done."""
        fields = self.fields()
        if _SEEDED not in fields:
            self._pushed = {}
            self.push(journal)
            return "seeded from the journal"
        restore_journal_state(journal, fields)
        self._pushed = fields
        return f"{sum(k.startswith('target:') for k in fields)} standing target(s) and the risk state"
