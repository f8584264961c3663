"""One trader process in Redis mode: hot standby until it holds the account's lease, then trade.

:func:`build_leased_context` wires a :class:`~trader.context.TraderContext` whose bars and markers
come from Redis, whose orders go through a :class:`~trader.lease.FencedClient` and whose journal is
a :class:`~trader.failover.MirroredJournal`. :func:`serve_leased` waits (sleeping, never spinning)
until :meth:`AccountLease.try_acquire` succeeds, adopts the replicated journal rows, keeps the
lease renewed while :class:`~trader.service.TraderService` runs, and releases it on a clean stop.
A lost lease ends the process with :data:`LEASE_LOST_EXIT` (the supervisor restarts it as a
standby); from the moment the lease cannot be proven, no order leaves this process.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

import redis

from bus.connect import REDIS_ERRORS
from bus.factory import host_name, trader_sources
from bus.keys import Keys
from config.schema import FleetConfig
from core.clock import Clock
from notify import events as ev
from trader.account_store import RedisAccountStore
from trader.context import TraderContext, build_context
from trader.failover import JournalMirror, MirroredJournal, adopt
from trader.lease import AccountLease, FencedClient, LeaseKeeper, LeaseLost, read_lease
from trader.ports import AccountPort, NotifierPort, PublicPort
from trader.service import TraderService

__all__ = ["LEASE_LOST_EXIT", "Leased", "build_leased_context", "serve_leased"]

log = logging.getLogger(__name__)
LEASE_LOST_EXIT = 3


@dataclass
class Leased:
    """The Redis-mode parts of one trader."""

    lease: AccountLease
    mirror: JournalMirror
    store: RedisAccountStore


def build_leased_context(
    cfg: FleetConfig,
    account: str,
    redis_client: redis.Redis,
    *,
    client: AccountPort,
    public: PublicPort,
    clock: Clock,
    notifier: NotifierPort,
    holder: str | None = None,
) -> tuple[TraderContext, Leased]:
    keys = Keys(cfg.data_bus.prefix)
    holder = holder or f"{host_name(cfg.data_bus)}:{os.getpid()}"
    lease = AccountLease(redis_client, keys, account, holder, cfg.data_bus.lease_s)
    mirror = JournalMirror(redis_client, keys, lease)
    store = RedisAccountStore(redis_client, keys, lease)
    journal = MirroredJournal(cfg.journal_dir / f"{account}.sqlite", mirror, store, keys)
    process = f"trader-{account}"

    def on_down(detail: str) -> None:
        notifier.notify(ev.DataAlert(process, "bus_down", detail))

    ctx = build_context(
        cfg, account, client=FencedClient(client, lease), public=public, clock=clock, notifier=notifier,
        journal=journal, sources=trader_sources(cfg, account, redis_client, on_down),
    )  # fmt: skip
    return ctx, Leased(lease, mirror, store)


def wait_for_lease(
    leased: Leased, stop: threading.Event, on_wait: Callable[[str], None] = lambda who: None
) -> bool:
    """Sleep until this process holds the lease (True) or ``stop`` is set (False)."""
    lease = leased.lease
    poll = lease.lease_ms / 10_000
    announced = ""
    while not stop.is_set():
        try:
            if lease.try_acquire():
                return True
            info = read_lease(lease.client, lease.keys, lease.account)
            who = info.holder if info else "nobody"
        except REDIS_ERRORS as exc:
            who = f"unknown (Redis unreachable: {type(exc).__name__})"
        if who != announced:
            log.info("account %s: hot standby; lease held by %s", lease.account, who)
            on_wait(who)
            announced = who
        stop.wait(poll)
    return False


def serve_leased(service: TraderService, leased: Leased, *, once: bool = False) -> int:
    """Standby, takeover, trade; the process exit code."""
    ctx = service.ctx
    if not wait_for_lease(leased, ctx.stop):
        return 0
    lost = threading.Event()

    def on_lost(reason: str) -> None:
        log.error("%s", reason)
        lost.set()
        ctx.stop.set()

    journal = ctx.journal
    assert isinstance(journal, MirroredJournal)  # build_leased_context made it
    counts = adopt(journal, ctx.clock.now())
    ctx.notifier.notify(
        ev.DataAlert(ctx.process, "lease_acquired", f"lease token {leased.lease.token}; adopted {counts}")
    )
    keeper = LeaseKeeper(leased.lease, on_lost).start()
    try:
        code = service.run(once=once)
    except LeaseLost as exc:
        on_lost(str(exc))
        code = LEASE_LOST_EXIT
    finally:
        keeper.stop()
    if lost.is_set():
        ctx.notifier.notify(ev.DataAlert(ctx.process, "lease_lost", "stopped trading: lease lost"))
        return LEASE_LOST_EXIT
    leased.lease.release()
    return code
