"""Parsing and validation of order requests into typed :class:`OrderRequest` values.

Accepts both client dialects: python-okx sends every optional field (``""`` = absent, ``null``
for ``attachAlgoOrds``), ccxt sends compact JSON and sometimes numbers instead of strings.
Failures raise :class:`Rejected` carrying the per-order ``sCode``/``sMsg``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from simulator.catalogue import Instrument
from simulator.errors import MESSAGES

__all__ = [
    "MAX_MAGNITUDE",
    "ORD_TYPES",
    "OrderRequest",
    "Rejected",
    "decimal_param",
    "parse_order",
    "text",
    "valid_cl_ord_id",
]

ORD_TYPES = frozenset({"market", "limit", "post_only", "fok", "ioc", "optimal_limit_ioc"})
PRICED = frozenset({"limit", "post_only", "fok", "ioc"})
_CL_ORD_ID = re.compile(r"[A-Za-z0-9]{1,32}")
_TAG = re.compile(r"[A-Za-z0-9]{0,16}")


class Rejected(Exception):
    """A per-item rejection: ``code`` becomes ``sCode``, ``msg`` becomes ``sMsg``."""

    def __init__(self, code: str, *args: str, msg: str | None = None) -> None:
        template = MESSAGES.get(code, "Error")
        self.code = code
        self.msg = msg if msg is not None else template.format(*args) if args else template
        super().__init__(f"{code} {self.msg}")


def text(params: Mapping[str, Any], key: str) -> str:
    """A parameter as text; ``None`` and missing are ``""``; booleans as ``true``/``false``."""
    value = params.get(key)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


# No OKX size or price comes near 1e15; beyond it Decimal arithmetic (lot and tick remainders)
# would overflow its 28 digits, so OKX's parameter error answers it, not a crash.
MAX_MAGNITUDE = Decimal("1e15")


def decimal_param(value: str, name: str, *, positive: bool = True) -> Decimal:
    """Parse a decimal parameter or reject with ``51000 Parameter <name> error``."""
    try:
        out = Decimal(value)
    except (InvalidOperation, ValueError):
        raise Rejected("51000", name) from None
    if not out.is_finite() or (positive and out <= 0) or abs(out) >= MAX_MAGNITUDE:
        raise Rejected("51000", name)
    return out


def valid_cl_ord_id(value: str) -> bool:
    return _CL_ORD_ID.fullmatch(value) is not None


@dataclass(frozen=True)
class OrderRequest:
    """A validated order (sizes still as requested; spot quote-sized market buys converted later)."""

    inst: Instrument
    td_mode: str
    side: str
    pos_side: str  # "net", "long" or "short"
    ord_type: str
    sz: Decimal
    px: Decimal | None
    reduce_only: bool
    tgt_ccy: str
    cl_ord_id: str
    tag: str

    @property
    def closing(self) -> bool:
        """long/short mode: sell+long or buy+short closes."""
        return (self.pos_side, self.side) in {("long", "sell"), ("short", "buy")}


def _check_lot(inst: Instrument, sz: Decimal) -> None:
    if sz % inst.lot_sz != 0:
        raise Rejected("51121")
    if sz < inst.min_sz:
        raise Rejected("51020")


def parse_order(
    item: Mapping[str, Any], instruments: Mapping[str, Instrument], long_short: bool
) -> OrderRequest:
    """Validate one order object as OKX does; raise :class:`Rejected` on the first problem."""
    if not isinstance(item, Mapping):
        raise Rejected("51000", "body")
    inst_id = text(item, "instId")
    if not inst_id:
        raise Rejected("50014", "instId")
    inst = instruments.get(inst_id)
    if inst is None:
        raise Rejected("51001")
    cl_ord_id, tag = text(item, "clOrdId"), text(item, "tag")
    if cl_ord_id and not valid_cl_ord_id(cl_ord_id):
        raise Rejected("51000", "clOrdId")
    if not _TAG.fullmatch(tag):
        raise Rejected("51000", "tag")
    td_mode = text(item, "tdMode")
    if not td_mode:
        raise Rejected("50014", "tdMode")
    if td_mode not in ({"cross", "isolated"} if inst.is_swap else {"cash"}):
        raise Rejected("51000", "tdMode")
    side = text(item, "side")
    if side not in {"buy", "sell"}:
        raise Rejected("51000", "side")
    ord_type = text(item, "ordType")
    if ord_type not in ORD_TYPES or (ord_type == "optimal_limit_ioc" and not inst.is_swap):
        raise Rejected("51000", "ordType")
    raw_sz = text(item, "sz")
    if not raw_sz:
        raise Rejected("50014", "sz")
    sz = decimal_param(raw_sz, "sz")
    pos_side = text(item, "posSide")
    if not inst.is_swap:
        pos_side = "net"
    elif long_short:
        if pos_side not in {"long", "short"}:
            raise Rejected("51000", "posSide")
    elif pos_side not in {"", "net"}:
        raise Rejected("51000", "posSide")
    else:
        pos_side = "net"
    px: Decimal | None = None
    if ord_type in PRICED:
        raw_px = text(item, "px")
        if not raw_px:
            raise Rejected("51000", "px")
        px = decimal_param(raw_px, "px")
        if px % inst.tick_sz != 0:
            raise Rejected("51000", "px")
    tgt_ccy = text(item, "tgtCcy")
    if tgt_ccy not in {"", "base_ccy", "quote_ccy"}:
        raise Rejected("51000", "tgtCcy")
    if inst.is_swap or ord_type != "market":
        tgt_ccy = "" if inst.is_swap else tgt_ccy
        _check_lot(inst, sz)
    elif not tgt_ccy:
        tgt_ccy = "quote_ccy" if side == "buy" else "base_ccy"
    if not inst.is_swap and ord_type == "market" and tgt_ccy == "base_ccy":
        _check_lot(inst, sz)
    reduce_only = text(item, "reduceOnly").lower() == "true" and inst.is_swap and not long_short
    return OrderRequest(
        inst, td_mode, side, pos_side, ord_type, sz, px, reduce_only, tgt_ccy, cl_ord_id, tag
    )


def check_lot(inst: Instrument, sz: Decimal) -> None:
    """Lot-size and minimum-size checks (``51121``, ``51020``)."""
    _check_lot(inst, sz)
