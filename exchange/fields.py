"""Field readers for OKX reply items: strings, ``Decimal`` numbers and epoch-ms times, with
:class:`BadResponse` naming the field when a required one is missing or malformed. OKX sends numbers
as strings and ``""`` for "not applicable"; ``opt_*`` readers map that to None, ``zero_dec`` to 0."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from core.clock import from_ms
from exchange.errors import BadResponse

__all__ = [
    "Item", "bad", "dec", "item_of", "ms", "opt_dec", "opt_time", "req_dec", "req_str", "req_time",
    "text", "zero_dec",
]  # fmt: skip

Item = Mapping[str, Any]


def bad(what: str, value: Any = None) -> BadResponse:
    return BadResponse("", f"{what}: {value!r}" if value is not None else what)


def item_of(item: Any, what: str) -> Item:
    if not isinstance(item, Mapping):
        raise bad(f"{what} item is not an object", item)
    return item


def text(item: Item, key: str) -> str:
    value = item.get(key)
    return "" if value is None else str(value)


def req_str(item: Item, key: str) -> str:
    value = text(item, key)
    if not value:
        raise bad(f"missing required field {key!r}")
    return value


def dec(value: Any, key: str) -> Decimal:
    if isinstance(value, bool) or value is None or value == "":
        raise bad(f"missing number in {key!r}", value)
    try:
        out = Decimal(str(value))
    except InvalidOperation:
        raise bad(f"malformed number in {key!r}", value) from None
    if not out.is_finite():
        raise bad(f"non-finite number in {key!r}", value)
    return out


def req_dec(item: Item, key: str) -> Decimal:
    return dec(item.get(key), key)


def opt_dec(item: Item, key: str) -> Decimal | None:
    value = item.get(key)
    return None if value is None or value == "" else dec(value, key)


def zero_dec(item: Item, key: str) -> Decimal:
    value = opt_dec(item, key)
    return Decimal(0) if value is None else value


def ms(value: Any, key: str) -> datetime:
    try:
        return from_ms(int(str(value)))
    except (TypeError, ValueError, OverflowError, OSError):
        raise bad(f"malformed epoch-ms time in {key!r}", value) from None


def req_time(item: Item, key: str) -> datetime:
    value = item.get(key)
    if value is None or value == "":
        raise bad(f"missing required time {key!r}")
    return ms(value, key)


def opt_time(item: Item, key: str) -> datetime | None:
    value = item.get(key)
    return None if value is None or value == "" else ms(value, key)
