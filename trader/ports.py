"""What the trader needs from the exchange layer, as Protocols (``exchange.private.AccountClient``
and ``exchange.public.PublicClient`` satisfy them). The trader never fetches candles: the public
client is used for instruments and tickers only (the public candle budget is the collector's)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol

from exchange.bills import TransferBill
from exchange.errors import ExchangeError
from exchange.records import (
    AccountConfig,
    Balance,
    Fill,
    Instrument,
    LeverageInfo,
    Order,
    OrderAck,
    OrderRequest,
    Position,
    Ticker,
)
from notify.events import Event

__all__ = ["AccountPort", "NotifierPort", "PublicPort"]


class AccountPort(Protocol):
    def account_config(self) -> AccountConfig: ...

    def balance(self, ccy: str | None = None) -> Balance: ...

    def positions(self, inst_type: str | None = None, inst_id: str | None = None) -> list[Position]: ...

    def set_leverage(
        self, inst_id: str, lever: Decimal, mgn_mode: str = "cross", pos_side: str | None = None
    ) -> LeverageInfo: ...

    def leverage_info(self, inst_id: str, mgn_mode: str = "cross") -> list[LeverageInfo]: ...

    def place_order(self, req: OrderRequest) -> OrderAck: ...

    def place_orders(self, reqs: Sequence[OrderRequest]) -> list[OrderAck | ExchangeError]: ...

    def get_order(
        self, inst_id: str, *, ord_id: str | None = None, cl_ord_id: str | None = None
    ) -> Order: ...

    def find_order(self, inst_id: str, cl_ord_id: str) -> Order | None: ...

    def cancel_order(
        self, inst_id: str, *, ord_id: str | None = None, cl_ord_id: str | None = None
    ) -> OrderAck: ...

    def pending_orders(self, inst_type: str | None = None, inst_id: str | None = None) -> list[Order]: ...

    def order_history(self, inst_type: str, inst_id: str | None = None, limit: int = 100) -> list[Order]: ...

    def fills(
        self, inst_id: str | None = None, limit: int = 100, ord_id: str | None = None
    ) -> list[Fill]: ...

    def close_position(
        self, inst_id: str, mgn_mode: str = "cross", pos_side: str | None = None,
        cl_ord_id: str | None = None,
    ) -> None: ...  # fmt: skip

    def transfer_bills(self, ccy: str = "", newer_than: str = "") -> list[TransferBill]: ...

    def close(self) -> None: ...


class PublicPort(Protocol):
    def instrument(self, inst_id: str, *, refresh: bool = False) -> Instrument: ...

    def ticker(self, inst_id: str) -> Ticker: ...

    def close(self) -> None: ...


class NotifierPort(Protocol):
    def notify(self, event: Event) -> None: ...

    def close(self) -> None: ...
