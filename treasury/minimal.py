"""The fewest-transfers plan: band ranges in, grouped moves out (pure ``Decimal``).

Each account gets the range of net change that lands it inside its band and that it can afford:
``[max(target * (1 - band) - value, -may_leave), target * (1 + band) - value]`` (``may_leave``:
funding plus the movable part of trading, 0 without transfer-out permission); the master, whose
target is 0, must hand out exactly what it holds. :func:`treasury.groups.fewest_groups` partitions
the accounts into the most groups that can each sum to zero, which is the fewest transfers.

Inside a group the amounts are chosen at one relative position ``lam`` of every member's range:
with nothing clipped that is one common drift, i.e. the group ends evenly balanced (``balanced``);
``least`` instead moves each required account just inside its band and spreads the rest, which is
the smallest volume (what a per-transfer or daily cap wants). Givers then pay takers in turn
(``k - 1`` edges for ``k`` members). An edge is drawn from the giver's funding account if that
covers it, else from its trading account if that does, else from both (two transfers), and a
per-transfer cap splits it further. The caller checks the result (every account in band, every
amount at least the minimum, the daily cap) and falls back to the greedy planner otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

from treasury.groups import Grouping, fewest_groups

__all__ = ["Ranges", "allocate", "band_ranges", "edges", "split_moves"]

ZERO = Decimal(0)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Ranges:
    names: list[str]
    lo: list[Decimal]
    hi: list[Decimal]
    unreachable: list[str]  # accounts that cannot reach the band (nothing may leave, ...)

    def grouping(self, budget: int) -> Grouping | None:
        cents = [int((x / CENT).to_integral_value(ROUND_CEILING)) for x in self.lo]
        tops = [int((x / CENT).to_integral_value(ROUND_FLOOR)) for x in self.hi]
        if any(a > b for a, b in zip(cents, tops, strict=True)):
            return None
        return fewest_groups(cents, tops, budget)


def band_ranges(
    values: dict[str, Decimal], targets: dict[str, Decimal], may_leave: dict[str, Decimal], band: Decimal
) -> Ranges:
    names, lo, hi, unreachable = [], [], [], []
    for name, value in values.items():
        target = targets[name]
        if target == 0:  # the master: hand out everything it holds
            low = high = -min(value, may_leave[name])
            if low != -value:
                unreachable.append(name)
        else:
            low = max(target * (1 - band) - value, -may_leave[name])
            high = target * (1 + band) - value
            if low > high:
                unreachable.append(name)
        names.append(name)
        lo.append(low)
        hi.append(high)
    return Ranges(names, lo, hi, unreachable)


def allocate(lo: list[Decimal], hi: list[Decimal], *, least: bool) -> list[Decimal]:
    """Net changes in cents, one per member, inside the ranges and summing to zero."""
    base = [min(max(ZERO, a), b) for a, b in zip(lo, hi, strict=True)] if least else list(lo)
    total = sum(base, ZERO)
    room = [(b - x) if total <= 0 else (x - a) for a, b, x in zip(lo, hi, base, strict=True)]
    spare = sum(room, ZERO)
    lam = (-total / spare if total <= 0 else total / spare) if spare else ZERO
    raw = [x + lam * r if total <= 0 else x - lam * r for x, r in zip(base, room, strict=True)]
    out = [x.quantize(CENT, rounding=ROUND_HALF_EVEN) for x in raw]
    residual = -sum(out, ZERO)
    for i in sorted(range(len(out)), key=lambda i: -(hi[i] - lo[i])):
        if residual == 0:
            break
        if residual < 0:
            step = max(residual, -max(ZERO, (out[i] - lo[i]).quantize(CENT, rounding=ROUND_FLOOR)))
        else:
            step = min(residual, max(ZERO, (hi[i] - out[i]).quantize(CENT, rounding=ROUND_FLOOR)))
        out[i] += step
        residual -= step
    return out


def edges(changes: dict[str, Decimal]) -> list[tuple[str, str, Decimal]]:
    """Givers pay takers in turn, largest first: at most ``len(changes) - 1`` edges."""
    givers = sorted(((n, -x) for n, x in changes.items() if x < 0), key=lambda t: -t[1])
    takers = sorted(((n, x) for n, x in changes.items() if x > 0), key=lambda t: -t[1])
    out: list[tuple[str, str, Decimal]] = []
    gi = ti = 0
    g_left = givers[0][1] if givers else ZERO
    t_left = takers[0][1] if takers else ZERO
    while gi < len(givers) and ti < len(takers):
        amount = min(g_left, t_left)
        out.append((givers[gi][0], takers[ti][0], amount))
        g_left -= amount
        t_left -= amount
        if g_left == 0:
            gi += 1
            g_left = givers[gi][1] if gi < len(givers) else ZERO
        if t_left == 0:
            ti += 1
            t_left = takers[ti][1] if ti < len(takers) else ZERO
    return out


def split_moves(
    amount: Decimal, funding: Decimal, trading: Decimal, max_transfer: Decimal | None
) -> list[tuple[str, Decimal]]:
    """(source kind, amount) parts of one edge: one source when one covers it, funding first,
    then chunks of at most ``max_transfer``."""
    if amount <= funding:
        parts = [("6", amount)]
    elif amount <= trading:
        parts = [("18", amount)]
    else:
        parts = [("6", funding), ("18", amount - funding)] if funding > 0 else [("18", amount)]
    if max_transfer is None:
        return parts
    out: list[tuple[str, Decimal]] = []
    for kind, part in parts:
        while part > max_transfer:
            out.append((kind, max_transfer))
            part -= max_transfer
        if part > 0:
            out.append((kind, part))
    return out
