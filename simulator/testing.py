"""A minimal signed OKX V5 HTTP client for tests (independent of ``exchange/`` and the libraries).

    raw = RawOkx(sim.base_url, key, secret, passphrase)
    raw.get("/api/v5/account/balance").json()
    raw.post("/api/v5/trade/order", {"instId": ..., ...}).json()
    raw.request("GET", "/api/v5/account/balance", ts="2020-01-01T00:00:00.000Z")  # skew test

Timestamps come from the simulator's own clock (``/__sim/clock``) unless given, so tests that move
the clock still sign correctly.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import requests

from simulator.clock import iso_ms

__all__ = ["RawOkx", "ok_data", "sign_request"]


def sign_request(secret: str, ts: str, method: str, path: str, body: str) -> str:
    """base64(HMAC-SHA256(secret, ts + METHOD + path?query + body))."""
    message = (ts + method.upper() + path + body).encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


class RawOkx:
    """Signed requests against a simulator (or any OKX-compatible base URL)."""

    def __init__(self, base_url: str, key: str = "", secret: str = "", passphrase: str = "",
                 timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.key, self.secret, self.passphrase = key, secret, passphrase
        self.timeout = timeout
        self.session = requests.Session()

    def _server_ts(self) -> str:
        reply = self.session.get(f"{self.base_url}/__sim/clock", timeout=self.timeout)
        return iso_ms(int(reply.json()["now_ms"]))

    def request(
        self, method: str, path: str, body: Any = None, *, ts: str | None = None,
        signed: bool = True, headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> requests.Response:
        """Send ``path`` (with its query) exactly as given; the body is compact JSON."""
        raw = "" if body is None else json.dumps(body, separators=(",", ":"))
        sent: dict[str, str] = {"Content-Type": "application/json"}
        if signed:
            stamp = ts if ts is not None else self._server_ts()
            sent.update({
                "OK-ACCESS-KEY": self.key,
                "OK-ACCESS-PASSPHRASE": self.passphrase,
                "OK-ACCESS-TIMESTAMP": stamp,
                "OK-ACCESS-SIGN": sign_request(self.secret, stamp, method, path, raw),
            })
        sent.update(headers or {})
        return self.session.request(method, self.base_url + path, data=raw.encode() or None,
                                    headers=sent, timeout=timeout or self.timeout)

    def get(self, path: str, params: Mapping[str, Any] | None = None,
            **kwargs: Any) -> requests.Response:
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None}, safe=",")
        return self.request("GET", path + (f"?{query}" if query else ""), **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, body, **kwargs)

    def close(self) -> None:
        self.session.close()


def ok_data(reply: Any) -> list[dict[str, Any]]:
    """The ``data`` of a raw reply that must be a success (``code`` "0"); asserts otherwise."""
    body = reply.json()
    assert body["code"] == "0", body
    data: list[dict[str, Any]] = body["data"]
    return data
