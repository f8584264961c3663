"""Rebalancing plan — pure ``Decimal`` arithmetic: balances and weights in, transfers out.

Each sub-account has a target ``total * weight / sum(weights)`` of the capital the treasury sees
(trading equity + funding balance of every configured sub-account, plus the master's funding
balance, which has target 0: money deposited on the master is handed out). An account is *in
band* when ``|value / target - 1| <= band``; nothing moves while every account is.

Otherwise, greedily: the account furthest out of band is paired with the account furthest on the
other side, and the move equalises the two accounts' drifts (capped by what may leave the giver,
the per-transfer cap and what is left of the daily cap). That repeats until all are in band. One
outlier costs one transfer, never one per account; ``n`` accounts never need more than ``n - 1``
pair moves unless a cap splits one. A move is drawn from the giver's funding account first, then
its trading account (at most what may leave it: OKX's ``maxWd``, less the positions' reserve), and
lands in the receiver's trading account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

__all__ = ["MASTER", "Move", "Node", "Plan", "drift", "in_band", "plan_rebalance"]

MASTER = ""  # the master account's node name
ZERO = Decimal(0)
CENT = Decimal("0.01")
FUNDING, TRADING = "6", "18"


@dataclass(frozen=True)
class Node:
    """An account as the planner sees it (amounts in the treasury's currency)."""

    name: str  # OKX subAcct, or MASTER
    weight: Decimal  # 0 for the master
    trading: Decimal  # trading-account equity
    funding: Decimal  # funding-account available balance
    trading_movable: Decimal  # what may leave the trading account (maxWd less the reserve)
    can_give: bool = True  # False: OKX refuses transfers out of it (no transfer-out permission)

    @property
    def value(self) -> Decimal:
        return self.trading + self.funding


@dataclass(frozen=True)
class Move:
    """One transfer: ``amount`` from (src, src_kind) to (dst, dst_kind)."""

    src: str
    src_kind: str
    dst: str
    dst_kind: str
    amount: Decimal


@dataclass(frozen=True)
class Plan:
    ccy: str
    band: Decimal
    targets: dict[str, Decimal]
    before: dict[str, Decimal]
    after: dict[str, Decimal]
    moves: tuple[Move, ...]
    notes: tuple[str, ...] = field(default=())
    may_leave: dict[str, Decimal] = field(default_factory=dict)  # funding + movable trading, at start

    @property
    def balanced(self) -> bool:
        """Whether every sub-account ends inside the band."""
        return all(in_band(self.after[n], self.targets[n], self.band) for n in self.targets if n != MASTER)


def drift(value: Decimal, target: Decimal) -> Decimal:
    """``value / target - 1``; a zero target (the master) counts any value as above it."""
    if target == 0:
        return Decimal("Infinity") if value > 0 else ZERO
    return value / target - 1


def in_band(value: Decimal, target: Decimal, band: Decimal) -> bool:
    return abs(drift(value, target)) <= band


def _equalise(v_g: Decimal, t_g: Decimal, v_r: Decimal, t_r: Decimal) -> Decimal:
    """Amount that gives giver and receiver the same drift (the master gives the receiver's gap)."""
    if t_g == 0:
        return max(min(v_g, t_r - v_r), ZERO)
    return (v_g * t_r - v_r * t_g) / (t_g + t_r)


def plan_rebalance(
    nodes: list[Node],
    *,
    ccy: str,
    band: Decimal,
    min_transfer: Decimal,
    max_transfer: Decimal | None = None,
    day_left: Decimal | None = None,
) -> Plan:
    """The moves that bring every account inside ``band`` of its target (see the module doc)."""
    if not ZERO < band < 1:
        raise ValueError(f"band must be between 0 and 1, got {band}")
    subs = [n for n in nodes if n.name != MASTER]
    weights = sum((n.weight for n in subs), ZERO)
    if not subs or weights <= 0 or any(n.weight <= 0 for n in subs):
        raise ValueError("the treasury needs sub-accounts with weights > 0")
    total = sum((n.value for n in nodes), ZERO)
    targets = {n.name: total * n.weight / weights for n in nodes}
    value = {n.name: n.value for n in nodes}
    funding = {n.name: n.funding if n.can_give else ZERO for n in nodes}
    trading_out = {n.name: max(n.trading_movable, ZERO) if n.can_give else ZERO for n in nodes}
    left = day_left
    moves: list[Move] = []
    notes: list[str] = []
    stuck: set[str] = set()

    def gap(name: str) -> Decimal:
        return drift(value[name], targets[name])

    for _ in range(4 * len(nodes) + 4):
        outside = [n for n in value if n not in stuck and not in_band(value[n], targets[n], band)]
        if not outside:
            break
        worst = max(outside, key=lambda n: abs(gap(n)))
        giver: str | None
        receiver: str | None
        if gap(worst) > 0:
            giver = worst
            others = [n for n in value if n != worst and n != MASTER]
            receiver = min(others, key=gap) if others else None
        else:
            receiver = worst
            givers = [n for n in value if n != worst and gap(n) > 0 and funding[n] + trading_out[n] > 0]
            giver = max(givers, key=gap) if givers else None
        if giver is None or receiver is None:
            stuck.add(worst)
            notes.append(f"{worst or 'master'}: no account to balance it against")
            continue
        amount = _equalise(value[giver], targets[giver], value[receiver], targets[receiver])
        caps = [amount, funding[giver] + trading_out[giver]]
        caps += [c for c in (max_transfer, left) if c is not None]
        amount = min(caps).quantize(CENT, rounding=ROUND_FLOOR)
        if amount < min_transfer:
            stuck.add(worst)
            why = "nothing more may leave" if funding[giver] + trading_out[giver] < min_transfer else "caps"
            notes.append(
                f"{worst or 'master'} stays out of band: {why} ({giver or 'master'} -> "
                f"{receiver or 'master'} would be {amount} {ccy})"
            )
            continue
        from_funding = min(funding[giver], amount)
        for kind, part in ((FUNDING, from_funding), (TRADING, amount - from_funding)):
            if part > 0:
                moves.append(Move(giver, kind, receiver, TRADING, part))
        funding[giver] -= from_funding
        trading_out[giver] -= amount - from_funding
        value[giver] -= amount
        value[receiver] += amount
        if left is not None:
            left -= amount
    before = {n.name: n.value for n in nodes}
    may_leave = {n.name: n.funding + max(n.trading_movable, ZERO) if n.can_give else ZERO for n in nodes}
    return Plan(ccy, band, targets, before, dict(value), tuple(moves), tuple(notes), may_leave)
