"""Bars and markers as stream entries: strings in Redis, parsed once at the edge.

A bar entry holds the CSV's columns as decimal strings (exactly what the CSV holds); its time is
the entry id. A missing or unparsable field is a :class:`~core.errors.DataError`, never a zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from bus.keys import id_time
from core.bars import Bar
from core.errors import DataError
from core.markers import Marker

__all__ = ["BAR_FIELDS", "bar_fields", "bar_from_entry", "marker_fields", "marker_from_entry"]

BAR_FIELDS = ("o", "h", "l", "c", "v", "vc", "vq")


def bar_fields(bar: Bar) -> dict[str, str]:
    values = (bar.open, bar.high, bar.low, bar.close, bar.volume, bar.volume_ccy, bar.volume_quote)
    return {k: str(v) for k, v in zip(BAR_FIELDS, values, strict=True)}


def _text(raw: Mapping[bytes | str, bytes | str], name: str, where: str) -> str:
    value = raw.get(name.encode(), raw.get(name))
    if value is None:
        raise DataError(f"{where}: field {name!r} missing")
    return value.decode() if isinstance(value, bytes) else value


def bar_from_entry(entry_id: bytes | str, raw: Mapping[bytes | str, bytes | str], where: str) -> Bar:
    """The bar of one stream entry; :class:`DataError` naming ``where`` if it is malformed."""
    values = []
    for name in BAR_FIELDS:
        text = _text(raw, name, where)
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise DataError(f"{where}: field {name!r} is not a number: {text!r}") from None
        if not value.is_finite():
            raise DataError(f"{where}: field {name!r} is not finite: {text!r}")
        values.append(value)
    return Bar(id_time(entry_id), *values)


def marker_fields(marker: Marker) -> dict[str, str]:
    return {"marker": marker.to_json()}


def marker_from_entry(raw: Mapping[bytes | str, bytes | str], where: str) -> Marker:
    return Marker.from_json(_text(raw, "marker", where))
