"""Simulator auth, rate limiter, fault rules and clock (pure)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from simulator.auth import sign, verify
from simulator.clock import SimClock, iso_ms, parse_time_ms
from simulator.errors import OkxError
from simulator.faults import FaultInjector, FaultRule, parse_fault_spec
from simulator.ratelimit import Limit, RateLimiter

PROBE = Path(__file__).resolve().parents[1] / "fixtures" / "okx" / "probe_captured_library_requests.json"


@dataclass
class Acct:
    key: str
    secret: str
    passphrase: str


ACCOUNTS = {"key1": Acct("key1", "testsecret", "pass1")}


def _signed_probe_requests() -> list[dict[str, Any]]:
    if not PROBE.exists():
        pytest.skip("shared fixtures not available")
    data = json.loads(PROBE.read_text())
    return [r for r in data["requests"] if r["sig_ok"]]


def test_captured_library_signatures_verify() -> None:
    requests = _signed_probe_requests()
    assert {r["client"] for r in requests} == {"python-okx(httpx)", "ccxt"}
    for r in requests:
        acct = verify(r["headers"], r["method"], r["path"], r["body"].encode(), ACCOUNTS, 0, check_skew=False)
        assert acct.key == "key1"


def test_tampered_body_is_a_bad_signature() -> None:
    r = next(r for r in _signed_probe_requests() if r["method"] == "POST")
    body = r["body"].replace('"1"', '"2"', 1).encode()
    with pytest.raises(OkxError) as info:
        verify(r["headers"], "POST", r["path"], body, ACCOUNTS, 0, check_skew=False)
    assert (info.value.code, info.value.http) == ("50113", 401)


def _headers(ts: str, key: str = "key1", passphrase: str = "pass1") -> dict[str, str]:  # noqa: S107
    prehash = (ts + "GET" + "/api/v5/account/balance").encode()
    return {
        "OK-ACCESS-KEY": key,
        "OK-ACCESS-PASSPHRASE": passphrase,
        "OK-ACCESS-TIMESTAMP": ts,
        "OK-ACCESS-SIGN": sign("testsecret", prehash),
    }


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda h: h.pop("OK-ACCESS-KEY"), "50103"),
        (lambda h: h.pop("OK-ACCESS-PASSPHRASE"), "50104"),
        (lambda h: h.update({"OK-ACCESS-PASSPHRASE": "wrong"}), "50105"),
        (lambda h: h.pop("OK-ACCESS-SIGN"), "50106"),
        (lambda h: h.pop("OK-ACCESS-TIMESTAMP"), "50107"),
        (lambda h: h.update({"OK-ACCESS-TIMESTAMP": "1700000000000"}), "50112"),
        (lambda h: h.update({"OK-ACCESS-KEY": "other"}), "50111"),
        (lambda h: h.update({"OK-ACCESS-SIGN": "AAAA"}), "50113"),
    ],
)
def test_auth_errors(mutate: Any, code: str) -> None:
    now = 1_700_000_000_000
    headers = _headers(iso_ms(now))
    mutate(headers)
    with pytest.raises(OkxError) as info:
        verify(headers, "GET", "/api/v5/account/balance", b"", ACCOUNTS, now)
    assert info.value.code == code
    assert info.value.http == 401


def test_skew_window_is_thirty_seconds() -> None:
    now = 1_700_000_000_000
    ok = _headers(iso_ms(now - 30_000))
    assert verify(ok, "GET", "/api/v5/account/balance", b"", ACCOUNTS, now).key == "key1"
    late = _headers(iso_ms(now - 30_001))
    with pytest.raises(OkxError) as info:
        verify(late, "GET", "/api/v5/account/balance", b"", ACCOUNTS, now)
    assert info.value.code == "50102"


def test_rate_limiter_sliding_window() -> None:
    t = [0.0]
    limiter = RateLimiter(clock=lambda: t[0])
    limit = Limit(3, 2.0)
    key = (("candles", "ip"), 1)
    assert all(limiter.allow(limit, [key]) for _ in range(3))
    assert not limiter.allow(limit, [key])
    t[0] = 2.01
    assert limiter.allow(limit, [key])
    assert not limiter.allow(limit, [(("candles", "ip"), 3)])  # weights count
    limiter.enabled = False
    assert limiter.allow(limit, [(("candles", "ip"), 100)])


def test_fault_rules_are_seeded_and_path_scoped() -> None:
    rule = FaultRule.from_json({"kind": "5xx", "rate": 0.5, "path": "/api/v5/trade/*"})
    picks = []
    for _ in range(2):
        inj = FaultInjector(seed=3)
        inj.reset(0, [FaultRule(**{**rule.__dict__, "fired": 0})])
        picks.append([inj.pick("POST", "/api/v5/trade/order") for _ in range(50)])
    assert [p and p[0] for p in picks[0]] == [p and p[0] for p in picks[1]]
    assert {p[0] for p in picks[0] if p} == {"http_503"}
    inj = FaultInjector(seed=3)
    inj.reset(0, [FaultRule.from_json({"kind": "drop", "count": 1})])
    assert inj.pick("GET", "/__sim/clock") is None  # never the control API
    assert inj.pick("GET", "/api/v5/market/candles") is not None
    assert inj.pick("GET", "/api/v5/market/candles") is None  # count exhausted


def test_fault_spec_and_unknown_kind() -> None:
    rule = parse_fault_spec("lost_response:0.25:/api/v5/trade/order")
    assert (rule.kinds, rule.rate, rule.path) == (("lost_response",), 0.25, "/api/v5/trade/order")
    with pytest.raises(ValueError, match="unknown fault kind"):
        parse_fault_spec("meteor:1")


def test_clock_modes() -> None:
    wall = [1000.0]
    clock = SimClock(5_000, wall=lambda: wall[0])
    wall[0] += 2
    assert clock.now_ms() == 7_000
    clock.set_speed(60)
    wall[0] += 1
    assert clock.now_ms() == 67_000
    clock.freeze()
    wall[0] += 100
    assert clock.now_ms() == 67_000
    clock.advance(1_000)
    assert clock.now_ms() == 68_000
    assert parse_time_ms("1970-01-01T00:01:00Z") == 60_000
    assert parse_time_ms("60000") == 60_000
    assert iso_ms(1_607_418_537_715) == "2020-12-08T09:08:57.715Z"
