"""Simulator options and the mutable state of one running simulator.

All state lives on the server's event loop; handlers are synchronous, so no locking is needed.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from simulator.accounts import Account
from simulator.candles import CandleService
from simulator.catalogue import CATALOGUE, Instrument, synthetic_swaps
from simulator.clock import SimClock
from simulator.faults import DEFAULT_MIX, FaultInjector, FaultRule
from simulator.feed import MarketFeed
from simulator.matching import Engine
from simulator.orders import Order
from simulator.prices import stable_key
from simulator.ratelimit import RateLimiter
from simulator.treasury_book import TreasuryBook

__all__ = [
    "ACCT_LEVELS",
    "STATE",
    "AccountSpec",
    "OrderRecord",
    "RequestRecord",
    "SimOptions",
    "SimState",
    "normalise_pos_mode",
]

log = logging.getLogger(__name__)

_REQUEST_LOG = 20_000
ACCT_LEVELS = frozenset({"1", "2", "3", "4"})


def normalise_pos_mode(value: str) -> str:
    """``net``/``net_mode`` -> ``net_mode``; ``long_short``/``long_short_mode`` -> ``long_short_mode``."""
    mode = value.strip().lower()
    if mode in {"net", "net_mode"}:
        return "net_mode"
    if mode in {"long_short", "long_short_mode", "hedge"}:
        return "long_short_mode"
    raise ValueError(f"unknown position mode {value!r} (net or long_short)")


@dataclass(frozen=True)
class AccountSpec:
    """An account to register: API key, secret, passphrase, starting USDT, position mode, and a
    display name (default ``accountN``; the key itself is never used as a name or logged)."""

    key: str
    secret: str
    passphrase: str
    balance: Decimal = Decimal(10000)
    pos_mode: str | None = None
    name: str | None = None
    acct_lv: str = "2"

    def __repr__(self) -> str:  # never show secrets
        return f"AccountSpec(name={self.name!r}, balance={self.balance})"

    @classmethod
    def parse(cls, text: str) -> AccountSpec:
        """CLI form ``KEY:SECRET:PASSPHRASE[:USDT]``."""
        parts = text.split(":")
        if len(parts) not in (3, 4) or not all(parts[:3]):
            raise ValueError("account must be KEY:SECRET:PASSPHRASE[:USDT]")
        try:
            balance = Decimal(parts[3]) if len(parts) == 4 else Decimal(10000)
        except InvalidOperation:
            raise ValueError("account balance must be a number") from None
        return cls(parts[0], parts[1], parts[2], balance)


@dataclass
class SimOptions:
    """Everything that configures a simulator (CLI flags and ``start_background`` kwargs)."""

    seed: int = 7
    accounts: list[AccountSpec] = field(default_factory=list)
    pos_mode: str = "net"
    latency_ms: int = 0
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = DEFAULT_MIX
    fault_path: str = "/api/v5/*"
    faults: list[FaultRule] = field(default_factory=list)
    timeout_hold_ms: int = 30_000
    rate_limits: bool = True
    clock_start_ms: int | None = None
    clock_speed: float = 1.0
    clock_frozen: bool = False
    clock_anchor_wall_ms: int | None = None
    skew_check: bool = True
    extra_instruments: int = 0  # synthetic swaps S001-USDT-SWAP ... for benchmarks
    liquidity: dict[str, Decimal] = field(default_factory=dict)  # instId -> max fill per second
    master: str | None = None  # name of the master account (the others are its sub-accounts)

    def fault_rules(self) -> list[FaultRule]:
        rules = [FaultRule(**{**r.__dict__, "fired": 0}) for r in self.faults]
        if self.fault_rate > 0:
            rules.append(FaultRule(self.fault_kinds, self.fault_rate, self.fault_path,
                                   hold_ms=self.timeout_hold_ms))
        return rules

    def __post_init__(self) -> None:
        # Each of these used to be accepted and then misbehave quietly (time running backwards,
        # a fault "rate" of 2, negative sleeps): refuse them where the simulator is configured.
        if not 0 < self.clock_speed <= 1e6:  # NaN fails too
            raise ValueError(f"clock speed must be > 0 (freeze the clock to stop it), got {self.clock_speed}")
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError(f"fault rate is a probability in [0, 1], got {self.fault_rate}")
        for name in ("latency_ms", "timeout_hold_ms"):
            if not 0 <= getattr(self, name) <= 600_000:
                raise ValueError(f"{name} must be 0..600000, got {getattr(self, name)}")


@dataclass(frozen=True)
class RequestRecord:
    """One ``/api/v5`` request as logged for ``/__sim/requests`` (never secrets)."""

    ts: int
    method: str
    path: str
    account: str | None
    status: int
    code: str
    duration_ms: float
    fault: str | None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class OrderRecord:
    """Every order received (accepted or not), for ``/__sim/orders``."""

    seq: int
    ts: int
    account: str
    endpoint: str
    request: Any
    response: dict[str, Any]
    order: Order | None

    def to_json(self) -> dict[str, Any]:
        order = self.order
        return {
            "seq": self.seq,
            "ts": self.ts,
            "account": self.account,
            "endpoint": self.endpoint,
            "request": self.request,
            "response": self.response,
            "ordId": order.ord_id if order else "",
            "clOrdId": order.cl_ord_id if order else self.response.get("clOrdId", ""),
            "instId": order.inst.inst_id if order else "",
            "state": order.state if order else "rejected",
            "order": order.to_okx() if order else None,
        }


class SimState:
    """Clock, market, accounts, engine, faults, limits and logs of one simulator."""

    def __init__(self, options: SimOptions) -> None:
        self.options = options
        self.instruments: dict[str, Instrument] = CATALOGUE
        if options.extra_instruments:
            self.instruments = {**CATALOGUE, **synthetic_swaps(options.extra_instruments)}
        self.main_uid = str(stable_key("main", options.seed) % 10**17 + 10**17)
        self._build()

    def _build(self) -> None:
        opts = self.options
        self.clock = SimClock(
            opts.clock_start_ms,
            speed=opts.clock_speed,
            frozen=opts.clock_frozen,
            anchor_wall_ms=opts.clock_anchor_wall_ms,
        )
        self.feed = MarketFeed(opts.seed, self.instruments)
        self.candles = CandleService(self.feed)
        self.engine = Engine(self.feed)
        for inst_id, max_fill_sz in opts.liquidity.items():
            inst = self.instruments.get(inst_id)
            if inst is None:
                raise ValueError(f"liquidity: unknown instrument {inst_id!r}")
            self.engine.venue.set_liquidity(inst, Decimal(max_fill_sz))
        self.faults = FaultInjector(opts.seed, opts.latency_ms)
        self.faults.reset(opts.latency_ms, opts.fault_rules())
        self.limiter = RateLimiter(opts.rate_limits)
        self.skew_check = opts.skew_check
        self.accounts: dict[str, Account] = {}
        self.requests: deque[RequestRecord] = deque(maxlen=_REQUEST_LOG)
        self.order_log: list[OrderRecord] = []
        self.treasury = TreasuryBook(opts.master)
        for spec in opts.accounts:
            self.add_account(spec)

    def reset(self) -> None:
        """Back to the state right after start-up (accounts, clock, faults, limits, logs)."""
        self._build()
        log.info("simulator reset")

    def now(self) -> int:
        return self.clock.now_ms()

    def sync(self, now: int | None = None) -> int:
        """Fill resting orders the price path crossed since the last evaluation."""
        return self.engine.sync(self.accounts.values(), self.now() if now is None else now)

    def add_account(self, spec: AccountSpec) -> Account:
        """Register an account (ValueError if the key or name is taken)."""
        name = spec.name or f"account{len(self.accounts) + 1}"  # never the key: it is a secret
        if spec.key in self.accounts:
            raise ValueError(f"API key of account {name!r} already registered")
        if any(a.name == name for a in self.accounts.values()):
            raise ValueError(f"account name {name!r} already registered")
        if spec.balance < 0:
            raise ValueError("balance must not be negative")
        mode = normalise_pos_mode(spec.pos_mode or self.options.pos_mode)
        uid = str(stable_key("uid", self.options.seed, name) % 10**17 + 10**17)
        if spec.acct_lv not in ACCT_LEVELS:
            raise ValueError(f"acctLv must be one of {', '.join(sorted(ACCT_LEVELS))}")
        acct = Account(name, spec.key, spec.secret, spec.passphrase, uid, mode, spec.balance,
                       acct_lv=spec.acct_lv)
        acct.u_time = self.now()
        self.accounts[spec.key] = acct
        log.info("account %s registered (uid %s, %s)", name, uid, mode)
        return acct

    def account_by_name(self, name: str) -> Account | None:
        return next((a for a in self.accounts.values() if a.name == name), None)

    def set_acct_lv(self, acct: Account, level: str) -> None:
        """Switch the account mode (refused while positions or orders are open, as on OKX)."""
        if level not in ACCT_LEVELS:
            raise ValueError(f"acctLv must be one of {', '.join(sorted(ACCT_LEVELS))}")
        if level != acct.acct_lv and (acct.positions or acct.pending()):
            raise ValueError(f"account {acct.name!r}: close its positions and orders first")
        acct.acct_lv = level
        log.info("account %s: acctLv %s", acct.name, level)

    def record_order(
        self, acct: Account, endpoint: str, request: Any, response: dict[str, Any],
        order: Order | None,
    ) -> None:
        if order is not None:
            order.endpoint, order.request, order.response = endpoint, request, response
        self.order_log.append(OrderRecord(
            len(self.order_log) + 1, self.now(), acct.name, endpoint, request, response, order
        ))


STATE: web.AppKey[SimState] = web.AppKey("okx_simulator_state", SimState)
