"""Signing pinned by requests python-okx and ccxt really sent (and a stub verified), and the
server-time offset."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from okx import utils as okx_utils

from core.clock import FakeClock
from exchange.signing import ServerTime, okx_timestamp, sign
from tests.unit.test_exchange_parse import FIXTURES

T0 = datetime(2026, 1, 1, 12, 0, 0, 123000, tzinfo=UTC)


def signed_requests() -> list[dict[str, Any]]:
    data = json.loads((FIXTURES / "probe_captured_library_requests.json").read_text(encoding="utf-8"))
    return [r for r in data["requests"] if r["sig_ok"]]


def test_fixture_has_signed_requests_from_both_libraries() -> None:
    clients = {r["client"] for r in signed_requests()}
    assert clients == {"python-okx(httpx)", "ccxt"}


@pytest.mark.parametrize(
    "req", signed_requests(), ids=lambda r: f"{r['client']} {r['method']} {r['path'][:40]}"
)
def test_sign_reproduces_captured_signatures(req: dict[str, Any]) -> None:
    headers = req["headers"]

    signature = sign("testsecret", headers["OK-ACCESS-TIMESTAMP"], req["method"], req["path"], req["body"])

    assert signature == headers["OK-ACCESS-SIGN"]


def test_sign_equals_python_okx() -> None:
    ts, path, body = "2020-12-08T09:08:57.715Z", "/api/v5/account/balance?ccy=BTC", ""
    expected = okx_utils.sign(okx_utils.pre_hash(ts, "GET", path, body, False), "s3cret").decode()

    assert sign("s3cret", ts, "get", path, body) == expected


def test_okx_timestamp_format() -> None:
    assert okx_timestamp(datetime(2020, 12, 8, 9, 8, 57, 715000, tzinfo=UTC)) == "2020-12-08T09:08:57.715Z"
    plus8 = datetime(2020, 12, 8, 17, 8, 57, 715999, tzinfo=timezone(timedelta(hours=8)))
    assert okx_timestamp(plus8) == "2020-12-08T09:08:57.715Z"
    with pytest.raises(ValueError, match="aware"):
        okx_timestamp(datetime(2020, 1, 1))  # noqa: DTZ001


class Server:
    """A fake OKX clock ``skew`` ahead of ``clock``, with a round trip of ``rtt`` seconds."""

    def __init__(self, clock: FakeClock, skew: timedelta, rtt: float = 0.0) -> None:
        self.clock, self.skew, self.rtt, self.calls = clock, skew, rtt, 0

    def __call__(self) -> datetime:
        self.calls += 1
        self.clock.advance(self.rtt / 2)
        now = self.clock.now() + self.skew
        self.clock.advance(self.rtt / 2)
        return now


def test_offset_is_measured_lazily_at_the_round_trip_midpoint() -> None:
    clock = FakeClock(T0)
    server = Server(clock, timedelta(hours=1), rtt=0.2)
    st = ServerTime(clock, server)

    assert st.offset is None
    now = st.now()

    assert server.calls == 1
    assert st.offset == timedelta(hours=1)
    assert now == clock.now() + timedelta(hours=1)
    assert st.timestamp() == okx_timestamp(clock.now() + timedelta(hours=1))
    assert server.calls == 1


def test_offset_is_re_measured_when_old_and_on_resync() -> None:
    clock = FakeClock(T0)
    server = Server(clock, timedelta(seconds=-45))
    st = ServerTime(clock, server, max_age_s=60)
    st.now()
    server.skew = timedelta(seconds=40)

    clock.advance(30)
    assert st.now() == clock.now() - timedelta(seconds=45)  # still fresh
    clock.advance(31)
    assert st.now() == clock.now() + timedelta(seconds=40)  # re-measured
    server.skew = timedelta(seconds=5)
    stale = st.offset
    assert st.resync(stale) == timedelta(seconds=5)
    assert st.resync(stale) == timedelta(seconds=5)  # someone already re-measured: no new call
    assert server.calls == 3
