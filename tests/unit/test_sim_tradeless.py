"""Trade-less minutes in the simulator (issue 12, item 9): thin instruments serve minutes without
trades as OKX does (flat at the previous close, volume 0) and their larger bars take no
open/high/low from such minutes; liquid instruments never have one."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from simulator.bars import BARS
from simulator.candles import CandleService
from simulator.catalogue import CATALOGUE, synthetic_swaps
from simulator.feed import MarketFeed, tradeless_share
from simulator.prices import MINUTE_MS

K0 = 1_710_499_032_345 // MINUTE_MS // 1440 * 1440  # a UTC midnight in minutes
DAY = 1440
THIN = "S001-USDT-SWAP"


def feed() -> MarketFeed:
    return MarketFeed(7, {**CATALOGUE, **synthetic_swaps(3)})


def test_liquid_instruments_trade_every_minute() -> None:
    f = feed()
    for inst_id in ("BTC-USDT-SWAP", "LINK-USDT-SWAP", "TRX-USDT"):
        inst = f.instruments[inst_id]
        assert tradeless_share(inst) == 0
        assert int(f.minutes(inst, K0, K0 + DAY).vol.min()) > 0


def test_a_thin_instrument_has_flat_zero_volume_minutes_at_the_previous_close() -> None:
    f = feed()
    inst = f.instruments[THIN]
    table = f.minutes(inst, K0, K0 + DAY)
    flat = np.flatnonzero(table.vol == 0)
    assert 5 <= len(flat) <= 200  # a few per cent of the day
    for i in flat[flat > 0]:
        assert table.open[i] == table.high[i] == table.low[i] == table.close[i] == table.close[i - 1]
        assert table.vcq[i] == 0
        assert f.tradeless(inst, K0 + int(i))
        t = (K0 + int(i)) * MINUTE_MS + 30_000  # no trade: the last price is the previous close
        assert f.price_ticks(inst, t) == table.close[i - 1]
    # the same minutes whichever range is asked for
    again = f.minutes(inst, K0 + 100, K0 + 300)
    assert np.array_equal(again.vol, table.vol[100:300])


def test_larger_bars_take_no_open_high_low_from_tradeless_minutes() -> None:
    f = feed()
    inst = f.instruments[THIN]
    service = CandleService(f)
    now = (K0 + DAY) * MINUTE_MS + 1
    spec = BARS["5m"]
    opens = [K0 * MINUTE_MS + i * 5 * MINUTE_MS for i in range(DAY // 5)]
    fives = service.rows(inst, spec, opens, now)
    ones = service.rows(inst, BARS["1m"], [K0 * MINUTE_MS + i * MINUTE_MS for i in range(DAY)], now)
    differs = 0
    for j, five in enumerate(fives):
        group = ones[5 * j : 5 * j + 5]
        traded = [r for r in group if Decimal(r[5]) != 0] or group
        assert five[1] == traded[0][1]
        assert Decimal(five[2]) == max(Decimal(r[2]) for r in traded)
        assert Decimal(five[3]) == min(Decimal(r[3]) for r in traded)
        assert five[4] == group[-1][4]
        assert Decimal(five[5]) == sum(Decimal(r[5]) for r in group)
        naive = (group[0][1], max(Decimal(r[2]) for r in group), min(Decimal(r[3]) for r in group))
        differs += naive != (five[1], Decimal(five[2]), Decimal(five[3]))
    assert differs > 0  # the rule matters on this day
