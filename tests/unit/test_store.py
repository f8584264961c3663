"""The candle CSV store: appends (gaps, idempotent re-appends), torn rows, tails read backwards,
atomic rewrites and malformed rows (always :class:`DataError`, naming the file and row)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

import core.store
from core.bars import Bar
from core.errors import DataError
from core.store import COLUMNS, CandleStore, GapError

INST = "BTC-USDT-SWAP"
T0 = datetime(2025, 1, 6, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
HEADER = ",".join(COLUMNS) + "\n"
T1 = "2025-01-06T00:01:00+00:00"


def bar(i: int) -> Bar:
    px = Decimal(95000) + Decimal(i) / 10
    return Bar(T0 + i * MINUTE, px, px + 1, px - 1, px + Decimal("0.5"), Decimal(i + 1), Decimal("0.01"),
               Decimal("950.5"))  # fmt: skip


def bars(a: int, b: int) -> list[Bar]:
    return [bar(i) for i in range(a, b)]


@pytest.fixture
def store(tmp_path: Path) -> CandleStore:
    return CandleStore(tmp_path, "UTC")


def test_append_writes_a_header_once_and_rows_in_order(store: CandleStore) -> None:
    assert store.append(INST, "1m", list(reversed(bars(0, 3)))) == 3  # sorted before writing
    assert store.append(INST, "1m", bars(3, 5)) == 2
    text = store.path(INST, "1m").read_text(encoding="utf-8")
    assert text.startswith(HEADER)
    assert text.count(HEADER) == 1
    assert text.splitlines()[1] == "2025-01-06T00:00:00+00:00,95000,95001,94999,95000.5,1,0.01,950.5"
    assert store.read_all(INST, "1m") == bars(0, 5)


def test_re_appending_is_idempotent(store: CandleStore) -> None:
    store.append(INST, "1m", bars(0, 4))
    before = store.path(INST, "1m").read_bytes()
    assert store.append(INST, "1m", bars(0, 4)) == 0  # a restart re-sends what is stored
    assert store.append(INST, "1m", bars(2, 4)) == 0
    assert store.path(INST, "1m").read_bytes() == before
    assert store.append(INST, "1m", bars(2, 6)) == 2  # overlap + new: only the new rows
    assert store.read_all(INST, "1m") == bars(0, 6)


@pytest.mark.parametrize(("new", "expected"), [([4], "00:03"), ([5, 6], "00:03"), ([3, 5], "00:04")])
def test_a_gap_is_refused_and_nothing_is_written(store: CandleStore, new: list[int], expected: str) -> None:
    store.append(INST, "1m", bars(0, 3))
    before = store.path(INST, "1m").read_bytes()
    with pytest.raises(GapError, match=f"expected bar 2025-01-06T{expected}:00"):
        store.append(INST, "1m", [bar(i) for i in new])
    assert store.path(INST, "1m").read_bytes() == before


def test_torn_last_row_is_ignored_then_repaired(store: CandleStore) -> None:
    store.append(INST, "1m", bars(0, 3))
    path = store.path(INST, "1m")
    whole = path.read_bytes()
    with path.open("ab") as fh:
        fh.write(b"2025-01-06T00:03:00+00:00,95000.3,950")  # a crash mid-write
    assert store.tail(INST, "1m", 10) == bars(0, 3)  # readers never see the torn row
    assert store.last_time(INST, "1m") == bar(2).ts
    assert store.repair(INST, "1m") is True
    assert path.read_bytes() == whole
    assert store.repair(INST, "1m") is False
    with path.open("ab") as fh:
        fh.write(b"2025-01-06T00:03")
    assert store.append(INST, "1m", bars(3, 4)) == 1  # append cuts a torn row first
    assert store.read_all(INST, "1m") == bars(0, 4)


def test_repair_of_a_file_that_is_one_torn_line(store: CandleStore) -> None:
    path = store.path(INST, "1m")
    path.write_bytes(b"candle_begin_ti")
    assert store.repair(INST, "1m") is True
    assert path.read_bytes() == b""
    assert store.append(INST, "1m", bars(0, 2)) == 2
    assert store.read_all(INST, "1m") == bars(0, 2)


@pytest.mark.parametrize("block", [64, 100, 257, 64 * 1024])
@pytest.mark.parametrize("n", [1, 2, 7, 150, 299, 300, 500])
def test_tail_across_block_boundaries(
    store: CandleStore, monkeypatch: pytest.MonkeyPatch, block: int, n: int
) -> None:
    store.append(INST, "1m", bars(0, 300))
    monkeypatch.setattr(core.store, "_BLOCK", block)  # rows of ~90 bytes straddle every block
    assert store.tail(INST, "1m", n) == bars(max(0, 300 - n), 300)


def test_tail_of_a_large_file_reads_only_its_end(store: CandleStore) -> None:
    store.append(INST, "1m", bars(0, 3000))  # ~220 kB, several 64 kB blocks
    assert store.path(INST, "1m").stat().st_size > 3 * 64 * 1024
    assert store.tail(INST, "1m", 1000) == bars(2000, 3000)
    assert store.last_bar(INST, "1m") == bar(2999)
    assert store.tail(INST, "1m", 0) == []
    assert store.tail("ETH-USDT-SWAP", "1m", 5) == []
    assert abs(store.estimate_rows(INST, "1m") - 3000) < 30


def temp_files(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.endswith(".tmp"))


def test_rewrite_replaces_the_file_and_leaves_no_temp_files(store: CandleStore, tmp_path: Path) -> None:
    store.append(INST, "1m", bars(0, 5))
    store.rewrite(INST, "1m", list(reversed(bars(10, 13))))
    assert store.read_all(INST, "1m") == bars(10, 13)
    assert store.path(INST, "1m").read_text(encoding="utf-8").count(HEADER) == 1
    assert temp_files(tmp_path) == []


def test_a_failed_rewrite_keeps_the_old_file(
    store: CandleStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.append(INST, "1m", bars(0, 5))
    before = store.path(INST, "1m").read_bytes()
    with pytest.raises(GapError):
        store.rewrite(INST, "1m", [bar(0), bar(2)])

    def crash(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        store.rewrite(INST, "1m", bars(10, 13))
    assert store.path(INST, "1m").read_bytes() == before
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (f"{T1},95000,95001,94999,9500O.5,2,0.01,950", "malformed number '9500O.5' in column close"),
        (f"{T1},95000,95001,94999,95000,,0.01,950", "malformed number '' in column volume"),
        (f"{T1},95000,NaN,94999,95000,2,0.01,950", "'NaN' in column high is not a finite number"),
        (f"{T1},95000,95001,94999,95000,2,0.01", "7 fields, expected 8"),
        ("2025-01-06 00:01,95000,95001,94999,95000,2,0.01,950", "without UTC offset"),
        ("yesterday,95000,95001,94999,95000,2,0.01,950", "malformed candle time 'yesterday'"),
    ],
)
def test_a_malformed_row_is_a_data_error_naming_file_and_row(
    store: CandleStore, row: str, message: str
) -> None:
    path = store.path(INST, "1m")
    path.write_text(HEADER + "2025-01-06T00:00:00+00:00,1,1,1,1,1,1,1\n" + row + "\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        store.read_all(INST, "1m")
    text = str(info.value)
    assert text.startswith(f"{path}, line 3: ")
    assert message in text
    assert row in text
    with pytest.raises(DataError) as info:
        store.tail(INST, "1m", 5)
    assert str(info.value).startswith(f"{path}, row 1 from the end: ")
    assert message in str(info.value)
    with pytest.raises(DataError):
        store.last_time(INST, "1m")  # what the collector's append relies on
    with pytest.raises(DataError):
        store.append(INST, "1m", [bar(2)])
