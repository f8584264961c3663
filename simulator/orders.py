"""Order and fill records and their OKX serialisation (same keys as the real payloads)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from simulator.catalogue import Instrument

__all__ = ["PENDING", "Fill", "Ids", "Order", "num"]

PENDING = frozenset({"live", "partially_filled"})
_Q = Decimal("1e-12")


def num(value: Decimal | None) -> str:
    """OKX number string ('' for None)."""
    if value is None:
        return ""
    if value == value.to_integral_value():
        return format(value.quantize(Decimal(1)), "f")
    return format(value.quantize(_Q).normalize(), "f")


@dataclass
class Order:
    """One order of one account."""

    account: str
    ord_id: str
    cl_ord_id: str
    tag: str
    inst: Instrument
    td_mode: str
    side: str
    pos_side: str
    ord_type: str
    sz: Decimal  # contracts (swap) or base units (spot, after tgtCcy conversion)
    px: Decimal | None
    reduce_only: bool
    tgt_ccy: str
    lever: str
    c_time: int
    state: str = "live"
    acc_fill_sz: Decimal = Decimal(0)
    avg_px: Decimal | None = None
    fill_px: Decimal | None = None
    fill_sz: Decimal = Decimal(0)
    fill_time: str = ""
    trade_id: str = ""
    fee: Decimal = Decimal(0)
    fee_ccy: str = ""
    pnl: Decimal = Decimal(0)
    u_time: int = 0
    checked_ms: int = 0
    frozen: Decimal = Decimal(0)
    frozen_ccy: str = ""
    cancel_source: str = ""
    request: dict[str, Any] = field(default_factory=dict)
    response: dict[str, Any] = field(default_factory=dict)
    endpoint: str = ""
    req_sz: str = ""  # the size as requested (spot market buys in quote currency)
    liq_sec: int = 0  # last simulated second (epoch s) whose liquidity this order used

    @property
    def is_pending(self) -> bool:
        return self.state in PENDING

    @property
    def closing(self) -> bool:
        """long/short mode: sell+long or buy+short closes."""
        return (self.pos_side, self.side) in {("long", "sell"), ("short", "buy")}

    def to_okx(self) -> dict[str, Any]:
        """The ``trade/order`` / ``orders-pending`` / ``orders-history`` row."""
        spot = not self.inst.is_swap
        return {
            "accFillSz": num(self.acc_fill_sz),
            "algoClOrdId": "",
            "algoId": "",
            "attachAlgoClOrdId": "",
            "attachAlgoOrds": [],
            "avgPx": num(self.avg_px),
            "cTime": str(self.c_time),
            "cancelSource": self.cancel_source,
            "cancelSourceReason": "",
            "category": "normal",
            "ccy": "",
            "clOrdId": self.cl_ord_id,
            "fee": num(self.fee),
            "feeCcy": self.fee_ccy or ("USDT" if not spot else ""),
            "fillPx": num(self.fill_px),
            "fillSz": num(self.fill_sz),
            "fillTime": self.fill_time,
            "instId": self.inst.inst_id,
            "instType": self.inst.inst_type,
            "isTpLimit": "false",
            "lever": self.lever,
            "linkedAlgoOrd": {"algoId": ""},
            "ordId": self.ord_id,
            "ordType": self.ord_type,
            "pnl": num(self.pnl),
            "posSide": self.pos_side,
            "px": num(self.px),
            "pxType": "",
            "pxUsd": "",
            "pxVol": "",
            "quickMgnType": "",
            "rebate": "0",
            "rebateCcy": "USDT" if not spot else self.inst.quote,
            "reduceOnly": "true" if self.reduce_only else "false",
            "side": self.side,
            "slOrdPx": "",
            "slTriggerPx": "",
            "slTriggerPxType": "",
            "source": "",
            "state": self.state,
            "stpId": "",
            "stpMode": "cancel_maker",
            "sz": self.req_sz or num(self.sz),
            "tag": self.tag,
            "tdMode": self.td_mode,
            "tgtCcy": self.tgt_ccy,
            "tpOrdPx": "",
            "tpTriggerPx": "",
            "tpTriggerPxType": "",
            "tradeId": self.trade_id,
            "uTime": str(self.u_time),
        }


@dataclass(frozen=True)
class Fill:
    """One execution (``trade/fills`` row)."""

    inst: Instrument
    trade_id: str
    ord_id: str
    cl_ord_id: str
    tag: str
    side: str
    pos_side: str
    px: Decimal
    sz: Decimal
    fee: Decimal
    fee_ccy: str
    pnl: Decimal
    maker: bool
    ts: int
    bill_id: str

    def to_okx(self) -> dict[str, Any]:
        return {
            "instType": self.inst.inst_type,
            "instId": self.inst.inst_id,
            "tradeId": self.trade_id,
            "ordId": self.ord_id,
            "clOrdId": self.cl_ord_id,
            "billId": self.bill_id,
            "subType": "1" if self.side == "buy" else "2",
            "tag": self.tag,
            "fillPx": num(self.px),
            "fillSz": num(self.sz),
            "fillIdxPx": "",
            "fillPnl": num(self.pnl),
            "fillPxVol": "",
            "fillPxUsd": "",
            "fillMarkVol": "",
            "fillFwdPx": "",
            "fillMarkPx": num(self.px) if self.inst.is_swap else "",
            "side": self.side,
            "posSide": self.pos_side,
            "execType": "M" if self.maker else "T",
            "feeCcy": self.fee_ccy,
            "fee": num(self.fee),
            "ts": str(self.ts),
            "fillTime": str(self.ts),
            "feeRate": "-0.0002" if self.maker else "-0.0005",
        }


class Ids:
    """Deterministic id counters (order ids look like OKX's 19-digit ids)."""

    def __init__(self) -> None:
        self._order = itertools.count(1)
        self._trade = itertools.count(1)
        self._pos = itertools.count(1)

    def order(self) -> str:
        return str(2_000_000_000_000_000_000 + next(self._order) * 7919)

    def trade(self) -> str:
        return str(400_000_000 + next(self._trade))

    def pos(self) -> str:
        return str(700_000_000_000_000_000 + next(self._pos) * 104_729)
