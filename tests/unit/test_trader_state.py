"""build_state (pure): OKX positions and balance -> holdings per instrument, equity."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

from exchange.records import Balance, BalanceDetail, Instrument, Position
from trader.diff import Holding
from trader.state import build_state

NOW = datetime(2025, 1, 6, tzinfo=UTC)


def inst(inst_id: str) -> Instrument:
    swap = inst_id.endswith("-SWAP")
    base = inst_id.split("-")[0]
    if swap:
        return Instrument(
            inst_id, "SWAP", "", "", "USDT", D("0.01"), D(1), base, "linear", D("0.01"), D("0.01"), D("0.1"),
            D(100), "live",
        )  # fmt: skip
    return Instrument(
        inst_id, "SPOT", base, "USDT", "", None, None, "", "", D("0.01"), D("0.01"), D("0.1"), None, "live"
    )


def pos(inst_id: str, side: str, qty: str, mgn: str = "cross", avg: str = "100") -> Position:
    return Position(
        inst_id,
        "SWAP",
        mgn,
        side,
        D(qty),
        D(qty),
        D(avg),
        D(avg),
        D(0),
        D(3),
        None,
        "USDT",
        NOW,  # type: ignore[arg-type]
    )


def balance(usdt: str, **coins: str) -> Balance:
    details = [BalanceDetail("USDT", D(usdt), D(usdt), None, None, None, None, None)]
    details += [BalanceDetail(c, D(v), D(v), None, None, None, None, None) for c, v in coins.items()]
    return Balance(D(usdt), None, tuple(details), NOW)


INSTS = {i: inst(i) for i in ("BTC-USDT-SWAP", "ETH-USDT-SWAP", "SOL-USDT")}


def test_net_mode_positions_and_spot_balance() -> None:
    state = build_state(
        [pos("BTC-USDT-SWAP", "net", "3", avg="95000"), pos("ETH-USDT-SWAP", "net", "-2")],
        balance("1000", SOL="4.5"),
        INSTS,
        "cross",
        "USDT",
    )
    assert state.holding("BTC-USDT-SWAP") == Holding(long=D(3))
    assert state.holding("ETH-USDT-SWAP") == Holding(short=D(2))
    assert state.holding("SOL-USDT") == Holding(long=D("4.5"))
    assert state.entries["BTC-USDT-SWAP"] == D(95000)
    assert state.holding("DOGE-USDT-SWAP") == Holding()
    # equity: USDT plus spot holdings valued at the signal price
    assert state.equity({"SOL-USDT": D(200)}, INSTS) == D(1900)
    assert state.equity({}, INSTS) == D(1000)


def test_long_short_mode_keeps_both_sides() -> None:
    state = build_state(
        [pos("BTC-USDT-SWAP", "long", "2", avg="1"), pos("BTC-USDT-SWAP", "short", "5", avg="2")],
        balance("10"),
        INSTS,
        "cross",
        "USDT",
    )
    assert state.holding("BTC-USDT-SWAP") == Holding(long=D(2), short=D(5))
    assert state.holding("BTC-USDT-SWAP").direction == -1
    assert state.entries["BTC-USDT-SWAP"] == D(2)  # the entry of the net (short) side


def test_other_margin_modes_and_instruments_are_foreign() -> None:
    state = build_state(
        [
            pos("BTC-USDT-SWAP", "net", "1", mgn="isolated"),
            pos("XRP-USDT-SWAP", "net", "7"),
            pos("ETH-USDT-SWAP", "net", "0"),
        ],
        balance("10"),
        INSTS,
        "cross",
        "USDT",
    )
    assert state.holding("BTC-USDT-SWAP") == Holding()
    assert [(p.inst_id, p.mgn_mode) for p in state.foreign] == [
        ("BTC-USDT-SWAP", "isolated"),
        ("XRP-USDT-SWAP", "cross"),
    ]
    assert state.positions == ()
