"""``--set-target``, ``--flatten`` and ``--resume`` in Redis mode, from any host (issue #17).

The account's state lives in Redis and only the lease holder writes it, so these queue a command
(:func:`trader.commands.enqueue`) that the holder applies before its next bar, or that a standby
applies as it takes over. ``--flatten`` halts the account with a pending flatten: the holder's next
bar cancels every working order and closes every position, then stays halted until ``--resume``.
"""

from __future__ import annotations

import redis

from bus.keys import Keys
from config.schema import FleetConfig
from trader.commands import enqueue
from trader.lease import read_lease
from trader.targets_cli import NAMES, strategy_for

__all__ = ["queue_flatten", "queue_resume", "queue_set_target"]


def _holder(client: redis.Redis, keys: Keys, account: str) -> str:
    info = read_lease(client, keys, account)
    return f"the lease holder ({info.holder})" if info else "the next trader to take the lease"


def queue_set_target(cfg: FleetConfig, client: redis.Redis, account: str, inst_id: str, target: int) -> str:
    settings = cfg.account(account)
    keys = Keys(cfg.data_bus.prefix)
    strategy = strategy_for(settings, inst_id)
    enqueue(client, keys, settings.name, "set_target", inst_id=inst_id, strategy=strategy, target=target)
    return (f"{settings.name} {inst_id}: standing target {NAMES[target]} (manual) queued; "
            f"{_holder(client, keys, settings.name)} applies it before its next bar\n")  # fmt: skip


def queue_flatten(cfg: FleetConfig, client: redis.Redis, account: str) -> str:
    keys = Keys(cfg.data_bus.prefix)
    enqueue(client, keys, account, "halt", reason="kill switch: --flatten")
    who = _holder(client, keys, account)
    return (f"{account}: halt and flatten queued; {who} closes every position at its next bar and "
            f"stays halted; `python -m trader {account} --resume` lifts it\n")  # fmt: skip


def queue_resume(cfg: FleetConfig, client: redis.Redis, account: str) -> str:
    keys = Keys(cfg.data_bus.prefix)
    enqueue(client, keys, account, "resume")
    return f"{account}: resume queued; {_holder(client, keys, account)} lifts the halt before its next bar\n"
