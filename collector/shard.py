"""Collectors on several hosts split the instrument universe through Redis.

**Membership.** Every collector keeps itself in the sorted set ``<prefix>:collectors``, scored by
the expiry of its lease (Redis server time + ``lease_s``), renewed every third of the period by
:class:`Membership` in a thread; entries past their expiry are dropped by whoever looks. A
SIGKILLed collector simply stops renewing: it is gone one lease period later.

**Assignment.** :func:`assign` is pure rendezvous hashing (highest random weight): every live
member computes the same owner for every instrument, and when a member leaves only its
instruments move (each to the survivor ranking next for it).

**A close.** :class:`ShardedCycle` runs the collector's cycle for this member's share only (its
markers report just that share; :class:`~bus.publisher.BusPublisher` publishes the interval's
marker once every share has reported). It then watches the close until its markers are complete:
if a member died meanwhile, the share that moved here is collected for the same close at once, so
the marker appears within about a lease period, and no bar is missing from any stream.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import redis

from bus.connect import REDIS_ERRORS
from bus.keys import Keys, time_id
from collector.cycle import Cycle, CycleReport
from collector.plan import CollectPlan
from core.clock import Clock

__all__ = ["Membership", "ShardedCycle", "assign", "restrict"]

log = logging.getLogger(__name__)

_BEAT = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms)
if ARGV[1] ~= '' then redis.call('ZADD', KEYS[1], ms + tonumber(ARGV[2]), ARGV[1]) end
return redis.call('ZRANGE', KEYS[1], 0, -1)
"""


def _weight(member: str, inst_id: str) -> bytes:
    return hashlib.sha256(f"{member}\x00{inst_id}".encode()).digest()


def assign(instruments: Iterable[str], members: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Owner of every instrument among ``members`` (rendezvous hashing): member -> instruments."""
    if not members:
        raise ValueError("no live collector to assign instruments to")
    out: dict[str, list[str]] = {m: [] for m in members}
    for inst in instruments:
        out[max(members, key=lambda m: _weight(m, inst))].append(inst)
    return {m: tuple(sorted(v)) for m, v in out.items()}


def restrict(plan: CollectPlan, share: Iterable[str]) -> CollectPlan:
    """``plan`` limited to the instruments of ``share`` (every interval kept, possibly empty)."""
    mine = set(share)
    return CollectPlan(
        plan.tz, {iv: tuple(i for i in insts if i in mine) for iv, insts in plan.instruments.items()}
    )


class Membership:
    """This collector's place in the live set, renewed in a thread."""

    def __init__(self, client: redis.Redis, keys: Keys, name: str, lease_s: float) -> None:
        self.client: Any = client
        self.keys = keys
        self.name = name
        self.lease_ms = int(lease_s * 1000)
        self._beat = self.client.register_script(_BEAT)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> list[str]:
        """Renew this member and return every live member, sorted."""
        got = self._beat(keys=[self.keys.collectors()], args=[self.name, self.lease_ms])
        return sorted(m.decode() for m in got)

    def members(self) -> list[str]:
        """Live members (without renewing this one)."""
        got = self._beat(keys=[self.keys.collectors()], args=["", self.lease_ms])
        return sorted(m.decode() for m in got)

    def publish_share(self, share: Sequence[str]) -> None:
        self.client.hset(self.keys.shares(), self.name, json.dumps(list(share)))

    def start(self) -> Membership:
        try:
            self.beat()
        except REDIS_ERRORS as exc:  # the thread keeps trying; the collector's files go on
            log.warning("joining the collector set failed: %s", exc)
        self._thread = threading.Thread(target=self._run, name="collector-membership", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.lease_ms / 3000):
            try:
                self.beat()
            except REDIS_ERRORS as exc:
                log.warning("membership renewal failed: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.client.zrem(self.keys.collectors(), self.name)
            self.client.hdel(self.keys.shares(), self.name)
        except REDIS_ERRORS as exc:
            log.warning("leaving the collector set failed (the entry lapses by itself): %s", exc)


class ShardedCycle:
    """Runs a close for this member's share and completes it if another member dies meanwhile."""

    def __init__(
        self,
        cycle: Cycle,
        full: CollectPlan,
        membership: Membership,
        *,
        stop: threading.Event,
        clock: Clock,
        complete_wait_s: float | None = None,
    ) -> None:
        self.cycle = cycle
        self.clock = clock
        self.full = full
        self.membership = membership
        self.stop = stop
        lease_s = membership.lease_ms / 1000
        self.complete_wait_s = complete_wait_s if complete_wait_s is not None else lease_s * 1.5
        self.share: tuple[str, ...] = ()
        self.followers: list[Any] = []  # other holders of a ``plan`` to restrict (the housekeeper)

    def _take_share(self, members: list[str]) -> tuple[str, ...]:
        if self.membership.name not in members:
            members = sorted([*members, self.membership.name])
        share = assign(self.full.all_instruments, members)[self.membership.name]
        if share != self.share:
            total = len(self.full.all_instruments)
            log.info("collector %s: share %d of %d instrument(s), %d live collector(s)",
                     self.membership.name, len(share), total, len(members))  # fmt: skip
            self.share = share
            self.membership.publish_share(share)
        mine = restrict(self.full, share)
        for holder in (self.cycle, *self.followers):
            holder.plan = mine
        return share

    def _complete(self, close: datetime) -> bool:
        client, keys, entry = self.membership.client, self.membership.keys, time_id(close)
        return all(client.xrange(keys.markers(iv), entry, entry) for iv in self.full.closing_at(close))

    def run(self, close: datetime, earlier: list[datetime] | None = None) -> CycleReport:
        """One close (after the missed ``earlier`` ones) for this collector's share, then wait for
        every other share to report it."""
        try:
            self._take_share(self.membership.beat())
        except REDIS_ERRORS as exc:
            # Redis down: keep the last share (everything if none yet) so the CSVs go on
            log.warning("collector %s: membership unknown (%s); collecting %s", self.membership.name,
                        exc, "the last share" if self.share else "every instrument")  # fmt: skip
            self.cycle.plan = restrict(self.full, self.share or self.full.all_instruments)
        report = self.cycle.run(close, earlier=earlier or [])
        deadline = time.monotonic() + self.complete_wait_s
        next_close = close + self.full.base.delta  # never hold up the next close's cycle
        try:
            while not self._complete(close):
                late = time.monotonic() > deadline or self.clock.now() >= next_close
                if late or self.stop.wait(self.membership.lease_ms / 10_000):
                    log.warning("close %s: not every share reported in time", close.isoformat())
                    break
                mine = set(self.share)
                if not set(self._take_share(self.membership.members())) <= mine:
                    report = self.cycle.run(close)  # a dead member's share, collected for this close
        except REDIS_ERRORS as exc:
            log.warning("could not follow the other shares of %s: %s", close.isoformat(), exc)
        return report

    def shares(self) -> Mapping[str, tuple[str, ...]]:
        return assign(self.full.all_instruments, self.membership.members())
