"""``raw``: OKX's reply, rebuilt from the exchange layer's typed records. Pure.

FMZ plugins put the exchange's reply in ``raw`` (the docker exposes it as ``Ticker.Info``,
``Order.Info``...). The exchange layer parses OKX replies at the edge and hands out frozen records,
never dicts, so the gateway rebuilds the reply: the OKX envelope ``{"code": "0", "msg": "", "data":
[...]}`` with one object per record, OKX's camelCase field names (``instId``, ``bidPx``, ``accFillSz``)
and OKX's value encoding (decimal strings, epoch-ms strings, ``""`` for absent, ``"true"``/``"false"``).
Order books and candles are rebuilt as OKX's arrays (``[px, sz, "0", orders]``; ``[ts, o, h, l, c,
vol, volCcy, volCcyQuote, confirm]``). Fields the exchange layer drops are absent; ``Order.extra``
(unparsed OKX fields) is merged back in. ``__api_`` passthrough replies are OKX's own data, not rebuilt.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.clock import to_ms
from exchange.records import Candle, OrderBook

__all__ = ["envelope", "okx_object", "okx_value"]

# record field -> OKX field, where camelCase of the field name is not OKX's name
_RENAMES = {
    "bid": "bidPx",
    "ask": "askPx",
    "confirmed": "confirm",
    "ts": "ts",
    "total_eq": "totalEq",
    "vol24h": "vol24h",
    "vol_ccy24h": "volCcy24h",
    "open24h": "open24h",
    "high24h": "high24h",
    "low24h": "low24h",
}
_SKIP = {"extra"}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def okx_value(value: Any) -> Any:
    """One value in OKX's encoding."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return str(to_ms(value))
    if isinstance(value, int | str):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return okx_object(value)
    if isinstance(value, list | tuple):
        return [okx_value(v) for v in value]
    return str(value)


def okx_object(record: Any) -> Any:
    """A record as OKX would send it (an object, or an array for books and candles)."""
    if isinstance(record, Candle):
        return [
            okx_value(record.ts),
            *(okx_value(v) for v in (record.open, record.high, record.low, record.close)),
            okx_value(record.vol),
            okx_value(record.vol_ccy),
            okx_value(record.vol_quote),
            "1" if record.confirmed else "0",
        ]
    if isinstance(record, OrderBook):
        return {
            "asks": [[okx_value(lv.px), okx_value(lv.sz), "0", str(lv.orders)] for lv in record.asks],
            "bids": [[okx_value(lv.px), okx_value(lv.sz), "0", str(lv.orders)] for lv in record.bids],
            "ts": okx_value(record.ts),
        }
    out: dict[str, Any] = {}
    for f in dataclasses.fields(record):
        if f.name in _SKIP:
            continue
        key = _RENAMES.get(f.name, _camel(f.name))
        value = getattr(record, f.name)
        out[key] = ("1" if value else "0") if f.name == "confirmed" else okx_value(value)
    extra = getattr(record, "extra", None)
    if isinstance(extra, dict):
        for k, v in extra.items():
            out.setdefault(str(k), v)
    return out


def envelope(records: Any) -> dict[str, Any]:
    """``{"code": "0", "msg": "", "data": [...]}`` around one record or an iterable of them."""
    items: list[Any] = [records] if dataclasses.is_dataclass(records) else list(records)
    return {"code": "0", "msg": "", "data": [okx_object(r) for r in items]}
