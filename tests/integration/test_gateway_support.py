"""Helpers shared by the gateway integration tests (no tests here).

``FmzDocker`` plays FMZ's docker: it POSTs the custom-protocol envelope to a gateway and checks the
envelope rule of the reference (§11) on every reply: HTTP 200, a JSON object with exactly one of
``data`` / ``error``, ``raw`` only next to ``data``, ``error`` a non-empty string.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import requests

from config.schema import ExchangeSettings
from gateway.calls import Options
from gateway.server import RunningGateway, start_background
from simulator.server import RunningSimulator

__all__ = [
    "AK",
    "NONCE",
    "PP",
    "SK",
    "FmzDocker",
    "check_envelope",
    "gateway_for",
    "is_int",
    "is_num",
    "register_vector_account",
]

# the reference's default credentials (§11 conventions)
AK, SK, PP = "ak_test", "sk_test", "pp_test"
NONCE = 1730275031047002000


def register_vector_account(sim: RunningSimulator, name: str = "fmz-vectors") -> None:
    """Register ``ak_test`` / ``sk_test`` / ``pp_test`` once (idempotent per simulator)."""
    if not any(a["name"] == name for a in sim.control.accounts()):
        sim.control.add_account(AK, SK, PP, balance="100000", name=name)


@contextmanager
def gateway_for(
    base_url: str, *, mode: str = "simulator", timeout_s: float = 5.0, **kwargs: Any
) -> Iterator[RunningGateway]:
    settings = ExchangeSettings(mode=mode, base_url=base_url, timeout_s=timeout_s)  # type: ignore[arg-type]
    kwargs.setdefault("options", Options())
    gw = start_background(settings, **kwargs)
    try:
        yield gw
    finally:
        gw.stop()


def is_num(value: Any) -> bool:
    """A JSON number, or a numeric string that parses to a finite float."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return math.isfinite(value)
    if isinstance(value, str) and value.strip():
        try:
            return math.isfinite(float(value))
        except ValueError:
            return False
    return False


def is_int(value: Any) -> bool:
    """An integer, or a string of digits (the guide sends ticker ``time`` as a string)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, str) and value.isdigit())


def check_envelope(status: int, reply: Any) -> dict[str, Any]:
    assert status == 200
    assert isinstance(reply, dict), reply
    assert ("data" in reply) != ("error" in reply), reply
    if "error" in reply:
        assert set(reply) == {"error"}, reply
        assert isinstance(reply["error"], str), reply
        assert reply["error"].strip(), reply
    else:
        assert set(reply) <= {"data", "raw"}, reply
    return reply


class FmzDocker:
    """A stand-in for FMZ's docker calling one gateway."""

    def __init__(self, url: str, access_key: str = AK, secret_key: str = f"{SK},{PP}") -> None:
        self.url = url
        self.access_key = access_key
        self.secret_key = secret_key
        self.session = requests.Session()

    def post_raw(self, body: bytes, headers: Mapping[str, str] | None = None, url: str | None = None) -> Any:
        resp = self.session.post(url or self.url, data=body, headers=dict(headers or {}), timeout=30)
        return check_envelope(resp.status_code, resp.json())

    def call(
        self, method: str, params: Any = None, *, http_method: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "access_key": self.access_key,
            "secret_key": self.secret_key,
            "nonce": NONCE,
            "method": method,
            "params": {} if params is None else params,
        }
        doc.update(fields)
        headers = {"Http-Method": http_method} if http_method else {}
        return dict(self.post_raw(json.dumps(doc).encode(), headers))

    def data(self, method: str, params: Any = None, **kwargs: Any) -> Any:
        reply = self.call(method, params, **kwargs)
        assert "data" in reply, reply
        return reply["data"]

    def error(self, method: str, params: Any = None, **kwargs: Any) -> str:
        reply = self.call(method, params, **kwargs)
        assert "error" in reply, reply
        return str(reply["error"])
