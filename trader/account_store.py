"""Where an account's standing targets and halt state live: the journal, or Redis with leases.

:class:`AccountStore` is the small interface the trader uses. Files mode: :class:`JournalAccountStore`
(standing targets from the journal's signals, halt state in the journal's ``account_state`` table).
Redis mode: :class:`RedisAccountStore`, where every write is *fenced* — a Lua script writes only
while the account's lease still holds this process's token — so a trader that lost its lease can
never overwrite what its successor decided. Either host reads the same state after a takeover.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import redis

from bus.connect import REDIS_ERRORS
from bus.keys import Keys
from core.clock import Clock
from trader.journal import Journal
from trader.lease import AccountLease, LeaseLost

__all__ = ["AccountStore", "FencedHash", "HaltState", "JournalAccountStore", "RedisAccountStore"]

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


@dataclass(frozen=True)
class HaltState:
    """The account is halted (no new risk) since ``since``, for ``reason``."""

    reason: str
    since: datetime

    def to_json(self) -> str:
        return json.dumps({"reason": self.reason, "since": self.since.isoformat()})

    @staticmethod
    def from_json(text: str) -> HaltState:
        raw = json.loads(text)
        return HaltState(str(raw["reason"]), datetime.fromisoformat(raw["since"]))


class AccountStore(Protocol):
    def standing_targets(self) -> dict[str, int]: ...

    def set_target(self, inst_id: str, target: int, bar_close: datetime) -> None: ...

    def halt(self) -> HaltState | None: ...

    def set_halt(self, state: HaltState | None) -> None: ...


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


class RedisAccountStore:
    """Standing targets (``target:<inst>``) and halt state (``halt``) in ``<prefix>:state:<account>``."""

    def __init__(self, client: redis.Redis, keys: Keys, lease: AccountLease) -> None:
        self.hash = FencedHash(client, lease, keys.account_state(lease.account))

    def standing_targets(self) -> dict[str, int]:
        return {
            k.removeprefix("target:"): int(json.loads(v)["target"])
            for k, v in self.hash.all().items()
            if k.startswith("target:")
        }

    def set_target(self, inst_id: str, target: int, bar_close: datetime) -> None:
        value = json.dumps({"target": target, "bar_close": bar_close.isoformat()})
        self.hash.set({f"target:{inst_id}": value})

    def halt(self) -> HaltState | None:
        text = self.hash.get("halt")
        return None if text is None else HaltState.from_json(text)

    def set_halt(self, state: HaltState | None) -> None:
        if state is None:
            self.hash.delete("halt")
        else:
            self.hash.set({"halt": state.to_json()})


class JournalAccountStore:
    """Files mode: the journal is the store (standing targets from its signals)."""

    def __init__(self, journal: Journal, instruments: tuple[str, ...], clock: Clock) -> None:
        self.journal = journal
        self.instruments = instruments
        self.clock = clock

    def standing_targets(self) -> dict[str, int]:
        out = {}
        for inst in self.instruments:
            last = self.journal.last_target(inst)
            if last is not None:
                out[inst] = last[1]
        return out

    def set_target(self, inst_id: str, target: int, bar_close: datetime) -> None:
        return None  # the journal's signals row (written by the cycle) is the record

    def halt(self) -> HaltState | None:
        text = self.journal.get_state("halt")
        return None if text is None else HaltState.from_json(text)

    def set_halt(self, state: HaltState | None) -> None:
        self.journal.set_state("halt", None if state is None else state.to_json(), self.clock.now())
