"""PublicClient (ccxt underneath) against the simulator: every method, faults, budgets."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest

from config.schema import ExchangeSettings
from core.clock import SystemClock
from exchange import PublicClient, make_public_client
from exchange.errors import (
    ExchangeError,
    ExchangeRateLimited,
    ExchangeUnavailable,
    OrderRejected,
    UnknownInstrument,
)
from exchange.retry import RetryPolicy
from simulator.server import RunningSimulator

SWAP = "BTC-USDT-SWAP"


@pytest.fixture(scope="module")
def public(sim_module: RunningSimulator) -> Iterator[PublicClient]:
    settings = ExchangeSettings(mode="simulator", base_url=sim_module.base_url, timeout_s=2)
    client = make_public_client(settings, SystemClock(), max_workers=8)
    yield client
    client.close()


@pytest.fixture
def sim(sim_module: RunningSimulator) -> Iterator[RunningSimulator]:
    """The module's simulator, reset before each test (clock, faults, limits, logs)."""
    sim_module.control.reset()
    yield sim_module
    sim_module.control.clear_faults()


def rate_limited(sim: RunningSimulator) -> list[dict[str, object]]:
    return [r for r in sim.control.requests() if r["code"] == "50011" and not r["fault"]]


def test_server_time_follows_the_simulator_clock(sim: RunningSimulator, public: PublicClient) -> None:
    sim.control.set_clock(sim.control.now_ms() + 3_600_000)

    skew = public.server_time() - SystemClock().now()

    assert timedelta(minutes=59) < skew < timedelta(minutes=61)


def test_instruments_and_cache(sim: RunningSimulator, public: PublicClient) -> None:
    swaps = public.instruments("SWAP")
    spots = public.instruments("SPOT")

    btc = public.instrument(SWAP)
    again = public.instrument(SWAP)
    fresh = public.instrument(SWAP, refresh=True)

    assert {i.inst_type for i in swaps} == {"SWAP"}
    assert {i.inst_type for i in spots} == {"SPOT"}
    assert btc is again  # from the cache
    assert fresh == btc
    assert (btc.ct_val, btc.lot_sz, btc.min_sz, btc.tick_sz) == (
        Decimal("0.01"), Decimal("0.01"), Decimal("0.01"), Decimal("0.1"),
    )  # fmt: skip
    assert btc.max_lever == Decimal(100)
    assert btc.state == "live"
    calls = [r for r in sim.control.requests() if "instruments" in str(r["path"])]
    assert len(calls) == 3  # SWAP, SPOT, refresh


def test_unknown_instrument(public: PublicClient) -> None:
    with pytest.raises(UnknownInstrument) as info:
        public.instrument("NOPE-USDT-SWAP")
    assert info.value.code == "51001"
    with pytest.raises(UnknownInstrument):
        public.ticker("NOPE-USDT")


def test_candles_keep_the_forming_bar_ascending(public: PublicClient) -> None:
    candles = public.candles(SWAP, "1m", limit=5)

    assert len(candles) == 5
    assert [c.ts for c in candles] == sorted(c.ts for c in candles)
    assert candles[-1].confirmed is False
    assert all(c.confirmed for c in candles[:-1])
    assert all(c.low <= c.open <= c.high and c.low <= c.close <= c.high for c in candles)


def test_candles_after_and_before(public: PublicClient) -> None:
    latest = public.candles(SWAP, "1H", limit=10)
    older = public.candles(SWAP, "1H", limit=3, after=latest[5].ts)
    window = public.history_candles(SWAP, "1H", after=latest[6].ts, before=latest[2].ts)

    assert [c.ts for c in older] == [c.ts for c in latest[2:5]]
    assert [c.ts for c in window] == [c.ts for c in latest[3:6]]
    assert all(c.confirmed for c in window)


def test_candles_range_pages_recent_then_history(sim: RunningSimulator, public: PublicClient) -> None:
    now = SystemClock().now()
    start, end = now - timedelta(minutes=2200), now - timedelta(minutes=10)
    progress: list[int] = []

    got = public.candles_range(SWAP, "1m", start, end, progress=progress.append)

    assert len(got) == 2190
    assert got[0].ts >= start
    assert got[-1].ts < end
    assert all(b.ts - a.ts == timedelta(minutes=1) for a, b in itertools.pairwise(got))
    assert all(c.confirmed for c in got)
    paths = [str(r["path"]) for r in sim.control.requests()]
    assert any("/market/candles" in p for p in paths)
    assert any("/market/history-candles" in p for p in paths)
    assert progress[-1] == 2190
    assert rate_limited(sim) == []


def test_history_candles_far_back(public: PublicClient) -> None:
    end = SystemClock().now() - timedelta(days=400)

    got = public.candles_range(SWAP, "1D", end - timedelta(days=150), end)

    assert 149 <= len(got) <= 150
    assert all(c.confirmed for c in got)


def test_latest_candles_many_isolates_failures(sim: RunningSimulator, public: PublicClient) -> None:
    ids = [i.inst_id for i in public.instruments("SWAP")] + ["NOPE-USDT-SWAP"]

    got = public.latest_candles_many(ids, "5m", limit=3)

    assert set(got) == set(ids)
    assert isinstance(got["NOPE-USDT-SWAP"], OrderRejected)
    for inst_id in ids[:-1]:
        candles = got[inst_id]
        assert isinstance(candles, list)
        assert len(candles) == 3
        assert candles[-1].inst_id == inst_id


