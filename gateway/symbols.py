"""FMZ symbols, order ids and record periods <-> OKX instruments and bars. Pure.

Symbols (case-insensitive on input, canonical on output):

============================  =================  =========
FMZ                           OKX ``instId``     instType
============================  =================  =========
``BTC_USDT``                  ``BTC-USDT``       SPOT
``BTC_USDT.swap``             ``BTC-USDT-SWAP``  SWAP
============================  =================  =========

The OKX form (``BTC-USDT``, ``BTC-USDT-SWAP``) is accepted as input too. Other FMZ contract types
(``.quarter``, ``.this_week``...) are refused: this gateway trades spot and perpetual swaps only.

Order ids are ``"<instId>,<ordId>"`` (the guide's composite form), passed back verbatim by the docker.
:func:`parse_order_id` also accepts an FMZ-symbol prefix (``BTC_USDT,123``), a doubled prefix
(``BTC_USDT,BTC-USDT,123``) and a bare ``ordId`` (the instrument then comes from ``params.symbol``).
Ids are opaque strings: never converted to numbers.

Periods are minutes (``60`` = one hour), mapped to OKX bars through :mod:`core.intervals` where the
project's intervals reach (1m..1d) and by a local table beyond (2D, 3D, 1W). Bars of 6h and longer
follow the gateway's candle timezone: ``Asia/Shanghai`` (OKX's native ``1D``) or ``UTC`` (``1Dutc``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.intervals import okx_bar
from gateway.protocol import BadRequest

__all__ = [
    "PERIODS",
    "Market",
    "fmz_symbol",
    "format_order_id",
    "parse_order_id",
    "parse_symbol",
    "period_to_bar",
]

_FMZ_RE = re.compile(r"^([A-Z0-9]{1,20})_([A-Z0-9]{2,10})(?:\.([A-Z_]+))?$")
_OKX_RE = re.compile(r"^([A-Z0-9]{1,20})-([A-Z0-9]{2,10})(-SWAP)?$")
_ORD_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

# minutes -> project interval (core.intervals) or a literal OKX bar stem
PERIODS: dict[int, str] = {
    1: "1m", 3: "3m", 5: "5m", 15: "15m", 30: "30m",
    60: "1h", 120: "2h", 240: "4h", 360: "6h", 720: "12h", 1440: "1d",
}  # fmt: skip
_LONG_PERIODS: dict[int, str] = {2880: "2D", 4320: "3D", 10080: "1W"}


@dataclass(frozen=True)
class Market:
    """A tradeable market as FMZ names it."""

    base: str
    quote: str
    swap: bool = False

    @property
    def inst_id(self) -> str:
        return f"{self.base}-{self.quote}" + ("-SWAP" if self.swap else "")

    @property
    def inst_type(self) -> str:
        return "SWAP" if self.swap else "SPOT"

    @property
    def symbol(self) -> str:
        return f"{self.base}_{self.quote}" + (".swap" if self.swap else "")


def parse_symbol(text: str) -> Market:
    """``"btc_usdt"`` / ``"BTC_USDT.swap"`` / ``"BTC-USDT-SWAP"`` -> :class:`Market`."""
    raw = text.strip().upper()
    m = _FMZ_RE.match(raw)
    if m:
        contract = m.group(3)
        if contract is None:
            return Market(m.group(1), m.group(2))
        if contract == "SWAP":
            return Market(m.group(1), m.group(2), swap=True)
        raise BadRequest(f"contract type {contract.lower()!r} not supported (only spot and .swap)")
    m = _OKX_RE.match(raw)
    if m:
        return Market(m.group(1), m.group(2), swap=m.group(3) is not None)
    raise BadRequest(f"invalid symbol {text[:40]!r}: expected BASE_QUOTE (e.g. BTC_USDT or BTC_USDT.swap)")


def fmz_symbol(inst_id: str) -> str:
    """``BTC-USDT`` -> ``BTC_USDT``; ``BTC-USDT-SWAP`` -> ``BTC_USDT.swap``; anything else unchanged."""
    m = _OKX_RE.match(inst_id)
    if not m:
        return inst_id
    return Market(m.group(1), m.group(2), swap=m.group(3) is not None).symbol


def format_order_id(inst_id: str, ord_id: str) -> str:
    """The composite id handed to FMZ: ``"BTC-USDT,123456"``."""
    return f"{inst_id},{ord_id}"


def parse_order_id(order_id: str, symbol: str | None = None) -> tuple[Market, str]:
    """``(market, ordId)`` from a composite or bare id; the bare form needs ``symbol``."""
    text = order_id.strip()
    prefix, sep, ord_id = text.rpartition(",")
    ord_id = ord_id.strip()
    if not ord_id:
        raise BadRequest("id is empty")
    if not _ORD_ID_RE.match(ord_id):
        raise BadRequest(f"invalid order id {ord_id[:40]!r}")
    if sep:
        # the instrument nearest to the ordId wins ("BTC_USDT,BTC-USDT,123" -> BTC-USDT)
        return parse_symbol(prefix.rsplit(",", 1)[-1]), ord_id
    if not symbol:
        raise BadRequest("id has no instrument prefix and symbol is missing")
    return parse_symbol(symbol), ord_id


def period_to_bar(minutes: int, tz: str = "Asia/Shanghai") -> str:
    """OKX ``bar`` for an FMZ period in minutes (``60`` -> ``1H``, ``1440`` -> ``1D`` / ``1Dutc``)."""
    if minutes in PERIODS:
        return okx_bar(PERIODS[minutes], tz)
    if minutes in _LONG_PERIODS:
        return _LONG_PERIODS[minutes] + ("utc" if tz == "UTC" else "")
    known = ", ".join(str(p) for p in (*PERIODS, *_LONG_PERIODS))
    raise BadRequest(f"period {minutes} not supported: use minutes, one of {known}")
