"""Built-in instrument catalogue: USDT-margined perpetual swaps and their spot pairs.

Contract specs follow OKX's published values for the majors (ctVal, lotSz, minSz, tickSz, max lever);
``listTime`` bounds the history the simulator serves. Payloads carry the same keys as the real
``public/instruments`` reply (see ``fixtures/okx/okx_doc_instruments_spot.json``).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = ["CATALOGUE", "MAX_SYNTHETIC", "Coin", "Instrument", "build_catalogue", "synthetic_swaps"]


@dataclass(frozen=True)
class Coin:
    """Per-coin market parameters (shared by the swap and the spot pair)."""

    ccy: str
    name: str
    base_price: float
    daily_vol: float
    minute_volume: float  # mean base quantity traded per minute on the swap
    list_time_ms: int


@dataclass(frozen=True)
class Instrument:
    """One tradeable instrument."""

    inst_id: str
    inst_type: str  # "SWAP" or "SPOT"
    coin: Coin
    quote: str
    ct_val: Decimal  # 1 for spot (sizes are base units)
    lot_sz: Decimal
    min_sz: Decimal
    tick_sz: Decimal
    max_lever: int
    state: str
    code: int

    @property
    def is_swap(self) -> bool:
        return self.inst_type == "SWAP"

    @property
    def base(self) -> str:
        return self.coin.ccy

    @property
    def family(self) -> str:
        return f"{self.coin.ccy}-{self.quote}"

    def to_okx(self, state: str | None = None) -> dict[str, Any]:
        """The ``public/instruments`` row (``state`` overrides the catalogue's, see venue)."""
        swap = self.is_swap
        list_time = str(self.coin.list_time_ms + (0 if swap else 3_600_000))
        return {
            "alias": "",
            "auctionEndTime": "",
            "baseCcy": "" if swap else self.coin.ccy,
            "category": "1",
            "ctMult": "1" if swap else "",
            "ctType": "linear" if swap else "",
            "ctVal": str(self.ct_val) if swap else "",
            "ctValCcy": self.coin.ccy if swap else "",
            "contTdSwTime": list_time,
            "expTime": "",
            "futureSettlement": False,
            "groupId": "1",
            "instFamily": self.family if swap else "",
            "instId": self.inst_id,
            "instType": self.inst_type,
            "lever": str(self.max_lever),
            "listTime": list_time,
            "lotSz": str(self.lot_sz),
            "maxIcebergSz": "9999999999.0000000000000000",
            "maxLmtAmt": "20000000",
            "maxLmtSz": "100000000" if swap else "9999999999",
            "maxMktAmt": "" if swap else "1000000",
            "maxMktSz": "100000" if swap else "1000000",
            "maxStopSz": "100000" if swap else "",
            "maxTriggerSz": "100000000" if swap else "9999999999.0000000000000000",
            "maxTwapSz": "100000000" if swap else "9999999999.0000000000000000",
            "minSz": str(self.min_sz),
            "optType": "",
            "openType": "" if swap else "call_auction",
            "preMktSwTime": "",
            "quoteCcy": "" if swap else self.quote,
            "tradeQuoteCcyList": [] if swap else [self.quote],
            "settleCcy": self.quote if swap else "",
            "state": state or self.state,
            "ruleType": "normal",
            "stk": "",
            "tickSz": str(self.tick_sz),
            "uly": self.family if swap else "",
            "instIdCode": self.code,
            "upcChg": [],
        }


D = Decimal
# ccy, name, price, daily vol, swap base volume/min, listTime,
#   swap (ctVal, lotSz, minSz, tickSz, lever), spot (lotSz, minSz, tickSz, lever)
_SPECS: list[tuple[Any, ...]] = [
    ("BTC", "Bitcoin", 95_000.0, 0.022, 15.0, 1573557408000,
     ("0.01", "0.01", "0.01", "0.1", 100), ("0.00000001", "0.00001", "0.1", 10)),
    ("ETH", "Ethereum", 3_300.0, 0.028, 220.0, 1573557408000,
     ("0.1", "0.01", "0.01", "0.01", 100), ("0.000001", "0.0001", "0.01", 10)),
    ("SOL", "Solana", 180.0, 0.038, 2_500.0, 1612833600000,
     ("1", "0.01", "0.01", "0.01", 50), ("0.000001", "0.001", "0.01", 5)),
    ("DOGE", "Dogecoin", 0.22, 0.045, 3_000_000.0, 1581048000000,
     ("1000", "0.01", "0.01", "0.00001", 50), ("0.000001", "10", "0.00001", 5)),
    ("XRP", "XRP", 2.3, 0.04, 300_000.0, 1575388800000,
     ("100", "0.01", "0.01", "0.0001", 50), ("0.000001", "1", "0.0001", 5)),
    ("LTC", "Litecoin", 95.0, 0.035, 1_500.0, 1575388800000,
     ("1", "0.01", "0.01", "0.01", 50), ("0.000001", "0.01", "0.01", 5)),
    ("ADA", "Cardano", 0.7, 0.042, 400_000.0, 1599537600000,
     ("100", "1", "1", "0.0001", 50), ("0.000001", "1", "0.0001", 5)),
    ("LINK", "Chainlink", 18.0, 0.042, 6_000.0, 1575388800000,
     ("1", "0.1", "0.1", "0.001", 50), ("0.000001", "0.1", "0.001", 5)),
    ("AVAX", "Avalanche", 30.0, 0.045, 3_000.0, 1600747200000,
     ("1", "0.1", "0.1", "0.01", 50), ("0.000001", "0.01", "0.01", 5)),
    ("BCH", "Bitcoin Cash", 450.0, 0.035, 200.0, 1575388800000,
     ("0.1", "0.01", "0.01", "0.01", 50), ("0.000001", "0.001", "0.1", 5)),
    ("DOT", "Polkadot", 6.0, 0.042, 20_000.0, 1598500800000,
     ("1", "1", "1", "0.001", 50), ("0.000001", "0.1", "0.001", 5)),
    ("TRX", "TRON", 0.25, 0.03, 2_000_000.0, 1575388800000,
     ("1000", "1", "1", "0.00001", 50), ("0.000001", "10", "0.00001", 5)),
]


def build_catalogue() -> dict[str, Instrument]:
    """All instruments by instId: swaps first, then spot pairs."""
    swaps: dict[str, Instrument] = {}
    spots: dict[str, Instrument] = {}
    for n, (ccy, name, price, vol, mvol, listed, swap, spot) in enumerate(_SPECS):
        coin = Coin(ccy, name, price, vol, mvol, listed)
        ct, lot, mn, tick, lever = swap
        swaps[f"{ccy}-USDT-SWAP"] = Instrument(
            f"{ccy}-USDT-SWAP", "SWAP", coin, "USDT", D(ct), D(lot), D(mn), D(tick), lever,
            "live", 10_000 + n,
        )
        lot, mn, tick, lever = spot
        spots[f"{ccy}-USDT"] = Instrument(
            f"{ccy}-USDT", "SPOT", coin, "USDT", D(1), D(lot), D(mn), D(tick), lever,
            "live", 20_000 + n,
        )
    return {**swaps, **spots}


CATALOGUE: dict[str, Instrument] = build_catalogue()


MAX_SYNTHETIC = 999
_SYNTH_LIST_MS = 1_609_459_200_000  # 2021-01-01T00:00:00Z
_LOTS = ("0.01", "0.1", "1")
_LEVERS = (20, 50, 75, 100)


def _unit(seed_text: str, salt: str) -> float:
    """A uniform in [0, 1) from text (stable across processes and runs)."""
    digest = hashlib.blake2b(f"{salt}:{seed_text}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def synthetic_swaps(n: int) -> dict[str, Instrument]:
    """``n`` synthetic USDT-margined perpetual swaps ``S001-USDT-SWAP`` ... (benchmarks).

    Specs are a pure function of the index: a price log-uniform between 0.01 and 50,000 USDT,
    ``ctVal`` a power of ten giving 10-100 USDT per contract, ``tickSz`` about 1e-4 of the price
    (a power of ten), ``lotSz = minSz`` one of 0.01/0.1/1, max lever 20-100, daily volatility
    2-8 %, 2-50 million USDT a day of volume. The price path is the simulator's usual one, keyed
    by the coin (``S001``...), so every synthetic has its own.
    """
    if not 0 <= n <= MAX_SYNTHETIC:
        raise ValueError(f"extra instruments must be 0..{MAX_SYNTHETIC}, got {n}")
    out: dict[str, Instrument] = {}
    for i in range(1, n + 1):
        ccy = f"S{i:03d}"
        price = 0.01 * 5_000_000.0 ** _unit(ccy, "price")
        digits = math.floor(math.log10(price))
        ct_val = Decimal(10) ** (1 - digits)
        tick = Decimal(10) ** (digits - 4)
        lot = Decimal(_LOTS[int(_unit(ccy, "lot") * len(_LOTS))])
        lever = _LEVERS[int(_unit(ccy, "lever") * len(_LEVERS))]
        daily_usdt = 2e6 * 25.0 ** _unit(ccy, "volume")
        coin = Coin(ccy, f"Synthetic {i:03d}", price, 0.02 + 0.06 * _unit(ccy, "vol"),
                    daily_usdt / 1440.0 / price, _SYNTH_LIST_MS)
        inst_id = f"{ccy}-USDT-SWAP"
        out[inst_id] = Instrument(inst_id, "SWAP", coin, "USDT", ct_val, lot, lot, tick, lever,
                                  "live", 30_000 + i)
    return out
