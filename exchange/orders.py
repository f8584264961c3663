"""Pure helpers for order requests: wire parameters, clOrdId rules, batch chunking and alignment."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from exchange.errors import BadResponse, ExchangeError, OrderRejected
from exchange.records import OrderRequest

__all__ = [
    "BATCH_MAX",
    "CL_ORD_ID_RE",
    "align_batch",
    "chunks",
    "decimal_str",
    "order_params",
    "validate_cl_ord_id",
]

BATCH_MAX = 20  # OKX: at most 20 orders per batch-orders request
CL_ORD_ID_RE = re.compile(r"^[A-Za-z0-9]{1,32}$")
T = TypeVar("T")


def decimal_str(value: Decimal) -> str:
    """Plain decimal text without exponent or trailing zeros: ``Decimal("1E+1")`` -> ``"10"``."""
    if not value.is_finite():
        raise ValueError(f"not a finite number: {value}")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def validate_cl_ord_id(cl_ord_id: str) -> None:
    """OKX accepts 1-32 ASCII letters and digits; anything else is its 51000, raised locally."""
    if not CL_ORD_ID_RE.match(cl_ord_id):
        raise OrderRejected(
            "51000",
            f"clOrdId {cl_ord_id!r} must be 1-32 letters or digits",
            endpoint="local check",
        )


def order_params(req: OrderRequest) -> dict[str, Any]:
    """The ``trade/order`` / ``batch-orders`` item for ``req`` (only the fields that are set)."""
    validate_cl_ord_id(req.cl_ord_id)
    if req.sz <= 0:
        raise OrderRejected("51000", f"order size must be positive, got {req.sz}", endpoint="local check")
    params: dict[str, Any] = {
        "instId": req.inst_id,
        "tdMode": req.td_mode,
        "side": req.side,
        "ordType": req.ord_type,
        "sz": decimal_str(req.sz),
        "clOrdId": req.cl_ord_id,
    }
    if req.px is not None:
        params["px"] = decimal_str(req.px)
    if req.pos_side is not None:
        params["posSide"] = req.pos_side
    if req.reduce_only is not None:
        params["reduceOnly"] = req.reduce_only
    if req.tgt_ccy:
        params["tgtCcy"] = req.tgt_ccy
    if req.tag:
        params["tag"] = req.tag
    return params


def chunks(items: Sequence[T], size: int = BATCH_MAX) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most ``size`` items."""
    if size < 1:
        raise ValueError("chunk size must be >= 1")
    for i in range(0, len(items), size):
        yield items[i : i + size]


def align_batch(
    sent: Sequence[dict[str, Any]], results: Sequence[Any | ExchangeError], endpoint: str
) -> list[Any | ExchangeError]:
    """Results in the order of ``sent``. OKX answers in request order; if the clOrdIds say
    otherwise, re-order by clOrdId (every order we send has one)."""

    def cl(item: Any) -> str | None:
        return str(item.get("clOrdId")) if isinstance(item, dict) and item.get("clOrdId") else None

    ids = [str(s["clOrdId"]) for s in sent]
    got = [cl(r) for r in results]
    if all(g is None or g == i for g, i in zip(got, ids, strict=True)):
        return list(results)
    by_id = {g: r for g, r in zip(got, results, strict=True) if g is not None}
    if set(by_id) != set(ids):
        missing = BadResponse("", "batch reply does not match the orders sent", endpoint=endpoint)
        return [by_id.get(i, missing) for i in ids]
    return [by_id[i] for i in ids]
