"""Issue 12's end-of-chaos invariants (no tests here), read from the simulator and the journals:

- :func:`check_journal_agrees`: the journal and the exchange agree on every order — every order
  the simulator accepted is ``done`` in its account's journal with the same ordId, state and
  filled size, and every journaled order the simulator does not hold was never placed there
  (``rejected`` / ``not_placed`` / ``lost``), including the ones OKX executed late;
- :func:`check_standing`: after a quiet bar, each position is its instrument's standing target
  (journal table ``targets``) × its size, within the trader's re-trade band.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from config.schema import FleetConfig
from tests.e2e.fleet_harness import BAND, Snapshot, read_journal

__all__ = ["check_journal_agrees", "check_standing"]


def check_journal_agrees(
    sim_orders: Sequence[dict[str, Any]], journals: Mapping[str, Sequence[dict[str, Any]]]
) -> int:
    """Every order, both ways; returns how many accepted orders were compared."""
    accepted = {o["clOrdId"]: o for o in sim_orders if o["ordId"]}  # (refused ones have no ordId)
    compared = 0
    for name, rows in journals.items():
        by_cl = {r["cl_ord_id"]: r for r in rows}
        for cl, o in accepted.items():
            if o["account"] != name:
                continue
            row = by_cl.get(cl)
            assert row is not None, f"{name} {cl}: accepted by OKX, not in the journal"
            where = f"{name} {cl}: journal {row['status']}/{row['state']}, OKX {o['state']}"
            assert row["status"] == "done", where
            assert row["ord_id"] == o["ordId"], where
            assert row["state"] == o["state"], where
            assert Decimal(row["acc_fill_sz"]) == Decimal(o["order"]["accFillSz"]), where
            compared += 1
        for row in rows:
            if row["cl_ord_id"] not in accepted:
                assert row["status"] in ("rejected", "not_placed", "lost"), (name, row)
    return compared


def check_standing(cfg: FleetConfig, snap: Snapshot) -> dict[str, dict[str, tuple[int, Decimal]]]:
    """Each position = standing target × size; returns ``account -> inst -> (target, position)``."""
    seen: dict[str, dict[str, tuple[int, Decimal]]] = {}
    for name, acct in cfg.accounts.items():
        standing = {r["inst_id"]: r for r in read_journal(cfg, name, "targets")}
        held = snap.positions[name]
        for strat in acct.strategies:
            row = standing.get(strat.inst_id)
            pos = held.get(strat.inst_id, Decimal(0))
            assert row is not None, f"{name} {strat.inst_id}: no standing target after the whole run"
            target = int(row["target"])
            where = f"{name} {strat.inst_id}: holds {pos}, standing target {target} x {row['size']}"
            if target == 0:
                assert pos == 0, where
            else:
                assert row["size"] is not None, where + " (never sized)"
                size = Decimal(row["size"])
                assert pos * target > 0, where + " (wrong side)"
                assert abs(abs(pos) - size) <= BAND * size, where + " (not the target size)"
            seen.setdefault(name, {})[strat.inst_id] = (target, pos)
    return seen
