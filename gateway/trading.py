"""Account, trading, futures and passthrough handlers (signed; need the request's credentials).

``trade`` conventions:

- ``price <= 0`` -> market order (legacy FMZ ``Buy(-1, amount)``), never a limit order at -1;
  otherwise a limit order at ``price``. A spot market **buy** takes ``amount`` in the quote
  currency (FMZ's convention and OKX's default ``tgtCcy``); every other spot amount is base units.
- Swaps (``BTC_USDT.swap``): ``amount`` is contracts, ``tdMode`` the gateway's ``--margin-mode``.
  ``type`` ``buy`` / ``sell`` open long / short; ``closebuy`` closes a long (sell), ``closesell``
  a short (buy) -- FMZ's ``SetDirection`` names (UNCONFIRMED that the docker sends them in ``type``).
  Net mode closes with ``reduceOnly``; long/short mode sets ``posSide`` (the account's position
  mode is read once per client and remembered).
- Every order carries a fresh ``clOrdId`` (``fmz`` + 29 hex digits). If OKX's answer is lost
  (:class:`UnknownOutcome`), the order is looked up by that id once before reporting an error.
"""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import parse_qsl

from core.clock import to_ms
from exchange import UnknownOutcome
from exchange.records import OrderRequest, PosSide
from gateway import convert, raw
from gateway.calls import Call, Reply
from gateway.protocol import BadRequest, param_decimal, param_int, param_str
from gateway.symbols import Market, format_order_id, parse_order_id, parse_symbol

__all__ = [
    "accounts",
    "api_passthrough",
    "assets",
    "cancel",
    "history_orders",
    "margin_level",
    "order",
    "order_request",
    "orders",
    "positions",
    "trade",
]

log = logging.getLogger(__name__)

HISTORY_DEFAULT = 100
_TYPES = ("buy", "sell", "closebuy", "closesell")
_MAX_PATH = 200


def accounts(call: Call) -> Reply:
    balance = call.account().balance()
    return convert.account_rows(balance), raw.envelope(balance)


def assets(call: Call) -> Reply:
    return accounts(call)


# ---- orders -------------------------------------------------------------------------------


def order_request(
    market: Market, kind: str, price: Decimal, amount: Decimal, cl_ord_id: str, *,
    margin_mode: str = "cross", pos_mode: str = "net_mode",
) -> OrderRequest:  # fmt: skip
    """The OKX order for an FMZ ``trade`` call (pure)."""
    if kind not in _TYPES:
        raise BadRequest(f"type must be one of {', '.join(_TYPES)}, got {kind[:20]!r}")
    if amount <= 0:
        raise BadRequest(f"amount must be > 0, got {amount}")
    market_order = price <= 0
    common: dict[str, Any] = {
        "inst_id": market.inst_id,
        "ord_type": "market" if market_order else "limit",
        "sz": amount,
        "cl_ord_id": cl_ord_id,
        "px": None if market_order else price,
    }
    if not market.swap:
        if kind not in ("buy", "sell"):
            raise BadRequest(f"type {kind} is for swaps; spot orders are buy or sell")
        return OrderRequest(td_mode="cash", side="buy" if kind == "buy" else "sell", **common)
    closing = kind.startswith("close")
    side: Literal["buy", "sell"] = "buy" if kind in ("buy", "closesell") else "sell"
    if pos_mode == "long_short_mode":
        pos_side: PosSide = "long" if kind in ("buy", "closebuy") else "short"
        return OrderRequest(td_mode=margin_mode, side=side, pos_side=pos_side, **common)
    return OrderRequest(td_mode=margin_mode, side=side, reduce_only=True if closing else None, **common)


def _pos_mode(call: Call) -> str:
    session = call.session()
    mode = session.memo.get("pos_mode")
    if mode is None:
        mode = session.client.account_config().pos_mode
        session.memo["pos_mode"] = mode
    return str(mode)


def trade(call: Call) -> Reply:
    market = call.market()
    kind = param_str(call.params, "type").lower()
    price = param_decimal(call.params, "price")
    amount = param_decimal(call.params, "amount")
    cl_ord_id = "fmz" + uuid.uuid4().hex[:29]
    pos_mode = _pos_mode(call) if market.swap and kind in _TYPES else "net_mode"
    req = order_request(
        market, kind, price, amount, cl_ord_id, margin_mode=call.options.margin_mode, pos_mode=pos_mode
    )
    client = call.account()
    try:
        ack = client.place_order(req)
    except UnknownOutcome:
        found = client.find_order(market.inst_id, cl_ord_id)
        if found is None:
            raise
        log.warning("trade: reply lost, order %s found by clOrdId", found.ord_id)
        return {"id": format_order_id(found.inst_id, found.ord_id)}, raw.envelope(found)
    return {"id": format_order_id(market.inst_id, ack.ord_id)}, raw.envelope(ack)


