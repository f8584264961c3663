"""The fewest-transfers planner: proven against brute force, and fewer transfers than greedy."""

from __future__ import annotations

import random
from decimal import Decimal as D

import pytest

from treasury.groups import fewest_groups
from treasury.minimal import allocate, edges, split_moves
from treasury.plan import MASTER, Caps, Move, Node, plan_fewest, plan_greedy, plan_rebalance


def node(name: str, value: int, weight: int = 1) -> Node:
    return Node(name, D(weight), D(value), D(0), D(value))


def caps(band: str = "0.05", **kw: D | None) -> Caps:
    return Caps("USDT", D(band), D(1), kw.get("max_transfer"), kw.get("day_left"))


def partitions(items: list[int]) -> list[list[list[int]]]:
    if not items:
        return [[]]
    first, rest = items[0], items[1:]
    out = []
    for part in partitions(rest):
        out.append([[first], *part])
        for i in range(len(part)):
            out.append([*part[:i], [first, *part[i]], *part[i + 1 :]])
    return out


def brute_force(lo: list[int], hi: list[int]) -> int | None:
    """Fewest transfers over every set partition (n - the most groups that each fit)."""

    def fit(group: list[int]) -> bool:
        return sum(lo[i] for i in group) <= 0 <= sum(hi[i] for i in group)

    fits = [p for p in partitions(list(range(len(lo)))) if all(fit(g) for g in p)]
    return min(len(lo) - len(p) for p in fits) if fits else None


@pytest.mark.parametrize("seed", range(60))
def test_the_search_matches_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(2, 7)
    centre = [rng.randint(-50, 50) for _ in range(n)]
    slack = [rng.choice([0, 0, 3, 10, 60]) for _ in range(n)]
    lo = [c - s for c, s in zip(centre, slack, strict=True)]
    hi = [c + s for c, s in zip(centre, slack, strict=True)]
    found = fewest_groups(lo, hi)
    expected = brute_force(lo, hi)
    if expected is None:
        assert found is None
        return
    assert found is not None
    assert found.exhaustive
    assert found.transfers == expected
    for g in found.groups:  # every group it returns can settle on its own
        assert sum(lo[i] for i in g) <= 0 <= sum(hi[i] for i in g)


@pytest.mark.parametrize(
    ("lo", "hi", "transfers"),
    [
        ([-5, -5, 5, 5], [-5, -5, 5, 5], 2),  # two pairs, not a chain of three
        ([-4, -3, -3, 6, 4], [-4, -3, -3, 6, 4], 3),  # {-4, 4} and {-3, -3, 6}
        ([-10, 3, 3], [-6, 5, 5], 2),
        ([-10, -1, 2], [-8, 100, 100], 1),  # the in-band account (-1..100) is not needed
        ([1, 1], [2, 2], None),  # nobody can give
    ],
)
def test_groups_table(lo: list[int], hi: list[int], transfers: int | None) -> None:
    found = fewest_groups(lo, hi)
    assert (found.transfers if found else None) == transfers


def test_greedy_needs_more_transfers_than_the_optimum() -> None:
    values = [8000, 14000, 7000, 10000, 14000, 8000]  # target 10166.67 each, band 5%
    nodes = [node(chr(ord("a") + i), v) for i, v in enumerate(values)]
    targets = {n.name: D(sum(values)) / 6 for n in nodes}
    greedy = plan_greedy(nodes, targets, caps())
    fewest = plan_fewest(nodes, targets, caps(), 200_000)
    assert greedy.balanced
    assert len(greedy.moves) == 5
    assert fewest is not None
    assert fewest.balanced
    assert len(fewest.moves) == 3  # d is in band; the other five settle in two groups: 5 - 2
    assert plan_rebalance(nodes, ccy="USDT", band=D("0.05"), min_transfer=D(1)).moves == fewest.moves
    assert sum(fewest.after.values()) == sum(values)
    assert fewest.after["d"] == 10000  # in band already: untouched


def test_never_more_transfers_than_greedy() -> None:
    rng = random.Random(5)
    for _ in range(150):
        values = [rng.choice(range(6000, 14001, 1000)) for _ in range(rng.randint(2, 7))]
        nodes = [node(f"s{i}", v) for i, v in enumerate(values)]
        p = plan_rebalance(nodes, ccy="USDT", band=D("0.05"), min_transfer=D(1))
        targets = {n.name: D(sum(values)) / len(values) for n in nodes}
        assert p.balanced
        assert len(p.moves) <= len(plan_greedy(nodes, targets, caps()).moves)


