"""The WebSocket feed's pure parts: subscription planning, backoff, frame parsing, the candle book,
the feed journal."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from collector.feed import FeedRound, FeedStatus
from collector.feed_journal import FeedJournal, read_feed_status
from collector.ws_book import CandleBook
from collector.ws_conn import ConnectGate
from collector.ws_plan import (
    MAX_ARGS_BYTES,
    backoff_s,
    batches,
    candle_args,
    connections_needed,
    deadline_s,
    shard,
)
from core.intervals import parse_interval
from exchange.errors import BadResponse
from exchange.records import Candle
from exchange.ws_parse import WsCandles, WsEvent, WsPong, candle_channel, parse_ws_frame
from scripts.status import feed_line
from tests.unit.test_exchange_parse import load

M1 = parse_interval("1m")
T0 = datetime(2024, 3, 1, tzinfo=UTC)


def candle(minute: int, close: str = "1", confirmed: bool = True, inst: str = "BTC-USDT-SWAP") -> Candle:
    one = Decimal(1)
    return Candle(inst, "1m", T0 + timedelta(minutes=minute), one, one, one, Decimal(close), one, one, one,
                  confirmed)  # fmt: skip


# ---- planning -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("n", "per", "expected"), [(0, 250, 0), (1, 250, 1), (250, 250, 1), (251, 250, 2),
                                                    (500, 250, 2), (501, 250, 3)])  # fmt: skip
def test_connections_needed(n: int, per: int, expected: int) -> None:
    assert connections_needed(n, per) == expected
    groups = shard([f"I{k}" for k in range(n)], per)
    assert len(groups) == expected
    assert [i for g in groups for i in g] == [f"I{k}" for k in range(n)]
    assert all(len(g) <= per for g in groups)


def test_connections_need_a_positive_size() -> None:
    with pytest.raises(ValueError, match="per_connection"):
        connections_needed(3, 0)


def test_batches_keep_every_request_under_64kb() -> None:
    args = candle_args("candle1m", [f"S{k:04d}-USDT-SWAP" for k in range(3000)])

    got = batches(args)

    assert len(got) > 1
    assert [a for b in got for a in b] == args
    assert all(len(json.dumps(b, separators=(",", ":"))) <= MAX_ARGS_BYTES for b in got)
    assert batches(args[:5]) == [args[:5]]


def test_backoff_grows_is_capped_and_jittered() -> None:
    rng = random.Random(1)
    assert backoff_s(0, rng) == 0
    firsts = [backoff_s(1, rng) for _ in range(50)]
    assert all(0.25 <= d <= 0.5 for d in firsts)
    assert len(set(firsts)) > 1  # jittered: connections do not retry in lockstep
    assert all(4.0 <= backoff_s(5, rng) <= 8.0 for _ in range(20))  # 0.5 s x 2^4
    assert all(15.0 <= backoff_s(30, rng) <= 30.0 for _ in range(20))


def test_deadline_stays_below_a_third_of_the_bar() -> None:
    assert deadline_s(M1, 2.0) == 2.0
    assert deadline_s(M1, 50.0) == 20.0


# ---- frames ---------------------------------------------------------------------------------------
def test_okx_push_fixture_parses_into_candles() -> None:
    frame = parse_ws_frame(json.dumps(load("okx_doc_ws_candle_push.json")))

    assert isinstance(frame, WsCandles)
    assert (frame.channel, frame.inst_id) == ("candle1D", "BTC-USDT")
    [c] = frame.candles
    assert c.ts == datetime.fromtimestamp(1629993600, tz=UTC)
    assert c.close == Decimal("41006.1")
    assert c.vol_quote == Decimal("166741046.22583129")
    assert not c.confirmed


def test_events_and_pong() -> None:
    assert parse_ws_frame("pong") == WsPong()
    ack = parse_ws_frame(
        '{"id":"s1","event":"subscribe","arg":{"channel":"candle1m","instId":"X-Y"},"connId":"a"}'
    )
    assert ack == WsEvent("subscribe", "s1", "candle1m", "X-Y")
    err = parse_ws_frame('{"id":"s2","event":"error","code":"60018","msg":"Wrong URL","connId":"a"}')
    assert isinstance(err, WsEvent)
    assert (err.req_id, err.describe) == ("s2", "60018: Wrong URL")
    assert candle_channel("1Dutc") == "candle1Dutc"


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("not json", "not JSON"),
        ("[1]", "not an object"),
        ('{"arg": 3, "data": []}', "arg is not an object"),
        ('{"arg": {"channel": "tickers", "instId": "X-Y"}, "data": []}', "candle arg"),
        ('{"arg": {"channel": "candle1m", "instId": "X-Y"}, "data": [["1", "2"]]}', "9-field"),
        ('{"arg": {"channel": "candle1m", "instId": "X-Y"}, "data": [["1","1","1","1","","1","1","1","1"]]}',
         "c"),
        ('{"arg": {"channel": "candle1m", "instId": "X-Y"}, "data": [["1","1","1","1","1","1","1","1","2"]]}',
         "confirm"),
    ],
)  # fmt: skip
def test_bad_frames_are_errors_naming_the_problem(text: str, what: str) -> None:
    with pytest.raises(BadResponse, match=what):
        parse_ws_frame(text)


# ---- the book -------------------------------------------------------------------------------------
def test_only_confirmed_pushes_make_bars() -> None:
    book = CandleBook(M1)

    book.add([candle(0, confirmed=False)])

    assert book.run("BTC-USDT-SWAP", T0, T0) is None
    assert not book.changed.is_set()  # a forming update wakes nobody
    book.add([candle(0)])
    assert book.changed.is_set()
    run = book.run("BTC-USDT-SWAP", T0, T0)
    assert run is not None
    assert [c.ts for c in run] == [T0]


def test_duplicates_and_out_of_order_pushes_are_harmless() -> None:
    book = CandleBook(M1)

    book.add([candle(1, "5"), candle(0, "4"), candle(1, "5")])
    book.add([candle(1, "9", confirmed=False), candle(0, "4")])

    run = book.run("BTC-USDT-SWAP", T0, T0 + M1.delta)
    assert run is not None
    assert [(c.ts, c.close) for c in run] == [(T0, Decimal(4)), (T0 + M1.delta, Decimal(5))]
    book.add([candle(1, "6")])  # a later confirm revises the bar
    run = book.run("BTC-USDT-SWAP", T0 + M1.delta, T0 + M1.delta)
    assert run is not None
    assert run[0].close == Decimal(6)


def test_a_hole_in_the_run_means_none() -> None:
    book = CandleBook(M1)
    book.add([candle(0), candle(2)])

    assert book.run("BTC-USDT-SWAP", T0, T0 + 2 * M1.delta) is None
    assert book.run("ETH-USDT-SWAP", T0, T0) is None


def test_next_bar_push_proves_the_close() -> None:
    book = CandleBook(M1)
    book.add([candle(0, confirmed=False)])
    assert not book.next_seen("BTC-USDT-SWAP", T0)

    book.add([candle(1, confirmed=False)])

    assert book.next_seen("BTC-USDT-SWAP", T0)
    assert book.run("BTC-USDT-SWAP", T0, T0) is None  # proof of the close, not its values


def test_live_refused_reconnects_and_prune() -> None:
    book = CandleBook(M1)
    book.set_live(["A-B", "C-D"], True)
    book.refuse("C-D", "60018: nope")
    book.reconnected()
    book.add([candle(k) for k in range(10)])

    book.prune(T0 + 8 * M1.delta)

    counts = book.counts()
    assert (counts.live, counts.reconnects, counts.pushes) == (1, 1, 10)
    assert counts.refused == {"C-D": "60018: nope"}
    assert book.is_live("A-B")
    assert not book.is_live("C-D")
    assert book.run("BTC-USDT-SWAP", T0 + 7 * M1.delta, T0 + 9 * M1.delta) is None
    assert book.run("BTC-USDT-SWAP", T0 + 8 * M1.delta, T0 + 9 * M1.delta) is not None
    book.set_live(["C-D"], True)  # subscribed again after a reconnect
    assert book.counts().refused == {}


# ---- the journal ----------------------------------------------------------------------------------
def test_feed_journal_status_and_lag_lines(tmp_path: Path) -> None:
    journal = FeedJournal(tmp_path / "collector", max_bytes=600)
    for k in range(10):
        last = FeedRound("websocket", T0 + k * M1.delta, 3, 2, 1, 0.25 + k, ("ETH-USDT-SWAP",))
        journal.record(FeedStatus("websocket", 1, 1, 3, last=last), T0)

    status = read_feed_status(tmp_path / "collector")
    rounds = journal.rounds()

    assert status is not None
    assert (status["feed"], status["connections"]) == ("websocket", 1)
    assert status["last"]["fallback"] == ["ETH-USDT-SWAP"]
    assert rounds[-1]["ready_s"] == 9.25
    assert 1 < len(rounds) < 10  # trimmed past max_bytes, newest kept
    assert read_feed_status(tmp_path / "missing") is None


def test_status_display_shows_the_live_feed_and_its_fallbacks(tmp_path: Path) -> None:
    last = FeedRound("websocket", T0, 3, 1, 2, 2.5, ("ETH-USDT-SWAP", "SOL-USDT"))
    FeedJournal(tmp_path).record(FeedStatus("websocket", 2, 1, 1, {"NOPE-USDT": "60018: x"}, last=last), T0)

    line = feed_line(read_feed_status(tmp_path))

    assert line == (
        "feed     : websocket, 1/2 connection(s) open, 1 instrument(s) live; last bar 1 via push, "
        "2 fell back to REST, ready 2.50s after the close; refused: NOPE-USDT"
    )
    assert feed_line(None) == "feed     : - (no bar collected yet)"


def test_connect_gate_allows_three_attempts_per_second() -> None:
    async def attempts() -> list[float]:
        gate, loop = ConnectGate(3), asyncio.get_running_loop()
        times = []
        for _ in range(4):
            await gate.wait()
            times.append(loop.time())
        return times

    times = asyncio.run(attempts())

    assert times[2] - times[0] < 0.5  # three at once
    assert times[3] - times[0] >= 0.99  # the fourth waits for the window to move


def test_take_dirty_names_what_changed_since_the_last_look() -> None:
    book = CandleBook(M1)
    book.add([candle(0, inst="A-B"), candle(0, inst="C-D", confirmed=False)])
    book.set_live(["E-F"], True)
    book.refuse("G-H", "60018: x")

    assert book.take_dirty() == {"A-B", "E-F", "G-H"}  # a forming update changes nothing
    assert book.take_dirty() == set()
