"""Diff table tests: open / close / reverse / keep / partial in net, long/short and spot modes."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from trader.diff import Holding, Leg, Mode, plan_legs


def legs(
    target: int | None,
    holding: Holding,
    desired: D | None,
    mode: Mode,
    lot: str = "1",
    min_sz: str = "1",
) -> list[tuple[str, str, str | None, D, bool | None]]:
    plan = plan_legs(target, holding, desired, mode, lot_sz=D(lot), min_sz=D(min_sz))
    return [(leg.kind, leg.side, leg.pos_side, leg.sz, leg.reduce_only) for leg in plan.legs]


FLAT = Holding()
LONG5 = Holding(long=D(5))
SHORT5 = Holding(short=D(5))


# (target, holding, desired, net legs, long_short legs)
CASES = [
    ("keep flat", None, FLAT, D(5), [], []),
    ("keep long", None, LONG5, D(9), [], []),
    ("open long", 1, FLAT, D(5), [("open", "buy", None, D(5), None)], [("open", "buy", "long", D(5), None)]),
    (
        "open short",
        -1,
        FLAT,
        D(5),
        [("open", "sell", None, D(5), None)],
        [("open", "sell", "short", D(5), None)],
    ),
    (
        "close long",
        0,
        LONG5,
        None,
        [("close", "sell", None, D(5), True)],
        [("close", "sell", "long", D(5), None)],
    ),
    (
        "close short",
        0,
        SHORT5,
        D(3),
        [("close", "buy", None, D(5), True)],
        [("close", "buy", "short", D(5), None)],
    ),
    ("flat stays flat", 0, FLAT, D(5), [], []),
    ("already long", 1, LONG5, D(5), [], []),
    (
        "reverse long to short",
        -1,
        LONG5,
        D(7),
        [("close", "sell", None, D(5), True), ("open", "sell", None, D(7), None)],
        [("close", "sell", "long", D(5), None), ("open", "sell", "short", D(7), None)],
    ),
    (
        "reverse short to long",
        1,
        SHORT5,
        D(4),
        [("close", "buy", None, D(5), True), ("open", "buy", None, D(4), None)],
        [("close", "buy", "short", D(5), None), ("open", "buy", "long", D(4), None)],
    ),
    (
        "partial fill healed (3 of 10)",
        1,
        Holding(long=D(3)),
        D(10),
        [("open", "buy", None, D(7), None)],
        [("open", "buy", "long", D(7), None)],
    ),
    ("within the 10% band", 1, Holding(long=D(95)), D(100), [], []),
    (
        "too large: reduce",
        -1,
        Holding(short=D(20)),
        D(10),
        [("reduce", "buy", None, D(10), True)],
        [("reduce", "buy", "short", D(10), None)],
    ),
]


@pytest.mark.parametrize(
    ("target", "holding", "desired", "net", "hedge"),
    [pytest.param(*c[1:], id=c[0]) for c in CASES],
)
def test_both_position_modes(
    target: int | None, holding: Holding, desired: D | None, net: list[object], hedge: list[object]
) -> None:
    assert legs(target, holding, desired, "net") == net
    assert legs(target, holding, desired, "long_short") == hedge


def test_phase_one_plans_only_closes() -> None:
    assert legs(-1, LONG5, None, "net") == [("close", "sell", None, D(5), True)]
    assert legs(1, FLAT, None, "net") == []


def test_closes_always_come_first() -> None:
    plan = plan_legs(-1, LONG5, D(7), "net", lot_sz=D(1), min_sz=D(1))
    assert [leg.kind for leg in plan.legs] == ["close", "open"]
    assert plan.closes == plan.legs[:1]
    assert plan.adjustments == plan.legs[1:]


def test_long_short_mode_can_hold_both_sides() -> None:
    both = Holding(long=D(2), short=D(3))
    assert legs(1, both, D(2), "long_short") == [("close", "buy", "short", D(3), None)]
    assert legs(0, both, None, "long_short") == [
        ("close", "sell", "long", D(2), None),
        ("close", "buy", "short", D(3), None),
    ]


def test_net_mode_cannot_be_long_and_short() -> None:
    with pytest.raises(ValueError, match="net-mode"):
        plan_legs(1, Holding(D(1), D(1)), D(1), "net", lot_sz=D(1), min_sz=D(1))


def test_open_rounded_down_to_lot_and_min_size() -> None:
    assert legs(1, Holding(long=D("0.03")), D("10.037"), "net", lot="0.01", min_sz="0.01") == [
        ("open", "buy", None, D("10.00"), None)
    ]
    plan = plan_legs(1, Holding(long=D(9)), D(10), "net", lot_sz=D(1), min_sz=D(2), band=D(0))
    assert plan.legs == ()
    assert any("minimum" in n for n in plan.notes)


def test_unsizeable_target_keeps_the_position() -> None:
    plan = plan_legs(1, LONG5, D(0), "net", lot_sz=D(1), min_sz=D(1))
    assert plan.legs == ()
    assert any("not sizeable" in n for n in plan.notes)
    # ... but an opposite position is still closed
    assert legs(1, SHORT5, D(0), "net") == [("close", "buy", None, D(5), True)]


@pytest.mark.parametrize(
    ("target", "holding", "desired", "expected"),
    [
        (1, FLAT, D("0.5"), [("open", "buy", None, D("0.5"), None)]),
        (0, Holding(long=D("0.5")), None, [("close", "sell", None, D("0.5"), None)]),
        (-1, Holding(long=D("0.5")), D(1), [("close", "sell", None, D("0.5"), None)]),  # -1 means 0
        (-1, FLAT, D(1), []),
        (1, Holding(long=D("0.4")), D("0.5"), [("open", "buy", None, D("0.1"), None)]),
    ],
)
def test_spot(target: int, holding: Holding, desired: D | None, expected: list[object]) -> None:
    assert legs(target, holding, desired, "spot", lot="0.1", min_sz="0.1") == expected


def test_spot_short_target_is_noted() -> None:
    plan = plan_legs(-1, FLAT, D(1), "spot", lot_sz=D(1), min_sz=D(1))
    assert plan.effective_target == 0
    assert any("cannot go short" in n for n in plan.notes)


def test_spot_dust_below_min_size_is_left() -> None:
    plan = plan_legs(0, Holding(long=D("0.05")), None, "spot", lot_sz=D("0.01"), min_sz=D("0.1"))
    assert plan.legs == ()
    assert any("dust" in n for n in plan.notes)


@pytest.mark.parametrize("bad", [2, -2, True])
def test_bad_target(bad: int) -> None:
    with pytest.raises(ValueError, match="target"):
        plan_legs(bad, FLAT, D(1), "net", lot_sz=D(1), min_sz=D(1))


def test_holding_helpers() -> None:
    assert Holding.from_signed(D(-3)) == Holding(short=D(3))
    assert Holding.from_signed(D(2)).direction == 1
    assert Holding(long=D(1), short=D(3)).signed == D(-2)
    assert Holding().direction == 0
    with pytest.raises(ValueError, match=">= 0"):
        Holding(long=D(-1))


def test_leg_name_is_the_clordid_leg() -> None:
    leg = Leg("open", 1, "buy", None, D(1), None)
    assert leg.name == "open"
