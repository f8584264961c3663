"""Integration fixtures: a local OKX V5 simulator on loopback.

``sim``
    A fresh simulator per test (``simulator.server.start_background``), stopped afterwards.
``sim_module``
    One simulator per test module; call ``sim_module.control.reset()`` for a clean state.

Both are :class:`simulator.server.RunningSimulator` objects — ``.base_url`` (``http://127.0.0.1:N``),
``.control`` (a :class:`simulator.control.SimControl`), ``.stop()`` — seeded with ``SIM_SEED``,
with the clock following the wall clock, rate limits **on** (turn them off with
``sim.control.set_rate_limits(False)``), net position mode, and one account ``"test"``
(``SIM_KEY`` / ``SIM_SECRET`` / ``SIM_PASSPHRASE``, 10,000 USDT). ``sim_credentials`` returns
those credentials as a dict. Typical use::

    def test_something(sim):
        api = okx.Trade.TradeAPI(SIM_KEY, SIM_SECRET, SIM_PASSPHRASE, False, "0",
                                 domain=sim.base_url)
        sim.control.set_price("BTC-USDT-SWAP", "50000")
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from simulator.server import RunningSimulator, start_background

__all__ = ["SIM_ACCOUNT", "SIM_KEY", "SIM_PASSPHRASE", "SIM_SECRET", "SIM_SEED"]

SIM_SEED = 7
SIM_ACCOUNT = "test"
SIM_KEY = "test-key"
SIM_SECRET = "test-secret-0123456789"
SIM_PASSPHRASE = "TestPass1"


def _start() -> RunningSimulator:
    account = {
        "key": SIM_KEY,
        "secret": SIM_SECRET,
        "passphrase": SIM_PASSPHRASE,
        "balance": "10000",
        "name": SIM_ACCOUNT,
    }
    return start_background(seed=SIM_SEED, accounts=[account])


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    """A fresh simulator for one test (see the module docstring)."""
    running = _start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def sim_module() -> Iterator[RunningSimulator]:
    """One simulator shared by a test module (see the module docstring)."""
    running = _start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def sim_credentials() -> dict[str, str]:
    """``{"key", "secret", "passphrase", "name"}`` of the account both fixtures register."""
    return {"key": SIM_KEY, "secret": SIM_SECRET, "passphrase": SIM_PASSPHRASE, "name": SIM_ACCOUNT}
