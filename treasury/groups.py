"""Fewest transfers as a partition problem — pure integers, no money semantics.

Each account ``i`` may change by any net amount in ``[lo[i], hi[i]]`` (integer cents). An account
whose range excludes 0 is *required* (it must move); one whose range includes 0 is *optional* (it
may stay put, or help). Money only moves inside *groups* whose ranges can sum to zero, i.e.
``sum(lo) <= 0 <= sum(hi)``; a group of ``k`` accounts settles with ``k - 1`` transfers (givers
pay takers in turn), and no plan can do better: every transfer joins two accounts, and the
accounts a plan touches split into connected components, each of which must itself sum to zero.
So, with ``n`` accounts, the fewest transfers is ``n`` minus the largest number of disjoint
feasible groups covering every account (an optional account alone is a group of one, no transfer).

:func:`fewest_groups` finds that partition by depth-first search: the lowest required account
left always starts the next group; groups are tried smallest first (then by the room their
members offer), a branch is cut when what is left cannot sum to zero, when the group splits into
two feasible groups (splitting is strictly better), when a state was reached before with as many
groups, or when even an upper bound on the groups left (see ``score_bound``: sides and pair
counting) cannot beat the best found. Up to ``budget``
candidate groups it is exhaustive, i.e. the answer is proven minimal; past it, the best partition
found so far is returned with ``exhaustive=False``.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

__all__ = ["DEFAULT_BUDGET", "Grouping", "fewest_groups"]

DEFAULT_BUDGET = 500_000  # candidate groups examined before the search gives up proving (~4 s)


@dataclass(frozen=True)
class Grouping:
    groups: tuple[tuple[int, ...], ...]  # groups with a required account (optional singles omitted)
    transfers: int  # sum(len(g) - 1)
    exhaustive: bool  # True: no partition needs fewer transfers
    examined: int


def fewest_groups(lo: list[int], hi: list[int], budget: int = DEFAULT_BUDGET) -> Grouping | None:
    """The partition into feasible groups with the fewest transfers, or None if even all accounts
    together cannot sum to zero (``sum(lo) > 0`` or ``sum(hi) < 0``)."""
    n = len(lo)
    if len(hi) != n or any(a > b for a, b in zip(lo, hi, strict=True)):
        raise ValueError("every range needs lo <= hi")
    full = (1 << n) - 1
    if not _fits(full, lo, hi):
        return None
    givers = sum(1 << i for i in range(n) if hi[i] < 0)
    takers = sum(1 << i for i in range(n) if lo[i] > 0)
    req_mask = givers | takers
    best: list[tuple[int, tuple[int, ...]]] = [(-1, ())]  # (score, group masks)
    seen: dict[int, int] = {}
    examined = 0
    exhausted = False

    partners = [
        sum(1 << j for j in range(n) if j != i and lo[i] + lo[j] <= 0 <= hi[i] + hi[j]) for i in range(n)
    ]

    def score_bound(mask: int) -> int:
        """At most this many groups partition ``mask``: a group with a required account holds a
        required giver and taker, or an optional account; and with ``s`` optional accounts alone,
        ``g2`` pairs (each with a required account that has a partner left) and ``g3`` larger
        groups, ``s + 2 g2 + 3 g3 <= size``, so the groups number at most ``(size + 2 s + g2) / 3``."""
        optional = (mask & ~req_mask).bit_count()
        sides = optional + min((mask & givers).bit_count(), (mask & takers).bit_count())
        paired = sum(1 for i in range(n) if (mask & req_mask) >> i & 1 and partners[i] & mask)
        return min(sides, (mask.bit_count() + 2 * optional + paired) // 3)

    def dfs(mask: int, groups: int, chosen: tuple[int, ...]) -> None:
        nonlocal examined, exhausted
        req = mask & req_mask
        if req == 0:
            score = groups + mask.bit_count()
            if score > best[0][0]:
                best[0] = (score, chosen)
            return
        if groups + score_bound(mask) <= best[0][0] or seen.get(mask, -1) >= groups:
            return
        seen[mask] = groups
        first = (req & -req).bit_length() - 1
        others = _ordered(first, mask, lo, hi)
        for size in range(1, len(others) + 1):
            for extra in combinations(others, size):
                if examined >= budget:
                    exhausted = True
                    return
                examined += 1
                group = (1 << first) | sum(1 << j for j in extra)
                rest = mask & ~group
                if not _fits(group, lo, hi) or not _fits(rest, lo, hi):
                    continue
                if _splits(group, extra, lo, hi):
                    continue  # two feasible groups instead of this one: strictly better
                dfs(rest, groups + 1, (*chosen, group))
                if exhausted or groups + score_bound(mask) <= best[0][0]:
                    return  # out of budget, or nothing left here can beat the best

    dfs(full, 0, ())
    score, masks = best[0]
    groups = tuple(tuple(i for i in range(n) if (m >> i) & 1) for m in masks)
    return Grouping(groups, n - score, not exhausted, examined)


def _fits(mask: int, lo: list[int], hi: list[int]) -> bool:
    s_lo = s_hi = 0
    i = 0
    while mask:
        if mask & 1:
            s_lo += lo[i]
            s_hi += hi[i]
        mask >>= 1
        i += 1
    return s_lo <= 0 <= s_hi


def _splits(group: int, extra: tuple[int, ...], lo: list[int], hi: list[int]) -> bool:
    """Whether ``group`` falls into two feasible parts (the part without ``first`` is a non-empty
    subset of ``extra``); checked fully for groups of up to 9, else only single optional members."""
    if len(extra) <= 8:
        parts = (sum(1 << j for j in sub) for k in range(1, len(extra)) for sub in combinations(extra, k))
    else:
        parts = (1 << j for j in extra if lo[j] <= 0 <= hi[j])
    return any(_fits(part, lo, hi) and _fits(group & ~part, lo, hi) for part in parts)


def _ordered(first: int, mask: int, lo: list[int], hi: list[int]) -> list[int]:
    """The other accounts in ``mask``, most room on the side ``first`` needs first."""
    others = [j for j in range(len(lo)) if (mask >> j) & 1 and j != first]
    if hi[first] < 0:  # it must give: takers and room to take first
        return sorted(others, key=lambda j: -hi[j])
    return sorted(others, key=lambda j: lo[j])  # it must take: givers first
