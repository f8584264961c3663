"""The gap ledger file (issue 12, item 8): entries survive a restart, a refill replaces an entry,
replacement is recorded, old entries are dropped, a corrupt file is a named DataError."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from collector.gapledger import GapEntry, GapLedger
from collector.holes import flat_bar
from core.errors import DataError

NOW = datetime(2024, 3, 1, tzinfo=UTC)


def entry(minutes_ago: int, inst: str = "ETH-USDT-SWAP", price: str = "3300.1") -> GapEntry:
    return GapEntry(inst, "1m", NOW - timedelta(minutes=minutes_ago), Decimal(price), NOW)


def test_entries_round_trip_and_are_replaced_once(tmp_path: Path) -> None:
    ledger = GapLedger(tmp_path / "gaps.json")
    assert ledger.entries() == []
    ledger.record([entry(5), entry(3, "BTC-USDT-SWAP")], NOW)
    ledger.record([entry(5, price="3300.2")], NOW)  # the same bar filled again

    again = GapLedger(tmp_path / "gaps.json")  # a restarted collector
    assert {(e.inst_id, e.price) for e in again.entries()} == {
        ("BTC-USDT-SWAP", Decimal("3300.1")), ("ETH-USDT-SWAP", Decimal("3300.2")),
    }  # fmt: skip
    again.mark_replaced(entry(5), NOW + timedelta(minutes=1))
    assert [e.inst_id for e in again.open_entries()] == ["BTC-USDT-SWAP"]
    replaced = [e for e in again.entries() if not e.open]
    assert replaced[0].replaced_at == NOW + timedelta(minutes=1)


def test_old_entries_are_dropped(tmp_path: Path) -> None:
    ledger = GapLedger(tmp_path / "gaps.json", keep=timedelta(days=1))
    ledger.record([entry(60 * 30), entry(1)], NOW)
    assert [e.ts for e in ledger.entries()] == [NOW - timedelta(minutes=1)]


@pytest.mark.parametrize("text", ["{not json", '{"a": 1}', '[{"inst_id": "X"}]'])
def test_a_corrupt_ledger_is_a_named_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "gaps.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=r"gaps\.json|gap ledger entry"):
        GapLedger(path).entries()


def test_a_filled_bar_is_okx_trade_less_shape() -> None:
    bar = flat_bar(NOW, Decimal("8.282"))
    assert (bar.open, bar.high, bar.low, bar.close) == (Decimal("8.282"),) * 4
    assert bar.volume == bar.volume_ccy == bar.volume_quote == 0
