"""Target position vs actual position -> the legs to order. Pure, ``Decimal`` only.

A strategy says where it wants to be (``1`` long, ``-1`` short, ``0`` flat, ``None`` keep); sizing
says how big (``desired``, contracts or spot base units). The trader compares that with what OKX
reports and orders only the difference, closes first:

======  ====================  ============================================================
target  holding               legs (in order)
======  ====================  ============================================================
None    anything              none (keep)
0       long L / short S      close L (sell) / close S (buy)
1       short S               close S (buy), then open ``desired`` long (buy)
1       long L < desired      open ``desired - L`` (outside the band)
1       long L > desired      reduce ``L - desired`` (outside the band)
-1      mirror image of 1
======  ====================  ============================================================

``band`` (a fraction of ``desired``) keeps a position that is already about right from being
re-traded every bar as equity moves; a partial fill outside the band heals on the next bar.

Order fields per position mode (okx-v5.md §6.1):

- ``net``: one signed position, no ``posSide``; closes and reduces carry ``reduceOnly``.
- ``long_short``: ``posSide`` always (open long = buy+long, close long = sell+long, open short =
  sell+short, close short = buy+short); ``reduceOnly`` does not apply. Long and short can be held
  at once (manual trades); both are handled.
- ``spot``: cash; the holding is the base balance, a short is impossible (target -1 means 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from trader.sizing import floor_to_step

__all__ = ["DEFAULT_BAND", "Holding", "Leg", "LegKind", "Mode", "Plan", "plan_legs"]

Mode = Literal["net", "long_short", "spot"]
LegKind = Literal["close", "reduce", "open"]
ZERO = Decimal(0)
DEFAULT_BAND = Decimal("0.1")


@dataclass(frozen=True)
class Holding:
    """What the account holds in one instrument: long and short amounts, both >= 0."""

    long: Decimal = ZERO
    short: Decimal = ZERO

    def __post_init__(self) -> None:
        if self.long < 0 or self.short < 0:
            raise ValueError(f"holding sides must be >= 0, got long={self.long} short={self.short}")

    @staticmethod
    def from_signed(pos: Decimal) -> Holding:
        return Holding(long=pos if pos > 0 else ZERO, short=-pos if pos < 0 else ZERO)

    @property
    def signed(self) -> Decimal:
        return self.long - self.short

    @property
    def direction(self) -> int:
        """Sign of the net position: what a strategy gets as ``now_pos``."""
        s = self.signed
        return 1 if s > 0 else -1 if s < 0 else 0


@dataclass(frozen=True)
class Leg:
    """One order to send. ``direction`` is the position side it touches (+1 long, -1 short)."""

    kind: LegKind
    direction: int
    side: Literal["buy", "sell"]
    pos_side: Literal["long", "short"] | None
    sz: Decimal
    reduce_only: bool | None

    @property
    def name(self) -> str:
        """``close``/``reduce``/``open`` — the leg part of the clOrdId."""
        return self.kind


@dataclass(frozen=True)
class Plan:
    legs: tuple[Leg, ...]
    notes: tuple[str, ...] = ()
    effective_target: int | None = None

    @property
    def closes(self) -> tuple[Leg, ...]:
        return tuple(leg for leg in self.legs if leg.kind == "close")

    @property
    def adjustments(self) -> tuple[Leg, ...]:
        return tuple(leg for leg in self.legs if leg.kind != "close")


def _leg(kind: LegKind, direction: int, sz: Decimal, mode: Mode) -> Leg:
    increases = kind == "open"
    buy = (direction > 0) == increases
    side: Literal["buy", "sell"] = "buy" if buy else "sell"
    if mode == "long_short":
        return Leg(kind, direction, side, "long" if direction > 0 else "short", sz, None)
    if mode == "net":
        return Leg(kind, direction, side, None, sz, None if increases else True)
    return Leg(kind, direction, side, None, sz, None)


def plan_legs(
    target: int | None,
    holding: Holding,
    desired: Decimal | None,
    mode: Mode,
    *,
    lot_sz: Decimal,
    min_sz: Decimal,
    band: Decimal = DEFAULT_BAND,
) -> Plan:
    """The legs that take ``holding`` to ``target`` × ``desired``, closes first.

    ``desired=None`` plans the closes only (phase 1: equity is re-read after closing, before the
    opens are sized). ``desired == 0`` means "not sizeable": the target side is left as it is.
    """
    if isinstance(target, bool) or target not in (None, -1, 0, 1):
        raise ValueError(f"target must be 1, -1, 0 or None, got {target!r}")
    if desired is not None and desired < 0:
        raise ValueError(f"desired size must be >= 0, got {desired}")
    if mode == "net" and holding.long > 0 and holding.short > 0:
        raise ValueError("a net-mode holding cannot be long and short at once")
    notes: list[str] = []
    if target is None:
        return Plan((), ("keep",), None)
    if mode == "spot":
        if holding.short > 0:
            raise ValueError("spot holdings cannot be short")
        if target == -1:
            notes.append("spot cannot go short: target -1 treated as 0")
            target = 0

    legs: list[Leg] = []
    for direction, held in ((1, holding.long), (-1, holding.short)):
        if held <= 0 or direction == target:
            continue
        size = floor_to_step(held, lot_sz) if mode == "spot" else held
        if size <= 0 or (mode == "spot" and size < min_sz):
            notes.append(f"holding {held} is below the minimum order size {min_sz}: left as dust")
            continue
        legs.append(_leg("close", direction, size, mode))

    if target != 0 and desired is not None:
        held = holding.long if target > 0 else holding.short
        if desired == 0:
            notes.append("target not sizeable: position on the target side left as it is")
        else:
            delta = desired - held
            tolerance = band * desired if held > 0 else ZERO
            if abs(delta) > tolerance:
                kind: LegKind = "open" if delta > 0 else "reduce"
                size = floor_to_step(abs(delta), lot_sz)
                if size > 0 and size >= min_sz:
                    legs.append(_leg(kind, target, size, mode))
                else:
                    notes.append(f"{kind} of {abs(delta)} is below the minimum order size {min_sz}")
    return Plan(tuple(legs), tuple(notes), target)
