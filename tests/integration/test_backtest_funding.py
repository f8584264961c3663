"""Funding-rate history for backtests: fetched from ``public/funding-rate-history`` (the simulator
here) into ``<DATA_DIR>/funding/<INST>.csv``, adding only what the file lacks, and read back by the
bar loop's loader."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from backtest.funding import fetch_funding, funding_path, load_funding
from backtest.model import BacktestError
from config.schema import ExchangeSettings
from core.clock import SystemClock
from exchange import PublicClient, make_public_client
from simulator.server import RunningSimulator

SWAP = "ETH-USDT-SWAP"


@pytest.fixture
def public(sim_module: RunningSimulator) -> Iterator[PublicClient]:
    sim_module.control.reset()
    settings = ExchangeSettings(mode="simulator", base_url=sim_module.base_url, timeout_s=5)
    client = make_public_client(settings, SystemClock())
    yield client
    client.close()


def test_fetch_adds_the_missing_settlements_and_keeps_the_file(public: PublicClient, tmp_path: Path) -> None:
    path = funding_path(tmp_path, SWAP)
    path.parent.mkdir(parents=True)
    path.write_text("funding_time,funding_rate\n2020-01-01T00:00:00+00:00,0.00042\n", encoding="utf-8")
    since = public.server_time() - timedelta(days=10)

    added = fetch_funding(public, tmp_path, SWAP, since)

    served = {int(r.funding_time.timestamp()): r.rate for r in public.funding_history(SWAP, limit=400)}
    rates = load_funding(tmp_path, SWAP, Decimal("0.0001")).rates
    assert added == len(served) >= 30  # ten days of 8 h settlements at least; as far back as served
    assert rates[int(datetime(2020, 1, 1, tzinfo=UTC).timestamp())] == Decimal("0.00042")  # kept
    assert {t: rates[t] for t in served} == served
    assert min(served) <= since.timestamp()
    assert fetch_funding(public, tmp_path, SWAP, since) == 0  # nothing new: the file is not rewritten
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "funding_time,funding_rate"
    assert len(lines) == len(served) + 2
    assert lines[1:] == sorted(lines[1:])


def test_a_malformed_file_stops_the_fetch_and_is_left_as_it_was(public: PublicClient, tmp_path: Path) -> None:
    path = funding_path(tmp_path, SWAP)
    path.parent.mkdir(parents=True)
    path.write_text("funding_time,funding_rate\nyesterday,0.0001\n", encoding="utf-8")

    with pytest.raises(BacktestError, match=r"line 2: malformed funding row 'yesterday,0.0001'"):
        fetch_funding(public, tmp_path, SWAP, public.server_time() - timedelta(days=1))
    assert path.read_text(encoding="utf-8") == "funding_time,funding_rate\nyesterday,0.0001\n"
