"""Rebalancing plan — pure ``Decimal`` arithmetic: balances and weights in, transfers out.

Each sub-account has a target ``total * weight / sum(weights)`` of the capital the treasury sees
(trading equity + funding balance of every configured sub-account, plus the master's funding
balance, which has target 0: money deposited on the master is handed out). An account is *in
band* when ``|value / target - 1| <= band``; nothing moves while every account is.

Otherwise the plan is the one with the **fewest transfers** that lands every account in its band
(:mod:`treasury.minimal`, :mod:`treasury.groups`): the accounts are split into the most groups
that can each settle among themselves, a group of ``k`` costing ``k - 1`` transfers; that is
proven minimal whenever the search finishes within its budget (it does for the account counts
the treasury is meant for, ~20; otherwise a note says so). A move is drawn from one source of
the giver when one covers it (its funding account first, then its trading account, at most what
may leave it: OKX's ``maxWd`` less the positions' reserve), else from both, and lands in the
receiver's trading account; a per-transfer cap splits it.

When the band cannot be reached by every account (what may leave, transfer-out permission, the
caps, the minimum transfer), or when that plan would need more transfers than the greedy one,
the greedy plan is used: the account furthest out of band is paired with the account furthest on
the other side, the move equalising their drifts (capped), until all are in band or stuck. It
moves what it can and notes who stays out of band; it is not always minimal (see the tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

from treasury.groups import DEFAULT_BUDGET
from treasury.minimal import allocate, band_ranges, edges, split_moves

__all__ = [
    "MASTER", "Caps", "Move", "Node", "Plan", "drift", "in_band", "plan_fewest", "plan_greedy",
    "plan_rebalance",
]  # fmt: skip

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
    budget: int = DEFAULT_BUDGET,
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
    caps = Caps(ccy, band, min_transfer, max_transfer, day_left)
    greedy = plan_greedy(nodes, targets, caps)
    fewest = plan_fewest(nodes, targets, caps, budget)
    if fewest is not None and (not greedy.balanced or len(fewest.moves) <= len(greedy.moves)):
        return fewest
    return greedy


@dataclass(frozen=True)
class Caps:
    """What limits a plan besides the accounts themselves."""

    ccy: str
    band: Decimal
    min_transfer: Decimal
    max_transfer: Decimal | None
    day_left: Decimal | None


def _leave(nodes: list[Node]) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """Per account: what may leave its funding account, and its trading account."""
    funding = {n.name: n.funding if n.can_give else ZERO for n in nodes}
    trading_out = {n.name: max(n.trading_movable, ZERO) if n.can_give else ZERO for n in nodes}
    return funding, trading_out


def plan_fewest(nodes: list[Node], targets: dict[str, Decimal], caps: Caps, budget: int) -> Plan | None:
    """The fewest-transfers plan (module doc), or None when it cannot land every account in band."""
    funding, trading_out = _leave(nodes)
    may_leave = {n.name: funding[n.name] + trading_out[n.name] for n in nodes}
    values = {n.name: n.value for n in nodes}
    notes: list[str] = []
    spare = values.get(MASTER, ZERO)
    kept = spare if spare < caps.min_transfer else ZERO  # too little to be worth a transfer
    if kept:
        notes.append(f"master keeps {kept} {caps.ccy} (below the minimum transfer)")
    moving = {n: v for n, v in values.items() if not (n == MASTER and kept)}
    ranges = band_ranges(moving, targets, may_leave, caps.band)
    grouping = None if ranges.unreachable else ranges.grouping(budget)
    if grouping is None:
        return None
    if not grouping.exhaustive:
        notes.append(f"fewest transfers not proven: the search stopped after {grouping.examined} groups")
    best: Plan | None = None
    for least in (False, True):  # evenly balanced groups first; the least volume if that needs fewer
        funding, trading_out = _leave(nodes)
        moves: list[Move] = []
        after = dict(values)
        for group in grouping.groups:
            members = [ranges.names[i] for i in group]
            changes = allocate([ranges.lo[i] for i in group], [ranges.hi[i] for i in group], least=least)
            for giver, taker, amount in edges(dict(zip(members, changes, strict=True))):
                for kind, part in split_moves(amount, funding[giver], trading_out[giver], caps.max_transfer):
                    moves.append(Move(giver, kind, taker, TRADING, part))
                    (funding if kind == FUNDING else trading_out)[giver] -= part
                after[giver] -= amount
                after[taker] += amount
        plan = Plan(caps.ccy, caps.band, targets, values, after, tuple(moves), tuple(notes), may_leave)
        if not _valid(plan, caps, kept) or (best is not None and len(best.moves) <= len(plan.moves)):
            continue
        best = plan
    return best


def _valid(plan: Plan, caps: Caps, master_keeps: Decimal) -> bool:
    volume = sum((m.amount for m in plan.moves), ZERO)
    return (
        plan.balanced
        and plan.after.get(MASTER, ZERO) == master_keeps
        and all(m.amount >= caps.min_transfer for m in plan.moves)
        and (caps.day_left is None or volume <= caps.day_left)
    )


def plan_greedy(nodes: list[Node], targets: dict[str, Decimal], caps: Caps) -> Plan:
    """The greedy plan (module doc): moves what it can, notes who stays out of band."""
    ccy, band, min_transfer, max_transfer = caps.ccy, caps.band, caps.min_transfer, caps.max_transfer
    value = {n.name: n.value for n in nodes}
    funding, trading_out = _leave(nodes)
    left = caps.day_left
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
        limits = [amount, funding[giver] + trading_out[giver]]
        limits += [c for c in (max_transfer, left) if c is not None]
        amount = min(limits).quantize(CENT, rounding=ROUND_FLOOR)
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
