"""One :class:`AccountClient` per OKX (sub-)account: python-okx underneath, records on top.

Each call goes through python-okx's API objects (whose ``_request`` is routed through
:class:`SignedTransport`), then :func:`check_envelope` / :func:`check_batch`, then a parser.

- Reads and settings (balance, positions, set-leverage...) are idempotent: retried with backoff.
- Placing is never retried: OKX rejects a duplicate clOrdId only among *pending* orders, so a
  filled first attempt plus a resend would be two orders. Every outcome that is not a definite
  per-order rejection (:class:`OrderRejected`) — timeouts, dropped connections, 5xx, 50004, and
  even codes such as 50001/50026 — is :class:`UnknownOutcome`: look the clOrdId up with
  :meth:`find_order`; send a new attempt (new clOrdId) only once it is proven absent after its
  ``expTime`` passed. Cancel, amend and close are retried only on replies in which OKX says the
  request was not processed (50011, 50013...).
- A 50102 (timestamp expired) re-measures the server-time offset and re-sends once (OKX rejected it
  at the gate, so nothing was executed).
"""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from core.clock import Clock
from exchange import parse as p
from exchange.bills import BILL_TYPE_TRANSFER, TransferBill, parse_transfer_bill
from exchange.errors import (
    CLOCK_SKEW_CODE,
    BadResponse,
    ExchangeAuthError,
    ExchangeError,
    OrderNotFound,
    OrderRejected,
    UnknownOutcome,
    as_unknown,
)
from exchange.orders import BATCH_MAX, align_batch, chunks, decimal_str, order_params
from exchange.records import (
    AccountConfig,
    Balance,
    Fill,
    LeverageInfo,
    MaxSize,
    Order,
    OrderAck,
    OrderRequest,
    Position,
)
from exchange.retry import NO_RETRY, RetryPolicy, call_with_retry
from exchange.transport import SignedTransport, is_mutating

__all__ = ["AccountClient"]

log = logging.getLogger(__name__)
T = TypeVar("T")
_A = "/api/v5/account/"
_T = "/api/v5/trade/"
PAGE_MAX = 100


def _batch_item(item: Any) -> OrderAck | ExchangeError:
    """One batch result: an ack, a definite rejection, or an unknown outcome."""
    if isinstance(item, OrderRejected | UnknownOutcome):
        return item
    if isinstance(item, ExchangeError):
        return as_unknown(item)
    try:
        return p.parse_order_ack(item)
    except ExchangeError as exc:
        return as_unknown(exc)


