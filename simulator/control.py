"""Python client for the simulator's ``/__sim`` test-control API (uses ``requests``).

    ctl = SimControl("http://127.0.0.1:8081")
    ctl.set_clock("2024-01-01T00:00:00Z", mode="frozen")
    ctl.advance(60_000)
    ctl.set_price("BTC-USDT-SWAP", "50000")
    ctl.add_account("key", "secret", "pass", balance="5000", pos_mode="long_short")
    ctl.set_faults([{"kind": "drop", "rate": 1.0, "path": "/api/v5/trade/*", "count": 1}])
    ctl.set_liquidity("BTC-USDT-SWAP", "0.05")       # partial fills: 0.05 per order and second
    ctl.set_instrument_state("ETH-USDT-SWAP", "suspend")
    ctl.set_account_level("sub1", "1")                # Spot mode
    ctl.ws(delay_ms=100, jitter_ms=200, drop_confirm=["ETH-USDT-SWAP"])  # candle pushes
    ctl.ws(disconnect=True, refuse=True)              # drop every WebSocket, refuse new ones
    ctl.orders(account="key"); ctl.requests(path="/trade/"); ctl.reset()
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import requests

__all__ = ["SimControl", "SimControlError"]


class SimControlError(RuntimeError):
    """The control API rejected a call (HTTP 4xx/5xx)."""


class SimControl:
    """Thin synchronous client; every method returns the decoded JSON reply."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()

    def _call(self, method: str, name: str, body: Mapping[str, Any] | None = None,
              params: Mapping[str, Any] | None = None) -> Any:
        url = f"{self.base_url}/__sim/{name}"
        query = {k: v for k, v in (params or {}).items() if v is not None}
        resp = self._session.request(method, url, json=body, params=query, timeout=self.timeout)
        if resp.status_code >= 400:
            raise SimControlError(f"{method} /__sim/{name}: {resp.status_code} {resp.text}")
        return resp.json()

    def close(self) -> None:
        self._session.close()

    # -- clock -----------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "status")
        return result

    def clock(self) -> dict[str, Any]:
        """``{now_ms, iso, mode, speed}``."""
        result: dict[str, Any] = self._call("GET", "clock")
        return result

    def now_ms(self) -> int:
        return int(self.clock()["now_ms"])

    def set_clock(
        self, at: int | str | datetime | None = None, *, mode: str | None = None,
        speed: float | None = None,
    ) -> dict[str, Any]:
        """Jump to ``at`` (epoch ms, ISO 8601 or aware datetime); optionally set mode/speed."""
        body: dict[str, Any] = {}
        if isinstance(at, datetime):
            if at.tzinfo is None:
                raise ValueError("set_clock needs an aware datetime")
            body["now_ms"] = int(at.timestamp() * 1000)
        elif at is not None:
            body["now_ms"] = at
        if mode is not None:
            body["mode"] = mode
        if speed is not None:
            body["speed"] = speed
        result: dict[str, Any] = self._call("POST", "clock", body)
        return result

    def advance(self, ms: int) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "clock", {"advance_ms": int(ms)})
        return result

    def freeze(self) -> dict[str, Any]:
        return self.set_clock(mode="frozen")

    def run(self, speed: float | None = None) -> dict[str, Any]:
        return self.set_clock(mode="running", speed=speed)

    # -- market ----------------------------------------------------------------------------
    def price(self, inst_id: str) -> Decimal:
        return Decimal(self._call("GET", "price", params={"instId": inst_id})["price"])

    def set_price(self, inst_id: str, price: Decimal | str | float) -> dict[str, Any]:
        """Move the coin's path so ``inst_id`` trades at ``price`` from now on."""
        result: dict[str, Any] = self._call(
            "POST", "price", {"instId": inst_id, "price": str(price)}
        )
        return result

    # -- served candles ----------------------------------------------------------------------
    def hide_candle(self, inst_id: str, ts_ms: int, bar: str = "1m") -> list[dict[str, Any]]:
        """Never serve the ``bar`` row opening at ``ts_ms`` (a hole OKX does not fill)."""
        result: list[dict[str, Any]] = self._call(
            "POST", "candle-edits", {"instId": inst_id, "bar": bar, "ts": ts_ms, "hidden": True}
        )
        return result

    def edit_candle(
        self, inst_id: str, ts_ms: int, fields: Mapping[str, str], bar: str = "1m"
    ) -> list[dict[str, Any]]:
        """Serve that row with ``fields`` (``o h l c vol volCcy volCcyQuote``) replaced."""
        body = {"instId": inst_id, "bar": bar, "ts": ts_ms, "fields": dict(fields)}
        result: list[dict[str, Any]] = self._call("POST", "candle-edits", body)
        return result

    def clear_candle_edits(self, inst_id: str | None = None) -> list[dict[str, Any]]:
        """Serve every row as generated again."""
        result: list[dict[str, Any]] = self._call("DELETE", "candle-edits", params={"instId": inst_id})
        return result

    # -- liquidity, instrument state, account level ------------------------------------------
    def liquidity(self) -> dict[str, Decimal]:
        """``{instId: max_fill_sz}`` of every instrument whose liquidity is limited."""
        raw: dict[str, str] = self._call("GET", "liquidity")
        return {k: Decimal(v) for k, v in raw.items()}

    def set_liquidity(self, inst_id: str, max_fill_sz: Decimal | str | int) -> dict[str, Decimal]:
        """Fill orders on ``inst_id`` at most ``max_fill_sz`` (whole lots) per simulated second."""
        self._call("POST", "liquidity", {"instId": inst_id, "max_fill_sz": str(max_fill_sz)})
        return self.liquidity()

    def clear_liquidity(self, inst_id: str | None = None) -> dict[str, Decimal]:
        """Unlimited liquidity again for ``inst_id`` (or every instrument)."""
        self._call("DELETE", "liquidity", params={"instId": inst_id})
        return self.liquidity()

    def instrument_state(self, inst_id: str) -> str:
        return str(self._call("GET", "instrument-state", params={"instId": inst_id})["state"])

    def set_instrument_state(self, inst_id: str, state: str) -> dict[str, Any]:
        """``live``, ``suspend``, ``preopen`` or ``test``; only ``live`` trades (else ``51001``)."""
        result: dict[str, Any] = self._call(
            "POST", "instrument-state", {"instId": inst_id, "state": state}
        )
        return result

    def account_level(self, account: str) -> str:
        return str(self._call("GET", "account-level", params={"account": account})["acctLv"])

    def set_account_level(self, account: str, acct_lv: str | int) -> dict[str, Any]:
        """Set the ``acctLv`` of the account named ``account`` (1 Spot, 2 Futures, 3, 4)."""
        result: dict[str, Any] = self._call(
            "POST", "account-level", {"account": account, "acctLv": str(acct_lv)}
        )
        return result

    # -- orders, requests --------------------------------------------------------------------
    def orders(
        self, account: str | None = None, inst_id: str | None = None, state: str | None = None,
        cl_ord_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Every order received: account, endpoint, request, response, ordId, state, order."""
        params = {"account": account, "instId": inst_id, "state": state, "clOrdId": cl_ord_id}
        result: list[dict[str, Any]] = self._call("GET", "orders", params=params)
        return result

    def requests(
        self, limit: int | None = None, path: str | None = None, account: str | None = None
    ) -> list[dict[str, Any]]:
        """Request log: ts, method, path, account, status, code, duration_ms, fault."""
        params = {"limit": limit, "path": path, "account": account}
        result: list[dict[str, Any]] = self._call("GET", "requests", params=params)
        return result

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    # -- faults, limits, settings -----------------------------------------------------------
    def faults(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "faults")
        return result

    def set_faults(
        self, rules: Sequence[Mapping[str, Any]] = (), *, latency_ms: int | None = None,
        append: bool = False,
    ) -> dict[str, Any]:
        """Replace (or append to) the fault rules; each rule: kind(s), rate, path, method,
        count, hold_ms. Kinds: http_503, code_50001, code_50013, rate_limit, timeout, drop,
        lost_response, latency."""
        body: dict[str, Any] = {"rules": [dict(r) for r in rules], "append": append}
        if latency_ms is not None:
            body["latency_ms"] = latency_ms
        result: dict[str, Any] = self._call("POST", "faults", body)
        return result

    def add_fault(self, kind: str, rate: float = 1.0, path: str = "/api/v5/*",
                  **extra: Any) -> dict[str, Any]:
        return self.set_faults([{"kind": kind, "rate": rate, "path": path, **extra}],
                               append=True)

    def clear_faults(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("DELETE", "faults")
        return result

    def set_latency(self, ms: int) -> dict[str, Any]:
        return self.settings(latency_ms=ms)

    def set_rate_limits(self, enabled: bool) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "rate-limits", {"enabled": enabled})
        return result

    def settings(self, **changes: Any) -> dict[str, Any]:
        """Read or change ``skew_check``, ``rate_limits``, ``latency_ms``."""
        method = "POST" if changes else "GET"
        result: dict[str, Any] = self._call(method, "settings", changes or None)
        return result

    # -- accounts, reset ----------------------------------------------------------------------
    def add_account(
        self, key: str, secret: str, passphrase: str, *, balance: Decimal | str | int = "10000",
        pos_mode: str | None = None, name: str | None = None, acct_lv: str | int | None = None,
    ) -> dict[str, Any]:
        """Register an account; returns ``{name, uid, pos_mode, acct_lv, cash, ...}``."""
        body = {"key": key, "secret": secret, "passphrase": passphrase,
                "balance": str(balance), "pos_mode": pos_mode, "name": name,
                "acct_lv": None if acct_lv is None else str(acct_lv)}
        result: dict[str, Any] = self._call("POST", "accounts", body)
        return result

    def accounts(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "accounts")
        return result

    # -- business WebSocket ---------------------------------------------------------------------
    def ws(self, **changes: Any) -> dict[str, Any]:
        """Candle-push settings and counters; changes among ``delay_ms, jitter_ms, update_ms,
        idle_ms, drop_rate, drop_confirm=[instId], never_confirm=[instId], echo, refuse``, and the
        actions ``disconnect=True`` (close every connection), ``reset=True`` (defaults)."""
        if not changes:
            result: dict[str, Any] = self._call("GET", "ws")
            return result
        result = self._call("POST", "ws", changes)
        return result

    # -- treasury (issue #16) -------------------------------------------------------------------
    def treasury(self, **changes: Any) -> dict[str, Any]:
        """Read or change the master-account book: ``master``, ``settlement`` (58111 window),
        ``forced`` {account: code}, ``can_trans_out`` {account: bool}, ``funding`` {account: USDT}."""
        result: dict[str, Any] = self._call("POST" if changes else "GET", "treasury", changes or None)
        return result

    def reset(self) -> dict[str, Any]:
        """Back to the start-up state: accounts, clock, faults, limits, logs, price overrides,
        instrument states and liquidity (the start-up ``liquidity`` option applies again)."""
        result: dict[str, Any] = self._call("POST", "reset", {})
        return result