def _symbol_param(call: Call) -> str | None:
    value = call.params.get("symbol")
    return value.strip() if isinstance(value, str) and value.strip() else None


def orders(call: Call) -> Reply:
    """Open orders of ``symbol`` (every open order when ``symbol`` is empty), oldest first."""
    symbol = _symbol_param(call)
    client = call.account()
    if symbol:
        market = parse_symbol(symbol)
        rows = client.pending_orders(market.inst_type, market.inst_id)
    else:
        rows = client.pending_orders()
    rows.sort(key=lambda o: (o.c_time is None, o.c_time, o.ord_id))
    return [convert.order_data(o) for o in rows], raw.envelope(rows)


def order(call: Call) -> Reply:
    market, ord_id = parse_order_id(param_str(call.params, "id"), _symbol_param(call))
    o = call.account().get_order(market.inst_id, ord_id=ord_id)
    return convert.order_data(o), raw.envelope(o)


def cancel(call: Call) -> Reply:
    market, ord_id = parse_order_id(param_str(call.params, "id"), _symbol_param(call))
    ack = call.account().cancel_order(market.inst_id, ord_id=ord_id)
    return True, raw.envelope(ack)


def history_orders(call: Call) -> Reply:
    """Finished orders (OKX keeps 7 days here), oldest first; ``since`` (ms) and ``limit`` (0 = 100)."""
    market = call.market()
    since = param_int(call.params, "since", 0)
    limit = param_int(call.params, "limit", 0, maximum=100) or HISTORY_DEFAULT
    rows = call.account().order_history(market.inst_type, market.inst_id, limit=limit)
    if since > 0:
        rows = [o for o in rows if o.c_time is not None and to_ms(o.c_time) >= since]
    rows.sort(key=lambda o: (o.c_time is None, o.c_time, o.ord_id))
    return [convert.order_data(o) for o in rows], raw.envelope(rows)


# ---- futures ------------------------------------------------------------------------------


def positions(call: Call) -> Reply:
    """Open swap positions (of ``symbol`` when given): FMZ Position fields, names UNCONFIRMED."""
    symbol = _symbol_param(call)
    client = call.account()
    if symbol:
        market = parse_symbol(symbol)
        if not market.swap:
            raise BadRequest("positions needs a swap symbol, e.g. BTC_USDT.swap")
        rows = client.positions(market.inst_type, market.inst_id)
    else:
        rows = client.positions("SWAP")
    rows = [p for p in rows if p.pos != 0]
    data = []
    for p in rows:
        try:
            ct_val: Decimal | None = call.public().instrument(p.inst_id).contract_value
        except Exception:  # margin is informative only; never fail the call for it
            ct_val = None
        data.append(convert.position_row(p, ct_val))
    return data, raw.envelope(rows)


def margin_level(call: Call) -> Reply:
    """Set the leverage of a ``.swap`` symbol (``marginLevel``; name UNCONFIRMED) -> ``true``."""
    market = call.market()
    if not market.swap:
        raise BadRequest("marginlevel needs a swap symbol, e.g. BTC_USDT.swap")
    name = next((n for n in ("marginLevel", "margin_level", "leverage") if n in call.params), "marginLevel")
    lever = param_decimal(call.params, name)
    if lever < 1:
        raise BadRequest(f"{name} must be >= 1, got {lever}")
    mgn = call.options.margin_mode
    client = call.account()
    if mgn == "isolated" and _pos_mode(call) == "long_short_mode":
        infos = [client.set_leverage(market.inst_id, lever, mgn, side) for side in ("long", "short")]
        return True, raw.envelope(infos)
    info = client.set_leverage(market.inst_id, lever, mgn)
    return True, raw.envelope(info)


# ---- passthrough --------------------------------------------------------------------------


def api_path(path: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Validate an ``__api_`` path; a query string in it is merged into ``params`` (pure)."""
    bare, _, query = path.partition("?")
    if not bare.startswith("/api/v5/") or len(bare) > _MAX_PATH:
        raise BadRequest(f"__api_ path must start with /api/v5/, got {bare[:40]!r}")
    if ".." in bare or any(ch.isspace() or ch in "#%\\" for ch in bare):
        raise BadRequest(f"invalid __api_ path {bare[:40]!r}")
    merged = dict(parse_qsl(query, keep_blank_values=True))
    merged.update(params)
    return bare, merged


def api_passthrough(call: Call) -> Reply:
    """``__api_<path>``: a signed OKX call; ``data`` is OKX's reply (``code`` "0" only)."""
    verb = call.request.http_method or "POST"
    if verb not in ("GET", "POST"):
        raise BadRequest(f"Http-Method {verb} not supported: OKX V5 uses GET and POST")
    path, params = api_path(call.request.api_path, dict(call.params))
    data = call.account().request(verb, path, params)
    return {"code": "0", "msg": "", "data": data}, None
