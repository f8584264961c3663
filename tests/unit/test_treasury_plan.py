"""The rebalancing planner (pure): targets from weights, the band, fewest moves, caps, reserves."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from treasury.plan import MASTER, Move, Node, drift, in_band, plan_rebalance
from treasury.snapshot import client_ids, movable, plan_id


def node(
    name: str,
    value: str,
    weight: str = "1",
    funding: str = "0",
    movable_: str | None = None,
    can_give: bool = True,
) -> Node:
    trading = D(value) - D(funding)
    return Node(
        name, D(weight), trading, D(funding), D(movable_) if movable_ is not None else trading, can_give
    )


def plan(nodes: list[Node], **kw: object) -> object:
    args = {"ccy": "USDT", "band": D("0.1"), "min_transfer": D(1), **kw}
    return plan_rebalance(nodes, **args)  # type: ignore[arg-type]


def test_all_in_band_means_no_move() -> None:
    p = plan([node("a", "10500"), node("b", "9600"), node("c", "9900")])
    assert p.moves == ()
    assert p.balanced


def test_one_outlier_costs_one_transfer() -> None:
    p = plan([node("a", "13000"), node("b", "10000"), node("c", "10000"), node("d", "10000")])
    assert p.moves == (Move("a", "18", "b", "18", D("1500.00")),)
    assert p.balanced
    assert sum(p.after.values()) == D(43000)


def test_weights_set_the_targets() -> None:
    p = plan([node("a", "10000", weight="3"), node("b", "10000", weight="1")])
    assert p.targets == {"a": D(15000), "b": D(5000)}
    assert p.balanced
    assert [(m.src, m.dst) for m in p.moves] == [("b", "a")]


def test_one_source_per_move_when_one_covers_it_funding_first() -> None:
    # 1500 leaves a: its funding (500) cannot cover it, its trading account can: one transfer
    p = plan([node("a", "13000", funding="500"), node("b", "10000"), node("c", "10000")])
    assert [(m.src_kind, m.amount) for m in p.moves] == [("18", D("1500.00"))]
    rich = plan([node("a", "13000", funding="2000"), node("b", "10000"), node("c", "10000")])
    assert [(m.src_kind, m.amount) for m in rich.moves] == [("6", D("1500.00"))]
    # neither covers it alone: funding first, then trading (two transfers)
    split = plan([node("a", "13000", funding="500", movable_="500"), node("b", "10000"), node("c", "10000")])
    assert [m.src_kind for m in split.moves] == ["6", "18"]
    assert split.moves[0].amount == 500
    assert split.balanced


def test_never_more_than_may_leave_and_caps_split() -> None:
    limited = plan([node("a", "20000", movable_="800"), node("b", "10000")])
    assert sum(m.amount for m in limited.moves) == D(800)
    assert not limited.balanced
    assert any("a stays out of band" in n for n in limited.notes)
    capped = plan([node("a", "13000"), node("b", "10000"), node("c", "10000")], max_transfer=D(600))
    assert all(m.amount <= 600 for m in capped.moves)
    day = plan([node("a", "13000"), node("b", "10000"), node("c", "10000")], day_left=D(100))
    assert sum(m.amount for m in day.moves) == D(100)


def test_an_account_without_transfer_out_permission_never_gives() -> None:
    p = plan([node("a", "13000", can_give=False), node("b", "10000"), node("c", "10000")])
    assert p.moves == ()
    assert p.notes


def test_master_funding_is_handed_out() -> None:
    p = plan([node("a", "9000"), node("b", "10000"), Node(MASTER, D(0), D(0), D(1000), D(0))])
    assert all(m.src == MASTER and m.src_kind == "6" for m in p.moves)
    assert p.after[MASTER] == 0
    assert p.balanced


@pytest.mark.parametrize("band", [D(0), D(1), D("-0.1")])
def test_band_must_be_a_fraction(band: D) -> None:
    with pytest.raises(ValueError, match="band"):
        plan([node("a", "1")], band=band)


def test_drift_and_band() -> None:
    assert drift(D(110), D(100)) == D("0.1")
    assert in_band(D(110), D(100), D("0.1"))
    assert not in_band(D("110.01"), D(100), D("0.1"))


def test_reserve_and_client_ids() -> None:
    assert movable(D(5000), D(10000), D(4000), D("1.5")) == D(4000)
    assert movable(D(5000), D(10000), D(8000), D("1.5")) == D(0)
    from datetime import UTC, datetime

    moves = (Move("a", "18", "b", "18", D(1)), Move("a", "6", "c", "18", D(2)))
    now = datetime(2026, 1, 2, 0, 5, tzinfo=UTC)
    pid = plan_id(now, moves)
    assert pid == plan_id(now, moves)
    ids = [c for c, _ in client_ids(pid, moves)]
    assert all(len(c) <= 32 and c.isalnum() for c in ids)
    assert len(set(ids)) == 2


def test_next_run_is_the_next_schedule_time_utc() -> None:
    from datetime import UTC, datetime

    from treasury.service import next_run

    assert next_run(datetime(2026, 1, 2, 0, 4, tzinfo=UTC), "00:05") == datetime(2026, 1, 2, 0, 5, tzinfo=UTC)
    assert next_run(datetime(2026, 1, 2, 0, 5, tzinfo=UTC), "00:05") == datetime(2026, 1, 3, 0, 5, tzinfo=UTC)