def test_twenty_accounts_are_proven_minimal_quickly() -> None:
    rng = random.Random(20)
    values = [round(10000 * (1 + rng.uniform(-0.18, 0.18))) for _ in range(20)]
    nodes = [node(f"s{i:02d}", v) for i, v in enumerate(values)]
    p = plan_rebalance(nodes, ccy="USDT", band=D("0.1"), min_transfer=D(1))
    assert p.balanced
    assert not [n for n in p.notes if "not proven" in n]


def test_master_money_is_handed_out_and_a_crumb_stays() -> None:
    nodes = [node("a", 9000), node("b", 10500), Node(MASTER, D(0), D(0), D(1500), D(0))]
    p = plan_rebalance(nodes, ccy="USDT", band=D("0.05"), min_transfer=D(1))
    assert p.balanced
    assert p.after[MASTER] == 0
    assert [(m.src, m.src_kind) for m in p.moves] == [(MASTER, "6")]
    crumb = plan_rebalance(
        [node("a", 10000), node("b", 10000), Node(MASTER, D(0), D(0), D("0.5"), D(0))],
        ccy="USDT", band=D("0.05"), min_transfer=D(1),
    )  # fmt: skip
    assert crumb.moves == ()


def test_a_per_transfer_cap_prefers_the_least_volume() -> None:
    nodes = [node("a", 13000), node("b", 10000), node("c", 10000)]  # target 11000, band 10%
    p = plan_rebalance(nodes, ccy="USDT", band=D("0.1"), min_transfer=D(1), max_transfer=D(600))
    assert p.balanced
    assert all(m.amount <= 600 for m in p.moves)
    assert len(p.moves) == 2  # a only needs to shed 900: 600 + 300, not 1500 in three


def test_allocate_edges_and_split() -> None:
    assert allocate([D(-30), D(10)], [D(-10), D(30)], least=False) == [D(-20), D(20)]
    assert allocate([D(-30), D(10)], [D(-10), D(30)], least=True) == [D(-10), D(10)]
    assert edges({"a": D(-6), "b": D(-4), "c": D(5), "d": D(5)}) == [
        ("a", "c", D(5)), ("a", "d", D(1)), ("b", "d", D(4)),
    ]  # fmt: skip
    assert split_moves(D(10), D(20), D(0), None) == [("6", D(10))]
    assert split_moves(D(10), D(4), D(8), None) == [("6", D(4)), ("18", D(6))]
    assert split_moves(D(10), D(4), D(20), D(4)) == [("18", D(4)), ("18", D(4)), ("18", D(2))]
    assert Move("a", "6", "b", "18", D(1)).amount == 1


@pytest.mark.parametrize("seed", range(8))
def test_every_plan_keeps_every_limit(seed: int) -> None:
    """Random fleets with funding, reserves, permissions and caps: whichever planner answers,
    no source gives more than may leave it, caps and the minimum hold, the master only gives."""
    rng = random.Random(seed)
    for _ in range(25):
        nodes = []
        for i in range(rng.randint(2, 8)):
            value = D(rng.randint(2000, 20000))
            funding = D(rng.choice([0, 0, 300, 2500]))
            movable_ = D(rng.choice([0, 500, 5000, 100000]))
            nodes.append(Node(f"s{i}", D(rng.randint(1, 3)), value - funding, funding,
                              min(movable_, value - funding), rng.random() > 0.1))  # fmt: skip
        if rng.random() < 0.3:
            nodes.append(Node(MASTER, D(0), D(0), D(rng.choice([1, 800, 4000])), D(0)))
        max_transfer = rng.choice([None, D(700), D(3000)])
        day_left = rng.choice([None, D(1500), D(20000)])
        p = plan_rebalance(nodes, ccy="USDT", band=D(rng.choice(["0.05", "0.1", "0.3"])), min_transfer=D(5),
                           max_transfer=max_transfer, day_left=day_left)  # fmt: skip
        by = {n.name: n for n in nodes}
        for kind, room in (("6", lambda n: n.funding), ("18", lambda n: n.trading_movable)):
            for name, n in by.items():
                out = sum((m.amount for m in p.moves if m.src == name and m.src_kind == kind), D(0))
                assert out == 0 or (n.can_give and out <= room(n)), (name, kind, out)
        assert all(m.amount >= 5 and m.dst != MASTER and m.dst_kind == "18" for m in p.moves)
        assert max_transfer is None or all(m.amount <= max_transfer for m in p.moves)
        assert day_left is None or sum((m.amount for m in p.moves), D(0)) <= day_left
        assert sum(p.after.values()) == sum(p.before.values())
