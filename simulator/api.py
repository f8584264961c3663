"""Types shared by the ``/api/v5`` handlers: request context, reply, route table entries."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from simulator.catalogue import Instrument
from simulator.errors import OkxError
from simulator.validation import text

if TYPE_CHECKING:
    from simulator.accounts import Account
    from simulator.state import SimState

__all__ = ["Ctx", "Handler", "Reply", "Route", "int_param", "require", "require_inst"]


@dataclass
class Ctx:
    """One authenticated (or public) request as the handlers see it."""

    state: SimState
    method: str
    path: str
    query: Mapping[str, str]
    body: Any  # parsed JSON of a POST (dict or list), {} for GET
    account: Account | None
    now: int

    def param(self, key: str) -> str:
        """Query parameter (GET) or body field (POST object) as text, '' when absent."""
        source = self.body if isinstance(self.body, Mapping) and self.method == "POST" else self.query
        return text(source, key)

    @property
    def acct(self) -> Account:
        if self.account is None:  # private routes always authenticate first
            raise OkxError("50103")
        return self.account


@dataclass
class Reply:
    """An OKX envelope: ``code``/``msg``/``data`` plus extras such as ``inTime``/``outTime``."""

    data: list[Any] = field(default_factory=list)
    code: str = "0"
    msg: str = ""
    http: int = 200
    extra: dict[str, str] = field(default_factory=dict)
    with_data: bool = True

    def envelope(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "msg": self.msg}
        if self.with_data:
            out["data"] = self.data
        out.update(self.extra)
        return out


Handler = Callable[[Ctx], Reply]


@dataclass(frozen=True)
class Route:
    """A handler and whether it needs a signed request."""

    handler: Handler
    private: bool = False


def require(ctx: Ctx, key: str) -> str:
    """A mandatory parameter, else ``50014 Parameter <key> can not be empty``."""
    value = ctx.param(key)
    if not value:
        raise OkxError("50014", key)
    return value


def require_inst(ctx: Ctx, key: str = "instId") -> Instrument:
    """A mandatory, existing instrument (``50014`` / ``51001``)."""
    inst = ctx.state.instruments.get(require(ctx, key))
    if inst is None:
        raise OkxError("51001")
    return inst


def int_param(ctx: Ctx, key: str, default: int | None, lo: int, hi: int) -> int | None:
    """Optional integer parameter within ``[lo, hi]``, else ``51000 Parameter <key> error``."""
    raw = ctx.param(key)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise OkxError("51000", key) from None
    if not lo <= value <= hi:
        raise OkxError("51000", key)
    return value
