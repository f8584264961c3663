"""Rendezvous assignment of instruments to collectors: total, stable, minimal movement."""

from __future__ import annotations

import pytest

from collector.plan import CollectPlan
from collector.shard import assign, restrict
from core.intervals import parse_interval

INSTS = [f"C{i}-USDT-SWAP" for i in range(400)]


def test_every_instrument_has_exactly_one_owner() -> None:
    shares = assign(INSTS, ["a:1", "b:2"])
    owned = [i for share in shares.values() for i in share]
    assert sorted(owned) == sorted(INSTS)
    assert 150 < len(shares["a:1"]) < 250  # roughly even


def test_same_members_same_assignment_in_any_order() -> None:
    assert assign(INSTS, ["a:1", "b:2", "c:3"]) == assign(list(reversed(INSTS)), ["c:3", "a:1", "b:2"])


def test_a_leaving_member_moves_only_its_own_share() -> None:
    before = assign(INSTS, ["a:1", "b:2", "c:3"])
    after = assign(INSTS, ["a:1", "c:3"])
    assert set(before["a:1"]) <= set(after["a:1"])
    assert set(before["c:3"]) <= set(after["c:3"])
    assert set(after["a:1"]) | set(after["c:3"]) == set(INSTS)


def test_no_member_is_an_error() -> None:
    with pytest.raises(ValueError, match="no live collector"):
        assign(INSTS, [])


def test_restrict_keeps_every_interval() -> None:
    m1, m5 = parse_interval("1m"), parse_interval("5m")
    plan = CollectPlan("UTC", {m1: ("A-USDT", "B-USDT", "C-USDT"), m5: ("A-USDT", "C-USDT")})
    mine = restrict(plan, ["C-USDT"])
    assert mine.instruments == {m1: ("C-USDT",), m5: ("C-USDT",)}
    assert restrict(plan, []).instruments == {m1: (), m5: ()}
