"""Typed, frozen records parsed at the edge. Money and sizes are ``Decimal``; times aware UTC.

Nothing above the exchange layer sees an OKX dict. Parsers for these live in ``exchange.parse``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

__all__ = [
    "AccountConfig",
    "Balance",
    "BalanceDetail",
    "BookLevel",
    "Candle",
    "Fill",
    "FundingRate",
    "Instrument",
    "LeverageInfo",
    "MarkPrice",
    "MaxSize",
    "Order",
    "OrderAck",
    "OrderBook",
    "OrderRequest",
    "Position",
    "PublicTrade",
    "Ticker",
]

PosSide = Literal["net", "long", "short"]
PosMode = Literal["net_mode", "long_short_mode"]
TERMINAL_STATES = frozenset({"filled", "canceled", "mmp_canceled"})


@dataclass(frozen=True)
class Candle:
    """One OKX candle row. ``ts`` is the bar's open time; ``confirmed`` is OKX's ``confirm == "1"``."""

    inst_id: str
    bar: str
    ts: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    vol: Decimal  # contracts for swaps, base currency for spot
    vol_ccy: Decimal
    vol_quote: Decimal
    confirmed: bool


@dataclass(frozen=True)
class Instrument:
    inst_id: str
    inst_type: str  # SPOT, SWAP, FUTURES, OPTION, MARGIN
    base_ccy: str
    quote_ccy: str
    settle_ccy: str
    ct_val: Decimal | None  # contract face value (None for spot)
    ct_mult: Decimal | None
    ct_val_ccy: str
    ct_type: str  # linear, inverse or "" for spot
    lot_sz: Decimal
    min_sz: Decimal
    tick_sz: Decimal
    max_lever: Decimal | None
    state: str  # live, suspend, preopen, test
    max_lmt_sz: Decimal | None = None
    max_mkt_sz: Decimal | None = None

    @property
    def is_contract(self) -> bool:
        return self.inst_type in ("SWAP", "FUTURES")

    @property
    def is_live(self) -> bool:
        return self.state == "live"

    @property
    def contract_value(self) -> Decimal:
        """Base-currency (linear) or quote-currency (inverse) amount of one contract; 1 for spot."""
        if self.ct_val is None:
            return Decimal(1)
        return self.ct_val * (self.ct_mult if self.ct_mult is not None else Decimal(1))


@dataclass(frozen=True)
class Ticker:
    inst_id: str
    last: Decimal
    bid: Decimal | None
    ask: Decimal | None
    bid_sz: Decimal | None
    ask_sz: Decimal | None
    open24h: Decimal | None
    high24h: Decimal | None
    low24h: Decimal | None
    vol24h: Decimal | None
    vol_ccy24h: Decimal | None
    ts: datetime


@dataclass(frozen=True)
class BookLevel:
    px: Decimal
    sz: Decimal
    orders: int


@dataclass(frozen=True)
class OrderBook:
    inst_id: str
    asks: tuple[BookLevel, ...]  # best (lowest) first
    bids: tuple[BookLevel, ...]  # best (highest) first
    ts: datetime


@dataclass(frozen=True)
class PublicTrade:
    inst_id: str
    trade_id: str
    px: Decimal
    sz: Decimal
    side: str
    ts: datetime


@dataclass(frozen=True)
class FundingRate:
    inst_id: str
    funding_rate: Decimal
    funding_time: datetime
    next_funding_time: datetime | None


@dataclass(frozen=True)
class FundingSettlement:
    """One settled funding of a swap (``public/funding-rate-history``): ``rate`` is OKX's
    ``realizedRate`` (what was paid), or its ``fundingRate`` where the realised one is blank."""

    inst_id: str
    funding_time: datetime
    rate: Decimal


@dataclass(frozen=True)
class MarkPrice:
    inst_id: str
    mark_px: Decimal
    ts: datetime


@dataclass(frozen=True)
class BalanceDetail:
    ccy: str
    eq: Decimal
    cash_bal: Decimal
    avail_bal: Decimal | None
    avail_eq: Decimal | None
    frozen_bal: Decimal | None
    upl: Decimal | None
    eq_usd: Decimal | None


@dataclass(frozen=True)
class Balance:
    total_eq: Decimal  # USD
    upl: Decimal | None
    details: tuple[BalanceDetail, ...]
    ts: datetime | None

    def detail(self, ccy: str) -> BalanceDetail | None:
        for d in self.details:
            if d.ccy == ccy:
                return d
        return None

    def equity(self, ccy: str = "USDT") -> Decimal:
        """Equity in ``ccy`` (0 if the account holds none)."""
        d = self.detail(ccy)
        return d.eq if d is not None else Decimal(0)


@dataclass(frozen=True)
class Position:
    inst_id: str
    inst_type: str
    mgn_mode: str
    pos_side: PosSide
    pos: Decimal  # contracts; signed in net mode, positive in long/short mode
    avail_pos: Decimal | None
    avg_px: Decimal | None
    mark_px: Decimal | None
    upl: Decimal | None
    lever: Decimal | None
    liq_px: Decimal | None
    ccy: str
    u_time: datetime | None

    @property
    def signed_pos(self) -> Decimal:
        """Contracts with sign: + long, - short, whatever the position mode."""
        if self.pos_side == "short":
            return -abs(self.pos)
        if self.pos_side == "long":
            return abs(self.pos)
        return self.pos


@dataclass(frozen=True)
class AccountConfig:
    uid: str
    main_uid: str
    acct_lv: str  # 1 spot, 2 futures (spot and futures), 3 multi-currency, 4 portfolio margin
    pos_mode: PosMode
    perm: str
    label: str

    @property
    def can_trade_contracts(self) -> bool:
        return self.acct_lv in ("2", "3", "4")


@dataclass(frozen=True)
class LeverageInfo:
    inst_id: str
    mgn_mode: str
    pos_side: str
    lever: Decimal


@dataclass(frozen=True)
class MaxSize:
    inst_id: str
    max_buy: Decimal
    max_sell: Decimal


@dataclass(frozen=True)
class OrderRequest:
    """What to send to ``trade/order`` (sizes in contracts for derivatives)."""

    inst_id: str
    td_mode: str  # cross, isolated, cash
    side: Literal["buy", "sell"]
    ord_type: str  # market, limit, optimal_limit_ioc, ioc, fok, post_only
    sz: Decimal
    cl_ord_id: str
    px: Decimal | None = None
    pos_side: PosSide | None = None
    reduce_only: bool | None = None
    tgt_ccy: str | None = None
    tag: str | None = None
    # Sent as OKX's ``expTime`` header (converted to server time): a request that reaches OKX
    # after it is refused, never executed late. Aware datetime on the caller's clock.
    exp_time: datetime | None = None


@dataclass(frozen=True)
class OrderAck:
    """Per-order acknowledgement (``sCode == "0"``). Rejections raise instead."""

    ord_id: str
    cl_ord_id: str
    ts: datetime | None
    s_msg: str = ""


@dataclass(frozen=True)
class Order:
    inst_id: str
    inst_type: str
    ord_id: str
    cl_ord_id: str
    state: str  # live, partially_filled, filled, canceled, mmp_canceled
    side: str
    pos_side: str
    ord_type: str
    td_mode: str
    px: Decimal | None
    sz: Decimal
    acc_fill_sz: Decimal
    avg_px: Decimal | None
    fee: Decimal  # negative = charged
    fee_ccy: str
    pnl: Decimal | None
    lever: Decimal | None
    reduce_only: bool
    c_time: datetime | None
    u_time: datetime | None
    extra: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def remaining(self) -> Decimal:
        return self.sz - self.acc_fill_sz


@dataclass(frozen=True)
class Fill:
    inst_id: str
    trade_id: str
    ord_id: str
    cl_ord_id: str
    fill_px: Decimal
    fill_sz: Decimal
    side: str
    pos_side: str
    fee: Decimal
    fee_ccy: str
    ts: datetime