class AccountClient:
    """Private REST for one account. Thread-safe (httpx clients, limiter and clock offset are)."""

    def __init__(
        self,
        *,
        account: str,
        trade_api: Any,
        account_api: Any,
        transport: SignedTransport,
        clock: Clock,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.account = account
        self._trade = trade_api
        self._acct = account_api
        self._apis = (trade_api, account_api)
        self.transport = transport
        self.clock = clock
        self.retry = retry or RetryPolicy()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not crypto

    # ---- plumbing ---------------------------------------------------------------------------

    def _run(
        self,
        endpoint: str,
        send: Callable[[], Any],
        check: Callable[[Any], T],
        *,
        idempotent: bool,
        policy: RetryPolicy | None = None,
    ) -> T:
        server_time = self.transport.server_time

        def once() -> T:
            stale = server_time.offset if server_time is not None else None
            try:
                return check(send())
            except ExchangeAuthError as exc:
                if exc.code != CLOCK_SKEW_CODE or server_time is None:
                    raise
                log.warning("%s: %s; re-measuring server time and re-sending once", self.account, exc)
                server_time.resync(stale)
                return check(send())

        return call_with_retry(
            once, policy=policy or self.retry, clock=self.clock, rng=self._rng,
            what=f"{self.account} {endpoint}", definite_only=not idempotent,
        )  # fmt: skip

    def _data(self, endpoint: str, send: Callable[[], Any], *, idempotent: bool = True) -> list[Any]:
        return self._run(endpoint, send, lambda r: p.check_envelope(r, endpoint), idempotent=idempotent)

    @staticmethod
    def _first(data: list[Any], endpoint: str) -> Any:
        if not data:
            raise BadResponse("", "reply has no data", endpoint=endpoint)
        return data[0]

    def sync_time(self) -> None:
        """Measure the server-time offset now (it is otherwise measured on the first signed call)."""
        if self.transport.server_time is not None:
            self.transport.server_time.measure()

    # ---- account ----------------------------------------------------------------------------

    def account_config(self) -> AccountConfig:
        ep = _A + "config"
        return p.parse_account_config(self._first(self._data(ep, self._acct.get_account_config), ep))

    def balance(self, ccy: str | None = None) -> Balance:
        ep = _A + "balance"
        data = self._data(ep, lambda: self._acct.get_account_balance(ccy=ccy or ""))
        return p.parse_balance(self._first(data, ep))

    def transfer_bills(self, ccy: str = "", newer_than: str = "") -> list[TransferBill]:
        """Transfer bills (``type=1``) of ``ccy`` ("" = every currency) newer than bill id
        ``newer_than`` ("" = the last 7 days' ones), oldest first. Pages of 100 are followed until
        one comes back short."""
        out: dict[str, TransferBill] = {}
        cursor = newer_than
        while True:
            params = {"ccy": ccy, "type": BILL_TYPE_TRANSFER, "before": cursor, "limit": str(PAGE_MAX)}
            data = self._data(_A + "bills", functools.partial(self._acct.get_account_bills, **params))
            page = [parse_transfer_bill(d) for d in data]
            fresh = [b for b in page if b.bill_id not in out and (not cursor or b.order > int(cursor))]
            out.update((b.bill_id, b) for b in fresh)
            if len(page) < PAGE_MAX or not fresh:
                return sorted(out.values(), key=lambda b: b.order)
            cursor = max(fresh, key=lambda b: b.order).bill_id

    def positions(self, inst_type: str | None = None, inst_id: str | None = None) -> list[Position]:
        """Open positions (an error reply raises; it never reads as "no positions")."""
        data = self._data(
            _A + "positions",
            lambda: self._acct.get_positions(instType=inst_type or "", instId=inst_id or ""),
        )
        return [p.parse_position(d) for d in data]

    def set_leverage(
        self, inst_id: str, lever: Decimal, mgn_mode: str = "cross", pos_side: str | None = None
    ) -> LeverageInfo:
        ep = _A + "set-leverage"
        data = self._data(
            ep,
            lambda: self._acct.set_leverage(
                lever=decimal_str(Decimal(lever)), mgnMode=mgn_mode, instId=inst_id, posSide=pos_side or ""
            ),
        )
        return p.parse_leverage_info(self._first(data, ep))

    def leverage_info(self, inst_id: str, mgn_mode: str = "cross") -> list[LeverageInfo]:
        data = self._data(
            _A + "leverage-info", lambda: self._acct.get_leverage(mgnMode=mgn_mode, instId=inst_id)
        )
        return [p.parse_leverage_info(d) for d in data]

    def set_position_mode(self, pos_mode: str) -> None:
        if pos_mode not in ("net_mode", "long_short_mode"):
            raise ValueError(f"pos_mode must be net_mode or long_short_mode, got {pos_mode!r}")
        self._data(_A + "set-position-mode", lambda: self._acct.set_position_mode(posMode=pos_mode))

    def max_size(self, inst_id: str, td_mode: str = "cross", px: Decimal | None = None) -> MaxSize:
        ep = _A + "max-size"
        data = self._data(
            ep,
            lambda: self._acct.get_max_order_size(
                instId=inst_id, tdMode=td_mode, px=decimal_str(px) if px is not None else ""
            ),
        )
        return p.parse_max_size(self._first(data, ep))

    # ---- orders -----------------------------------------------------------------------------

    def _place(self, ep: str, body: Any, exp_time: datetime | None, check: Callable[[Any], T]) -> T:
        """One placing request, never retried (see the module docstring)."""
        send = functools.partial(self.transport.send, self._trade, "POST", ep, body, exp_time=exp_time)
        try:
            return self._run(ep, send, check, idempotent=False, policy=NO_RETRY)
        except (OrderRejected, UnknownOutcome):
            raise
        except ExchangeError as exc:
            raise as_unknown(exc) from exc

    def place_order(self, req: OrderRequest) -> OrderAck:
        """Place one order. A per-order rejection raises :class:`OrderRejected`; anything else
        that is not an acknowledgement raises :class:`UnknownOutcome`."""
        ep = _T + "order"
        params = order_params(req)
        data = self._place(ep, params, req.exp_time, lambda r: p.check_envelope(r, ep))
        try:
            return p.parse_order_ack(self._first(data, ep))
        except ExchangeError as exc:  # an unreadable ack: the order may exist
            raise as_unknown(exc) from exc

    def place_orders(self, reqs: Sequence[OrderRequest]) -> list[OrderAck | ExchangeError]:
        """Place many orders (``batch-orders``, 20 per request); one result per request, in order.

        A failure of a whole request (transport, 50004, auth...) is that error for each of its
        orders — :class:`UnknownOutcome` ones must be looked up by clOrdId."""
        out: list[OrderAck | ExchangeError] = []
        for chunk in chunks(list(reqs), BATCH_MAX):
            out.extend(self._place_chunk(chunk))
        return out

    def _place_chunk(self, chunk: Sequence[OrderRequest]) -> list[OrderAck | ExchangeError]:
        ep = _T + "batch-orders"
        sent: list[dict[str, Any]] = []
        results: list[OrderAck | ExchangeError | None] = []
        for req in chunk:  # local validation errors stay with their order
            try:
                sent.append(order_params(req))
                results.append(None)
            except ExchangeError as exc:
                results.append(exc)
        if not sent:
            return [r for r in results if r is not None]
        try:
            if len(sent) == 1:
                single = self.place_order(next(r for r, x in zip(chunk, results, strict=True) if x is None))
                items: list[Any] = [single]
            else:
                exp = min((r.exp_time for r in chunk if r.exp_time is not None), default=None)
                raw = self._place(ep, sent, exp, lambda r: p.check_batch(r, ep, len(sent)))
                items = [_batch_item(x) for x in align_batch(sent, raw, ep)]
        except ExchangeError as exc:
            items = [exc if isinstance(exc, OrderRejected | UnknownOutcome) else as_unknown(exc)] * len(sent)
        it = iter(items)
        return [r if r is not None else next(it) for r in results]

    def get_order(self, inst_id: str, *, ord_id: str | None = None, cl_ord_id: str | None = None) -> Order:
        """One order by ordId or clOrdId; :class:`OrderNotFound` (51603) if OKX does not know it."""
        if not ord_id and not cl_ord_id:
            raise ValueError("get_order needs ord_id or cl_ord_id")
        ep = _T + "order"
        data = self._data(
            ep,
            lambda: self._trade.get_order(instId=inst_id, ordId=ord_id or "", clOrdId=cl_ord_id or ""),
        )
        if not data:
            raise OrderNotFound("51603", f"order {ord_id or cl_ord_id} does not exist", endpoint=ep)
        return p.parse_order(data[0])

    def find_order(self, inst_id: str, cl_ord_id: str) -> Order | None:
        """The order with ``cl_ord_id``, or None if OKX does not know it (resolves unknown outcomes)."""
        try:
            return self.get_order(inst_id, cl_ord_id=cl_ord_id)
        except OrderNotFound:
            return None

    def cancel_order(
        self, inst_id: str, *, ord_id: str | None = None, cl_ord_id: str | None = None
    ) -> OrderAck:
        """Ask OKX to cancel; the ack is not a cancellation (check the order's state)."""
        if not ord_id and not cl_ord_id:
            raise ValueError("cancel_order needs ord_id or cl_ord_id")
        ep = _T + "cancel-order"
        data = self._data(
            ep,
            lambda: self._trade.cancel_order(instId=inst_id, ordId=ord_id or "", clOrdId=cl_ord_id or ""),
            idempotent=False,
        )
        return p.parse_order_ack(self._first(data, ep))

    def amend_order(
        self, inst_id: str, *, ord_id: str | None = None, cl_ord_id: str | None = None,
        new_sz: Decimal | None = None, new_px: Decimal | None = None,
    ) -> OrderAck:  # fmt: skip
        if not ord_id and not cl_ord_id:
            raise ValueError("amend_order needs ord_id or cl_ord_id")
        if new_sz is None and new_px is None:
            raise ValueError("amend_order needs new_sz or new_px")
        ep = _T + "amend-order"
        data = self._data(
            ep,
            lambda: self._trade.amend_order(
                instId=inst_id,
                ordId=ord_id or "",
                clOrdId=cl_ord_id or "",
                newSz=decimal_str(new_sz) if new_sz is not None else "",
                newPx=decimal_str(new_px) if new_px is not None else "",
            ),
            idempotent=False,
        )
        return p.parse_order_ack(self._first(data, ep))

    def pending_orders(self, inst_type: str | None = None, inst_id: str | None = None) -> list[Order]:
        """Every live / partially filled order (all pages)."""
        out: list[Order] = []
        after = ""
        while True:
            data = self._data(
                _T + "orders-pending",
                functools.partial(
                    self._trade.get_order_list,
                    instType=inst_type or "",
                    instId=inst_id or "",
                    after=after,
                    limit=str(PAGE_MAX),
                ),
            )
            page = [p.parse_order(d) for d in data]
            out.extend(page)
            if len(page) < PAGE_MAX or page[-1].ord_id == after:
                return out
            after = page[-1].ord_id

    def order_history(self, inst_type: str, inst_id: str | None = None, limit: int = 100) -> list[Order]:
        """Terminal orders of the last 7 days, newest first (one page)."""
        data = self._data(
            _T + "orders-history",
            lambda: self._trade.get_orders_history(
                instType=inst_type, instId=inst_id or "", limit=str(max(1, min(limit, PAGE_MAX)))
            ),
        )
        return [p.parse_order(d) for d in data]

    def fills(self, inst_id: str | None = None, limit: int = 100, ord_id: str | None = None) -> list[Fill]:
        """Recent executions, newest first; ``ord_id`` narrows them to one order."""
        data = self._data(
            _T + "fills",
            lambda: self._trade.get_fills(
                instId=inst_id or "", ordId=ord_id or "", limit=str(max(1, min(limit, PAGE_MAX)))
            ),
        )
        return [p.parse_fill(d) for d in data]

    def close_position(
        self, inst_id: str, mgn_mode: str = "cross", pos_side: str | None = None,
        cl_ord_id: str | None = None,
    ) -> None:  # fmt: skip
        """Close the whole position at market (``posSide`` required in long/short mode)."""
        self._data(
            _T + "close-position",
            lambda: self._trade.close_positions(
                instId=inst_id, mgnMode=mgn_mode, posSide=pos_side or "", clOrdId=cl_ord_id or ""
            ),
            idempotent=False,
        )

    # ---- raw passthrough (FMZ gateway) --------------------------------------------------------

    def request(
        self, method: str, path: str, params: Mapping[str, Any] | list[Any] | None = None,
        *, idempotent: bool | None = None,
    ) -> list[Any]:  # fmt: skip
        """Signed ``METHOD /api/v5/...`` with the envelope checked; returns ``data``. GETs are
        retried; POSTs to ``/trade/`` are order calls (unknown outcome on timeout);
        ``idempotent=False`` retries only replies in which OKX says nothing was processed."""
        method = method.upper()
        if method not in ("GET", "POST"):
            raise ValueError(f"method must be GET or POST, got {method!r}")
        bare = path.split("?", 1)[0]
        if not bare.startswith("/api/v5/") or "?" in path:
            raise ValueError(f"path must be /api/v5/... without a query string, got {path!r}")
        body: Any = dict(params) if isinstance(params, Mapping) else (list(params) if params else {})
        if method == "GET" and not isinstance(body, dict):
            raise ValueError("GET parameters must be a mapping")
        return self._data(
            bare,
            lambda: self.transport.send(self._acct, method, bare, body),
            idempotent=not is_mutating(method, bare) if idempotent is None else idempotent,
        )

    def public_get(self, path: str, params: Mapping[str, Any]) -> Any:
        """Unsigned ``GET /api/v5/<path>`` over this account's connection; the raw reply (for a
        keyless :class:`exchange.public.PublicClient` that should not open one of its own)."""
        return self.transport.send(self._acct, "GET", "/api/v5/" + path, dict(params), signed=False)

    def close(self) -> None:
        for api in self._apis:
            api.close()

    def __enter__(self) -> AccountClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
