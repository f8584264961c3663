"""Seeded fault injection for ``/api/v5`` requests (never the ``/__sim`` control API).

Kinds (aliases in brackets):

- ``http_503`` [``5xx``, ``503``]: HTTP 503, body code ``50001``.
- ``code_50001`` [``50001``]: HTTP 200, body code ``50001`` (service unavailable).
- ``code_50013`` [``50013``]: HTTP 200, body code ``50013`` (system busy).
- ``rate_limit`` [``50011``, ``429``]: HTTP 429, body code ``50011``.
- ``timeout``: hold the request ``hold_ms`` (default 30 s) without processing it, then close.
- ``drop``: close the connection without a response, request not processed.
- ``lost_response``: process the request (an order is applied), then close without a response.
- ``latency``: sleep ``hold_ms`` before processing.
- ``late``: hold the request ``hold_ms`` (default 30 s, past the client's timeout), *then*
  process it (an order is applied, unless its ``expTime`` has passed by then) and close the
  connection without a response: late execution, which a client sees as a timeout.

A rule matches a path glob (``fnmatch``, query excluded) and optionally a method; it fires with
probability ``rate`` (drawn from a RNG seeded by the simulator seed) at most ``count`` times.
"""

from __future__ import annotations

import fnmatch
import random
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["KINDS", "FaultInjector", "FaultRule", "normalise_kind", "parse_fault_spec"]

KINDS = (
    "http_503", "code_50001", "code_50013", "rate_limit", "timeout", "drop", "lost_response",
    "latency", "late",
)
_ALIASES = {
    "5xx": "http_503", "503": "http_503", "50001": "code_50001", "50013": "code_50013",
    "50011": "rate_limit", "429": "rate_limit",
}
DEFAULT_MIX = ("http_503", "code_50001", "code_50013", "timeout", "drop", "lost_response")


def normalise_kind(kind: str) -> str:
    """Canonical kind name, or ValueError."""
    canonical = _ALIASES.get(kind, kind)
    if canonical not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r} (choose from {', '.join(KINDS)})")
    return canonical


_RULE_KEYS = ("kind", "kinds", "rate", "path", "method", "count", "hold_ms", "fired")


@dataclass
class FaultRule:
    """One fault rule; ``kinds`` with several entries picks one at random when it fires."""

    kinds: tuple[str, ...]
    rate: float = 1.0
    path: str = "/api/v5/*"
    method: str | None = None
    count: int | None = None
    hold_ms: int = 30_000
    fired: int = field(default=0)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultRule:
        unknown = ", ".join(repr(str(k)) for k in sorted(data, key=str) if k not in _RULE_KEYS)
        if unknown:  # a typo ("rat") would otherwise fire the fault every time, silently
            raise ValueError(f"unknown fault rule key(s) {unknown}; expected {', '.join(_RULE_KEYS)}")
        raw = data.get("kinds") or [data.get("kind", "")]
        kinds = tuple(normalise_kind(str(k)) for k in raw)
        rate = float(data.get("rate", 1.0))
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be within [0, 1]")
        count = data.get("count")
        hold = data.get("hold_ms", 30_000 if {"timeout", "late"} & set(kinds) else 0)
        method = data.get("method")
        return cls(
            kinds=kinds,
            rate=rate,
            path=str(data.get("path", "/api/v5/*")),
            method=str(method).upper() if method else None,
            count=int(count) if count is not None else None,
            hold_ms=int(hold),
        )

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["kinds"] = list(self.kinds)
        return out

    def matches(self, method: str, path: str) -> bool:
        if self.count is not None and self.fired >= self.count:
            return False
        if self.method and self.method != method.upper():
            return False
        return fnmatch.fnmatchcase(path, self.path)


def parse_fault_spec(spec: str) -> FaultRule:
    """CLI form ``KIND:RATE[:PATH]``, e.g. ``drop:0.1:/api/v5/trade/*``."""
    parts = spec.split(":", 2)
    data: dict[str, Any] = {"kind": parts[0]}
    if len(parts) > 1 and parts[1]:
        data["rate"] = float(parts[1])
    if len(parts) > 2 and parts[2]:
        data["path"] = parts[2]
    return FaultRule.from_json(data)


class FaultInjector:
    """Holds the rules, the base latency and the seeded RNG."""

    def __init__(self, seed: int, latency_ms: int = 0) -> None:
        self.seed = seed
        self.latency_ms = latency_ms
        self.rules: list[FaultRule] = []
        self._rng = random.Random(seed)  # noqa: S311 - reproducible faults, not crypto

    def reset(self, latency_ms: int = 0, rules: list[FaultRule] | None = None) -> None:
        self.latency_ms = latency_ms
        self.rules = list(rules or [])
        self._rng = random.Random(self.seed)  # noqa: S311

    def pick(self, method: str, path: str) -> tuple[str, FaultRule] | None:
        """The fault to inject into this request, if any (first matching rule that fires)."""
        if not path.startswith("/api/v5/"):
            return None
        for rule in self.rules:
            if not rule.matches(method, path):
                continue
            if self._rng.random() < rule.rate:
                rule.fired += 1
                kind = rule.kinds[0] if len(rule.kinds) == 1 else self._rng.choice(rule.kinds)
                return kind, rule
        return None

    def state(self) -> dict[str, Any]:
        return {"latency_ms": self.latency_ms, "rules": [r.to_json() for r in self.rules]}
