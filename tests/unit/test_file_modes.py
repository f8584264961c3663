"""Files the collector rewrites keep normal permissions (issue 12, item 14): a rewrite through a
temp file used to leave the CSV (and every marker) at mkstemp's 0600."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from collector.feed import FeedRound, FeedStatus
from collector.feed_journal import FeedJournal
from core.atomic import atomic_write
from core.bars import Bar
from core.markers import InstrumentStatus, Marker, MarkerStore
from core.store import CandleStore

T0 = datetime(2025, 1, 6, tzinfo=UTC)
ONE = Decimal(1)


@pytest.fixture(params=[0o022, 0o002])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def bars(n: int) -> list[Bar]:
    return [Bar(T0 + timedelta(minutes=i), ONE, ONE, ONE, ONE, ONE, ONE, ONE) for i in range(n)]


def test_appended_and_rewritten_csvs_get_the_umask_mode(tmp_path: Path, umask: int) -> None:
    store = CandleStore(tmp_path, "UTC")
    store.append("BTC-USDT-SWAP", "1m", bars(3))
    assert mode(store.path("BTC-USDT-SWAP", "1m")) == 0o666 & ~umask
    store.rewrite("BTC-USDT-SWAP", "1m", bars(2))
    assert mode(store.path("BTC-USDT-SWAP", "1m")) == 0o666 & ~umask
    store.rewrite("ETH-USDT-SWAP", "5m", [])
    assert mode(store.path("ETH-USDT-SWAP", "5m")) == 0o666 & ~umask


def test_markers_get_the_umask_mode(tmp_path: Path, umask: int) -> None:
    markers = MarkerStore(tmp_path)
    marker = Marker(
        interval="1m",
        bar_open=T0,
        bar_close=T0 + timedelta(minutes=1),
        created_at=T0 + timedelta(minutes=1),
        instruments={"BTC-USDT-SWAP": InstrumentStatus(ok=True, last_candle=T0)},
    )
    path = markers.write(marker)
    assert mode(path) == 0o666 & ~umask
    markers.write(marker)  # replacing keeps it
    assert mode(path) == 0o666 & ~umask


def test_feed_status_and_trimmed_lag_journal_get_the_umask_mode(tmp_path: Path, umask: int) -> None:
    """QA 13: feed.json and the trimmed feed-lag.jsonl were rewritten through mkstemp (0600)."""
    journal = FeedJournal(tmp_path / "collector", max_bytes=300)
    for k in range(6):
        last = FeedRound("websocket", T0 + timedelta(minutes=k), 3, 2, 1, 0.5, ())
        journal.record(FeedStatus("websocket", 1, 1, 3, last=last), T0)
    assert len(journal.rounds()) < 6  # the journal was trimmed, i.e. rewritten
    assert mode(tmp_path / "collector" / "feed.json") == 0o666 & ~umask
    assert mode(tmp_path / "collector" / "feed-lag.jsonl") == 0o666 & ~umask


def test_a_failing_writer_leaves_the_target_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    target.write_text("old", encoding="utf-8")

    def boom(fh: object) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        atomic_write(target, boom)
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]
