"""clOrdId: deterministic, 32 chars of [a-z0-9], unique per (account, instrument, bar, leg, attempt)."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from trader.clordid import MAX_ATTEMPT, is_ours, make_cl_ord_id, parse

BAR = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def test_deterministic_and_pinned() -> None:
    a = make_cl_ord_id("sub1", "BTC-USDT-SWAP", BAR, "open", 0)
    b = make_cl_ord_id("sub1", "BTC-USDT-SWAP", BAR, "open", 0)
    assert a == b
    # pinned: a change of scheme must be deliberate (running traders look old ids up)
    assert a == "oxo00cls443fr55v84oqrby5sqdc41gl"
    assert make_cl_ord_id("sub1", "BTC-USDT-SWAP", BAR, "close", 11) == "oxc0bcls443fr55v84oqrby5sqdc41gl"


def test_same_instant_in_another_timezone_is_the_same_bar() -> None:
    shanghai = BAR.astimezone(timezone(timedelta(hours=8)))
    utc = make_cl_ord_id("a", "X-USDT", BAR, "close", 3)
    assert make_cl_ord_id("a", "X-USDT", shanghai, "close", 3) == utc


@pytest.mark.parametrize("leg", ["close", "reduce", "open"])
@pytest.mark.parametrize("attempt", [0, 1, 35, 36, MAX_ATTEMPT])
def test_length_and_charset(leg: str, attempt: int) -> None:
    cid = make_cl_ord_id("a-very_long-account-name-of-32ch", "BTC-USDT-250627", BAR, leg, attempt)
    assert len(cid) == 32
    assert re.fullmatch(r"[A-Za-z0-9]{1,32}", cid)
    assert is_ours(cid)
    parts = parse(cid)
    assert (parts.leg, parts.attempt) == (leg, attempt)


def test_unique_across_every_input() -> None:
    accounts = ["sub1", "sub2", "Sub1"]
    insts = ["BTC-USDT-SWAP", "ETH-USDT-SWAP", "BTC-USDT"]
    bars = [BAR + timedelta(minutes=m) for m in range(0, 300, 1)]
    ids = {
        make_cl_ord_id(a, i, b, leg, n)
        for a, i, b, leg, n in itertools.product(accounts, insts, bars[:40], ["close", "open"], [0, 1])
    }
    assert len(ids) == 3 * 3 * 40 * 2 * 2
    bar_ids = {make_cl_ord_id("sub1", "BTC-USDT-SWAP", b, "open", 0) for b in bars}
    assert len(bar_ids) == len(bars)


def test_bar_hash_is_shared_by_legs_of_one_bar() -> None:
    close = parse(make_cl_ord_id("a", "X-USDT-SWAP", BAR, "close", 0))
    opened = parse(make_cl_ord_id("a", "X-USDT-SWAP", BAR, "open", 4))
    other = parse(make_cl_ord_id("a", "X-USDT-SWAP", BAR + timedelta(hours=1), "open", 4))
    assert close.bar_key == opened.bar_key != other.bar_key


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("a", "X", BAR, "hold", 0), "leg"),
        (("a", "X", BAR, "open", -1), "attempt"),
        (("a", "X", BAR, "open", MAX_ATTEMPT + 1), "attempt"),
        (("", "X", BAR, "open", 0), "empty"),
    ],
)
def test_bad_inputs(args: tuple[str, str, datetime, str, int], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_cl_ord_id(*args)


def test_naive_bar_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        make_cl_ord_id("a", "X", datetime(2024, 1, 1), "open", 0)  # noqa: DTZ001


@pytest.mark.parametrize("foreign", ["", "abc", "e847386590ce4dBC1d5dbd7ed6b0d2f4", "ox" + "o" * 31])
def test_foreign_ids(foreign: str) -> None:
    assert not is_ours(foreign)
    with pytest.raises(ValueError, match="not an okxfleet"):
        parse(foreign)
