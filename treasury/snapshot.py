"""What OKX reports about the master's sub-accounts, reduced to the planner's :class:`Node` s.

Per configured account (its ``sub_account`` name, default the account name): its value — OKX's
``totalEq`` of the trading account (every coin, in USD ~ the treasury's USD stablecoin) plus the
funding account valued in the treasury's currency (other coins at their spot ticker) — the margin
in use (open positions' ``imr`` plus what open orders freeze), funding balance and ``maxWd``.
What may leave the trading account is ``min(maxWd, eq - imr * position_reserve)``: OKX's own
limit, and never so much that the open positions would be left without their margin and the
configured buffer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from config.schema import FleetConfig, TreasurySettings
from core.errors import ConfigError
from exchange.asset import FundingBalance
from exchange.treasury import MasterClient
from treasury.plan import MASTER, Move, Node

__all__ = ["Snapshot", "client_ids", "funding_value", "movable", "plan_id", "take_snapshot"]


@dataclass(frozen=True)
class Snapshot:
    nodes: list[Node]
    accounts: dict[str, str]  # OKX subAcct -> config account name (for the bar locks)


def movable(max_wd: Decimal, eq: Decimal, imr: Decimal, reserve: Decimal) -> Decimal:
    """What may leave a trading account without starving its open positions."""
    return max(min(max_wd, eq - imr * reserve), Decimal(0))


def funding_value(rows: list[FundingBalance], ccy: str, price: Callable[[str], Decimal]) -> Decimal:
    """A funding account's balances (``bal``: available and frozen) valued in ``ccy``."""
    return sum((r.bal if r.ccy == ccy else r.bal * price(r.ccy) for r in rows if r.bal), Decimal(0))


def take_snapshot(master: MasterClient, cfg: FleetConfig, settings: TreasurySettings) -> Snapshot:
    ccy = settings.ccy
    subs = {s.name: s for s in master.sub_accounts()}
    nodes: list[Node] = []
    accounts: dict[str, str] = {}
    for acct in cfg.accounts.values():
        name = acct.okx_sub_account
        sub = subs.get(name)
        if sub is None:
            listed = ", ".join(sorted(subs)) or "none"
            raise ConfigError(
                f"account {acct.name!r}: OKX sub-account {name!r} is not under this master key "
                f"(it lists: {listed}); set Account(sub_account=...) to the OKX name"
            )
        bal = master.trading_balance(name, ccy)
        rows = master.funding_balances(name)
        fund = sum((r.avail_bal for r in rows if r.ccy == ccy), Decimal(0))
        held = funding_value(rows, ccy, lambda coin: master.price(coin, ccy))
        out = movable(master.max_withdrawal(name, ccy), bal.eq, bal.imr, settings.position_reserve)
        # Node.value = trading + funding: everything but the movable funding balance goes in "trading".
        rest = bal.total_eq + held - fund
        nodes.append(Node(name, acct.weight, rest, fund, out, can_give=sub.can_trans_out))
        accounts[name] = acct.name
    spare = master.funding_available(MASTER, ccy)
    if spare > 0:
        nodes.append(Node(MASTER, Decimal(0), Decimal(0), spare, Decimal(0)))
    return Snapshot(nodes, accounts)


def plan_id(now: datetime, moves: tuple[Move, ...]) -> str:
    """``t<yymmddHHMM><6 hex>`` — deterministic from the plan's time and moves (17 characters)."""
    digest = hashlib.sha256(repr([(now.isoformat(), m) for m in moves]).encode()).hexdigest()[:6]
    return f"t{now:%y%m%d%H%M}{digest}"


def client_ids(pid: str, moves: tuple[Move, ...]) -> list[tuple[str, Move]]:
    """``<plan id>s<step>`` per move: at most 20 letters and digits (OKX allows 32)."""
    return [(f"{pid}s{step:02d}", m) for step, m in enumerate(moves, start=1)]