def test_many_requests_stay_within_the_per_ip_budget(sim: RunningSimulator, public: PublicClient) -> None:
    swaps = [i.inst_id for i in public.instruments("SWAP")]
    pairs = [(i, b) for i in swaps for b in ("1m", "3m", "5m", "15m")][:45]

    got = public.candles_many(pairs, limit=2)

    assert all(isinstance(v, list) for v in got.values())
    assert len(got) == 45
    assert rate_limited(sim) == []  # 40/2s at the simulator; never hit


@pytest.mark.parametrize(
    ("kind", "count"),
    [("http_503", 2), ("code_50001", 2), ("code_50013", 2), ("drop", 2)],
)
def test_temporary_faults_on_reads_are_retried(
    sim: RunningSimulator, public: PublicClient, kind: str, count: int
) -> None:
    sim.control.set_faults([{"kind": kind, "path": "/api/v5/market/ticker", "count": count}])

    ticker = public.ticker(SWAP)

    assert ticker.inst_id == SWAP
    faults = [r["fault"] for r in sim.control.requests() if "ticker" in str(r["path"])]
    assert faults == [kind] * count + [None]


def test_rate_limited_reply_pauses_the_endpoint_for_a_window(
    sim: RunningSimulator, public: PublicClient
) -> None:
    sim.control.set_faults([{"kind": "rate_limit", "path": "/api/v5/market/books", "count": 1}])
    started = SystemClock().now()

    book = public.order_book(SWAP)

    assert book.inst_id == SWAP
    assert SystemClock().now() - started >= timedelta(seconds=2)  # waited out OKX's window
    faults = [r["fault"] for r in sim.control.requests() if "books" in str(r["path"])]
    assert faults == ["rate_limit", None]


def test_persistent_failure_surfaces_after_retries(sim: RunningSimulator, public: PublicClient) -> None:
    sim.control.set_faults([{"kind": "http_503", "path": "/api/v5/market/books"}])

    with pytest.raises(ExchangeUnavailable):
        public.order_book(SWAP)

    assert len([r for r in sim.control.requests() if "books" in str(r["path"])]) == public.retry.max_attempts


def test_persistent_rate_limit_surfaces_as_rate_limited(sim: RunningSimulator) -> None:
    settings = ExchangeSettings(mode="simulator", base_url=sim.base_url, timeout_s=2)
    client = make_public_client(settings, SystemClock())
    client.retry = RetryPolicy(max_attempts=1)
    sim.control.set_faults([{"kind": "rate_limit", "path": "/api/v5/public/mark-price"}])

    with pytest.raises(ExchangeRateLimited):
        client.mark_price(SWAP)
    client.close()


def test_timeout_on_a_read_is_unavailable_and_retried(sim: RunningSimulator) -> None:
    settings = ExchangeSettings(mode="simulator", base_url=sim.base_url, timeout_s=0.3)
    client = make_public_client(settings, SystemClock())
    client.retry = RetryPolicy(max_attempts=2, base_s=0.05)
    sim.control.set_faults([{"kind": "timeout", "path": "/api/v5/market/trades", "hold_ms": 800}])

    with pytest.raises(ExchangeUnavailable):
        client.trades(SWAP)
    sim.control.set_faults([{"kind": "timeout", "path": "/api/v5/market/trades", "hold_ms": 800, "count": 1}])
    assert len(client.trades(SWAP, limit=2)) == 2  # the retry after one timeout succeeds
    client.close()


def test_other_market_data(public: PublicClient) -> None:
    ticker = public.ticker(SWAP)
    tickers = public.tickers("SWAP")
    book = public.order_book(SWAP, depth=5)
    trades = public.trades(SWAP, limit=7)
    funding = public.funding_rate(SWAP)
    mark = public.mark_price(SWAP)

    assert ticker.bid is not None
    assert ticker.ask is not None
    assert ticker.bid < ticker.ask
    assert SWAP in {t.inst_id for t in tickers}
    assert len(book.asks) == 5
    assert book.asks[0].px > book.bids[0].px
    assert len(trades) == 7
    assert funding.next_funding_time is not None
    assert funding.next_funding_time > funding.funding_time
    assert mark.mark_px > 0


def test_failures_are_exchange_errors_not_ccxt(public: PublicClient) -> None:
    with pytest.raises(ExchangeError) as info:
        public.candles(SWAP, "7m")
    assert info.value.code == "51000"


def test_funding_history_pages_backwards_and_holds_the_rates_that_were_announced(
    public: PublicClient, sim: RunningSimulator
) -> None:
    announced = public.funding_rate(SWAP)  # the rate of the period running now, settled at its end
    sim.control.advance(int((announced.funding_time - public.server_time()).total_seconds() * 1000) + 60_000)

    newest = public.funding_history(SWAP, limit=5)
    older = public.funding_history(SWAP, after=newest[0].funding_time, limit=3)

    assert newest[-1].funding_time == announced.funding_time
    assert newest[-1].rate == announced.funding_rate
    times = [r.funding_time for r in older + newest]
    assert times == sorted(times)
    assert len(set(times)) == 8
    assert {b - a for a, b in itertools.pairwise(times)} == {timedelta(hours=8)}
    with pytest.raises(UnknownInstrument):
        public.funding_history("NOPE-USDT-SWAP")
