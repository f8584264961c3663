"""The simulator's control API refuses what it would otherwise ignore or misread.

A test that sets a fault, a clock speed or a price through ``/__sim`` and has a typo in it must
fail at once -- not run against a simulator left as it was (a test that cannot fail), nor against
one whose clock runs backwards or whose price silently became something else.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import requests

from simulator.server import RunningSimulator

SWAP = "BTC-USDT-SWAP"


def post(sim: RunningSimulator, name: str, body: Any) -> requests.Response:
    return requests.post(f"{sim.base_url}/__sim/{name}", json=body, timeout=10)


@pytest.mark.parametrize(
    ("name", "body", "typo"),
    [
        ("clock", {"speed": 2, "start_ms": 1}, "start_ms"),
        ("price", {"instId": SWAP, "price": "100", "px": "1"}, "px"),
        ("faults", {"rate": 1.0, "rules": []}, "rate"),
        ("rate-limits", {"enable": False}, "enable"),
        ("settings", {"skew": False}, "skew"),
        ("accounts", {"key": "k-1234", "secret": "s-1234", "passphrase": "p-12", "balanse": "5"}, "balanse"),
    ],
)
def test_unknown_keys_are_refused_and_change_nothing(
    sim_module: RunningSimulator, name: str, body: dict[str, Any], typo: str
) -> None:
    control = sim_module.control
    before = (control.clock()["speed"], control.price(SWAP), control.faults(), control.settings(),
              len(control.accounts()))  # fmt: skip
    reply = post(sim_module, name, body)
    assert reply.status_code == 400
    assert f"unknown key(s) '{typo}'" in reply.json()["error"]
    after = (control.clock()["speed"], control.price(SWAP), control.faults(), control.settings(),
             len(control.accounts()))  # fmt: skip
    assert after[0] == before[0]
    assert after[2:] == before[2:]


@pytest.mark.parametrize("speed", [0, -1, "nan", 1e9])
def test_clock_speed_must_be_positive_and_sane(sim_module: RunningSimulator, speed: Any) -> None:
    reply = post(sim_module, "clock", {"speed": speed})
    assert reply.status_code == 400
    assert "speed must be > 0" in reply.json()["error"]
    assert sim_module.control.clock()["speed"] == 1.0


@pytest.mark.parametrize(("name", "key"), [("faults", "latency_ms"), ("settings", "latency_ms")])
@pytest.mark.parametrize("ms", [-5, 10**9])
def test_latency_must_be_in_range(sim_module: RunningSimulator, name: str, key: str, ms: int) -> None:
    reply = post(sim_module, name, {key: ms})
    assert reply.status_code == 400
    assert "latency_ms must be 0..600000" in reply.json()["error"]
    assert sim_module.control.faults()["latency_ms"] == 0


def test_a_price_the_feed_cannot_hold_is_refused(sim_module: RunningSimulator) -> None:
    control = sim_module.control
    control.set_price(SWAP, "50000")
    reply = post(sim_module, "price", {"instId": SWAP, "price": "1e400"})
    assert reply.status_code == 400
    assert "too large for BTC-USDT-SWAP" in reply.json()["error"]
    assert abs(control.price(SWAP) - Decimal(50000)) < 1000  # unchanged (the path moves a little)


def test_a_typo_in_a_fault_rule_is_refused(sim_module: RunningSimulator) -> None:
    """``rat`` for ``rate`` used to leave rate at 1.0: the fault fired on every request."""
    reply = post(sim_module, "faults", {"rules": [{"kind": "drop", "rat": 0.1, "path": "/api/v5/x"}]})
    assert reply.status_code == 400
    assert "unknown fault rule key(s) 'rat'" in reply.json()["error"]
    assert sim_module.control.faults()["rules"] == []
    rules = sim_module.control.set_faults([{"kind": "drop", "rate": 0.1, "path": "/api/v5/x"}])["rules"]
    again = sim_module.control.set_faults(rules)["rules"]  # what GET returns is accepted back
    assert [r["rate"] for r in again] == [0.1]
    sim_module.control.clear_faults()
