"""Per-instrument trading conditions set through test control: state overrides and liquidity.

Instrument state
    ``public/instruments`` reports the override (``live``, ``suspend``, ``preopen``, ``test``).
    Only ``live`` instruments trade: placing, amending or closing on any other state is rejected
    with ``51001`` (OKX documents no separate code for a suspended instrument; see the README), and
    resting orders on it are not matched until it is ``live`` again. Cancels still work and market
    data keeps flowing.

Liquidity (deterministic partial fills)
    With a limit of ``max_fill_sz`` on an instrument, every order on it fills at most that much
    in each simulated second (virtual clock, whole seconds since the epoch). Each order has its own
    allowance — orders do not compete for it — and an allowance not used in a second is gone:

    - a marketable order takes ``max_fill_sz`` at once (taker, at its execution price); a limit
      order then rests with the remainder (``partially_filled``) while ``market``, ``ioc`` and
      ``optimal_limit_ioc`` cancel it (state ``canceled`` with ``accFillSz > 0``) and ``fok`` is
      cancelled unfilled unless its whole size is available;
    - a resting limit order fills (maker, at its price) when an evaluation (clock move, price move,
      any request) finds that the path reached its price since the last one: ``max_fill_sz`` for
      each simulated second since the last second it filled in (at least the current one when it
      was not marketable just before), so at most once per simulated second.

    Without a limit an order fills completely at once, as before. Sizes are whole lots.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal
from typing import Any

from simulator.catalogue import Instrument

__all__ = ["INSTRUMENT_STATES", "Venue"]

INSTRUMENT_STATES = frozenset({"live", "suspend", "preopen", "test"})
ZERO = Decimal(0)


class Venue:
    """Instrument state overrides and liquidity limits of one simulator (reset with the engine)."""

    def __init__(self) -> None:
        self._states: dict[str, str] = {}
        self._limits: dict[str, Decimal] = {}

    # -- instrument state --------------------------------------------------------------------
    def state_of(self, inst: Instrument) -> str:
        return self._states.get(inst.inst_id, inst.state)

    def tradable(self, inst: Instrument) -> bool:
        return self.state_of(inst) == "live"

    def set_state(self, inst: Instrument, state: str) -> None:
        if state not in INSTRUMENT_STATES:
            raise ValueError(f"state must be one of {', '.join(sorted(INSTRUMENT_STATES))}")
        if state == inst.state:
            self._states.pop(inst.inst_id, None)
        else:
            self._states[inst.inst_id] = state

    # -- liquidity -----------------------------------------------------------------------------
    def max_fill(self, inst: Instrument) -> Decimal | None:
        """Most an order on ``inst`` fills per simulated second (None = unlimited)."""
        return self._limits.get(inst.inst_id)

    def set_liquidity(self, inst: Instrument, max_fill_sz: Decimal) -> None:
        """Limit ``inst`` to ``max_fill_sz`` per order and simulated second (a whole number of lots)."""
        if not max_fill_sz.is_finite() or max_fill_sz <= 0:
            raise ValueError("max_fill_sz must be positive")
        if max_fill_sz % inst.lot_sz != 0:
            raise ValueError(f"max_fill_sz must be a multiple of lotSz {inst.lot_sz}")
        self._limits[inst.inst_id] = max_fill_sz

    def clear_liquidity(self, inst: Instrument | None = None) -> None:
        if inst is None:
            self._limits.clear()
        else:
            self._limits.pop(inst.inst_id, None)

    def available(self, inst: Instrument, last_sec: int, now: int, want: Decimal) -> Decimal:
        """What an order that last filled in second ``last_sec`` may fill of ``want`` at ``now``."""
        rate = self._limits.get(inst.inst_id)
        if rate is None:
            return want
        seconds = now // 1000 - last_sec
        if seconds <= 0 or want <= 0:
            return ZERO
        lots = (rate * seconds / inst.lot_sz).to_integral_value(rounding=ROUND_FLOOR)
        return min(want, lots * inst.lot_sz)

    def to_json(self) -> dict[str, Any]:
        return {
            "states": dict(sorted(self._states.items())),
            "liquidity": {k: str(v) for k, v in sorted(self._limits.items())},
        }
