"""Private ``trade/*`` handlers: place (single and batch), cancel, amend, close, queries.

Per-order results carry ``sCode``/``sMsg``; the top-level ``code`` is ``0`` (all succeeded),
``1`` (all failed) or ``2`` (batch partially succeeded), as on OKX.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from simulator.api import Ctx, Reply, Route, int_param, require, require_inst
from simulator.errors import OkxError
from simulator.orders import Order
from simulator.validation import OrderRequest, Rejected, decimal_param, parse_order, text

__all__ = ["BATCH_MAX", "ROUTES"]

_P = "/api/v5/trade/"
BATCH_MAX = 20
_AGE_CANCELED_MS = 2 * 3_600_000
_HISTORY_MS = 7 * 86_400_000
_FILLS_MS = 3 * 86_400_000


def _envelope(ctx: Ctx, items: list[dict[str, Any]], batch: bool) -> Reply:
    ok = sum(1 for i in items if i.get("sCode", "0") == "0")
    code, msg = "0", ""
    if ok == 0 and items:
        code, msg = "1", "All operations failed"
    elif ok < len(items):
        code, msg = ("2", "Batch operation partially succeeded") if batch else ("1", "")
    micros = str(ctx.now * 1000)
    return Reply(items, code=code, msg=msg, extra={"inTime": micros, "outTime": micros})


def _fail(item: Any, err: Rejected, now: int, extra: Mapping[str, str]) -> dict[str, Any]:
    source = item if isinstance(item, Mapping) else {}
    out = {"clOrdId": text(source, "clOrdId"), "ordId": text(source, "ordId")}
    out.update(extra)
    out.update({"ts": str(now), "sCode": err.code, "sMsg": err.msg, "subCode": ""})
    return out


def _place_one(ctx: Ctx, item: Any, endpoint: str) -> dict[str, Any]:
    acct, state = ctx.acct, ctx.state
    order: Order | None = None
    try:
        if not isinstance(item, Mapping):
            raise Rejected("51000", "body")
        req = parse_order(item, state.instruments, acct.long_short)
        order = state.engine.place(acct, req, ctx.now)
        ack = {"clOrdId": order.cl_ord_id, "ordId": order.ord_id, "tag": order.tag,
               "ts": str(ctx.now), "sCode": "0", "sMsg": "Order placed", "subCode": ""}
    except Rejected as err:
        tag = text(item, "tag") if isinstance(item, Mapping) else ""
        ack = _fail(item, err, ctx.now, {"ordId": "", "tag": tag})
    state.record_order(acct, endpoint, item, ack, order)
    return ack


def _items(ctx: Ctx) -> list[Any]:
    body = ctx.body
    if not isinstance(body, list) or not body:
        raise OkxError("51000", "body")
    if len(body) > BATCH_MAX:
        raise OkxError("51111", str(BATCH_MAX))
    return body


def _place(ctx: Ctx) -> Reply:
    if not isinstance(ctx.body, Mapping):
        raise OkxError("51000", "body")
    return _envelope(ctx, [_place_one(ctx, ctx.body, "trade/order")], batch=False)


def _batch(ctx: Ctx) -> Reply:
    acks = [_place_one(ctx, item, "trade/batch-orders") for item in _items(ctx)]
    return _envelope(ctx, acks, batch=True)


def _target(ctx: Ctx, item: Mapping[str, Any]) -> Order | None:
    inst_id = text(item, "instId")
    if not inst_id:
        raise Rejected("50014", "instId")
    if inst_id not in ctx.state.instruments:
        raise Rejected("51001")
    ord_id, cl_ord_id = text(item, "ordId"), text(item, "clOrdId")
    if not ord_id and not cl_ord_id:
        raise Rejected("51000", "ordId")
    return ctx.state.engine.find(ctx.acct, inst_id, ord_id, cl_ord_id)


def _per_item(
    ctx: Ctx, items: list[Any], action: Callable[[Mapping[str, Any]], Order],
    extra_keys: tuple[str, ...], batch: bool,
) -> Reply:
    out = []
    for item in items:
        source: Mapping[str, Any] = item if isinstance(item, Mapping) else {}
        extra = {k: text(source, k) for k in extra_keys}
        try:
            if not isinstance(item, Mapping):
                raise Rejected("51000", "body")
            order = action(item)
            row = {"clOrdId": order.cl_ord_id, "ordId": order.ord_id, **extra,
                   "ts": str(ctx.now), "sCode": "0", "sMsg": "", "subCode": ""}
        except Rejected as err:
            row = _fail(item, err, ctx.now, extra)
        out.append(row)
    return _envelope(ctx, out, batch)


def _cancel_action(ctx: Ctx) -> Callable[[Mapping[str, Any]], Order]:
    return lambda item: ctx.state.engine.cancel(ctx.acct, _target(ctx, item), ctx.now)


def _cancel(ctx: Ctx) -> Reply:
    if not isinstance(ctx.body, Mapping):
        raise OkxError("51000", "body")
    return _per_item(ctx, [ctx.body], _cancel_action(ctx), (), batch=False)


def _cancel_batch(ctx: Ctx) -> Reply:
    return _per_item(ctx, _items(ctx), _cancel_action(ctx), (), batch=True)


def _amend_one(ctx: Ctx, item: Mapping[str, Any]) -> Order:
    raw_sz, raw_px = text(item, "newSz"), text(item, "newPx")
    if not raw_sz and not raw_px:
        raise Rejected("51000", "newSz")
    new_sz = decimal_param(raw_sz, "newSz") if raw_sz else None
    new_px = decimal_param(raw_px, "newPx") if raw_px else None
    order = _target(ctx, item)
    try:
        return ctx.state.engine.amend(ctx.acct, order, new_sz, new_px, ctx.now)
    except Rejected:
        if order is not None and order.is_pending and text(item, "cxlOnFail") == "true":
            ctx.state.engine.cancel(ctx.acct, order, ctx.now)
        raise


def _amend(ctx: Ctx) -> Reply:
    if not isinstance(ctx.body, Mapping):
        raise OkxError("51000", "body")
    return _per_item(ctx, [ctx.body], lambda i: _amend_one(ctx, i), ("reqId",), batch=False)


def _close_one(ctx: Ctx, item: Mapping[str, Any]) -> Order:
    acct, state = ctx.acct, ctx.state
    inst = state.instruments.get(text(item, "instId"))
    if inst is None:
        raise Rejected("51001")
    mgn_mode = text(item, "mgnMode")
    if mgn_mode not in {"cross", "isolated"} or not inst.is_swap:
        raise Rejected("51000", "mgnMode" if inst.is_swap else "instId")
    pos_side = text(item, "posSide")
    if acct.long_short and pos_side not in {"long", "short"}:
        raise Rejected("51000", "posSide")
    if not acct.long_short:
        if pos_side not in {"", "net"}:
            raise Rejected("51000", "posSide")
        pos_side = "net"
    pos = acct.position(inst, pos_side)
    if pos is None:
        raise Rejected("51023", msg="Position does not exist")
    if text(item, "autoCxl") == "true":
        for order in acct.pending():
            if order.inst is inst and order.pos_side == pos_side and (
                order.reduce_only or order.closing
            ):
                state.engine.cancel(acct, order, ctx.now)
    side = "sell" if pos.qty > 0 else "buy"
    cl_ord_id = text(item, "clOrdId")
    req = OrderRequest(inst, mgn_mode, side, pos_side, "market", abs(pos.qty), None,
                       not acct.long_short, "", cl_ord_id, text(item, "tag"))
    order = state.engine.place(acct, req, ctx.now)
    state.record_order(acct, "trade/close-position", dict(item), {"sCode": "0"}, order)
    return order


def _close(ctx: Ctx) -> Reply:
    body = ctx.body
    if not isinstance(body, Mapping):
        raise OkxError("51000", "body")
    try:
        order = _close_one(ctx, body)
    except Rejected as err:
        return _envelope(ctx, [_fail(body, err, ctx.now, {"tag": text(body, "tag")})], False)
    return Reply([{"instId": order.inst.inst_id, "posSide": order.pos_side,
                   "clOrdId": order.cl_ord_id, "tag": order.tag}])


def _aged_out(order: Order, now: int) -> bool:
    return order.state == "canceled" and order.acc_fill_sz == 0 and (
        now - order.u_time > _AGE_CANCELED_MS
    )


def _get_order(ctx: Ctx) -> Reply:
    inst = require_inst(ctx)
    ord_id, cl_ord_id = ctx.param("ordId"), ctx.param("clOrdId")
    if not ord_id and not cl_ord_id:
        raise OkxError("51000", "ordId")
    order = ctx.state.engine.find(ctx.acct, inst.inst_id, ord_id, cl_ord_id)
    if order is None or _aged_out(order, ctx.now):
        raise OkxError("51603")
    return Reply([order.to_okx()])


def _page(ctx: Ctx, orders: list[Order]) -> Reply:
    inst_type, inst_id = ctx.param("instType"), ctx.param("instId")
    ord_type, state = ctx.param("ordType"), ctx.param("state")
    after, before = ctx.param("after"), ctx.param("before")
    limit = int_param(ctx, "limit", 100, 1, 100) or 100
    rows = []
    for order in sorted(orders, key=lambda o: int(o.ord_id), reverse=True):
        if (inst_type and order.inst.inst_type != inst_type) or (
            inst_id and order.inst.inst_id != inst_id
        ):
            continue
        if (ord_type and order.ord_type != ord_type) or (state and order.state != state):
            continue
        if (after and int(order.ord_id) >= int(after)) or (
            before and int(order.ord_id) <= int(before)
        ):
            continue
        rows.append(order.to_okx())
        if len(rows) >= limit:
            break
    return Reply(rows)


def _check_ids(ctx: Ctx) -> None:
    for key in ("after", "before"):
        if ctx.param(key) and not ctx.param(key).isdigit():
            raise OkxError("51000", key)


def _pending(ctx: Ctx) -> Reply:
    _check_ids(ctx)
    return _page(ctx, ctx.acct.pending())


def _history(ctx: Ctx) -> Reply:
    require(ctx, "instType")
    _check_ids(ctx)
    now = ctx.now
    done = [o for o in ctx.acct.orders if not o.is_pending and now - o.c_time <= _HISTORY_MS
            and not _aged_out(o, now)]
    return _page(ctx, done)


def _fills(ctx: Ctx) -> Reply:
    _check_ids(ctx)
    inst_type, inst_id, ord_id = ctx.param("instType"), ctx.param("instId"), ctx.param("ordId")
    after, before = ctx.param("after"), ctx.param("before")
    limit = int_param(ctx, "limit", 100, 1, 100) or 100
    rows = []
    for fill in reversed(ctx.acct.fills):
        if ctx.now - fill.ts > _FILLS_MS:
            break
        if (inst_type and fill.inst.inst_type != inst_type) or (
            inst_id and fill.inst.inst_id != inst_id
        ) or (ord_id and fill.ord_id != ord_id):
            continue
        if (after and int(fill.bill_id) >= int(after)) or (
            before and int(fill.bill_id) <= int(before)
        ):
            continue
        rows.append(fill.to_okx())
        if len(rows) >= limit:
            break
    return Reply(rows)


ROUTES: dict[tuple[str, str], Route] = {
    ("POST", _P + "order"): Route(_place, private=True),
    ("POST", _P + "batch-orders"): Route(_batch, private=True),
    ("POST", _P + "cancel-order"): Route(_cancel, private=True),
    ("POST", _P + "cancel-batch-orders"): Route(_cancel_batch, private=True),
    ("POST", _P + "amend-order"): Route(_amend, private=True),
    ("POST", _P + "close-position"): Route(_close, private=True),
    ("GET", _P + "order"): Route(_get_order, private=True),
    ("GET", _P + "orders-pending"): Route(_pending, private=True),
    ("GET", _P + "orders-history"): Route(_history, private=True),
    ("GET", _P + "fills"): Route(_fills, private=True),
}
