"""``GET /api/v5/account/bills``: the trading account's bills — transfers only (``type=1``).

Every transfer that moves cash into or out of a trading account (``18``) — funding <-> trading,
master <-> sub, sub <-> sub — leaves one bill on that account with OKX's shape: ``balChg`` signed
(``subType`` 11 transfer in, 12 transfer out), ``bal`` the cash balance after it, ``billId``
growing with time. Newest first; ``before``/``after`` page by ``billId``; ``type``/``ccy`` filter.
Trades, fees and funding fees leave no bill here (nothing in the fleet reads them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from simulator.accounts import ZERO, Account
from simulator.api import Ctx, Reply, Route
from simulator.errors import OkxError

__all__ = ["ROUTES", "BillBook"]

_TRANSFER, _IN, _OUT = "1", "11", "12"
_LIMIT = 100


@dataclass
class BillBook:
    rows: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # (account uid, bill)

    def transfer(self, acct: Account, ccy: str, change: Decimal, src: str, dst: str, now: int) -> None:
        """Record one transfer leg on ``acct``'s trading account (``change`` signed)."""
        bill_id = str(len(self.rows) + 600_000_001)
        row = {
            "bal": str(acct.cash.get(ccy, ZERO)), "balChg": str(change), "billId": bill_id, "ccy": ccy,
            "clOrdId": "", "execType": "", "fee": "0", "fillFwdPx": "", "fillIdxPx": "", "fillMarkPx": "",
            "fillMarkVol": "", "fillPxUsd": "", "fillPxVol": "", "fillTime": "", "from": src, "instId": "",
            "instType": "", "interest": "0", "mgnMode": "", "notes": "", "ordId": "", "pnl": "0",
            "posBal": "0", "posBalChg": "0", "px": "", "subType": _IN if change > 0 else _OUT,
            "sz": str(abs(change)), "tag": "", "to": dst, "tradeId": "", "ts": str(now), "type": _TRANSFER,
        }  # fmt: skip
        self.rows.append((acct.uid, row))


def _int_param(ctx: Ctx, key: str) -> int | None:
    raw = ctx.param(key)
    if not raw:
        return None
    if not raw.isdigit():
        raise OkxError("51000", key)
    return int(raw)


def _bills(ctx: Ctx) -> Reply:
    before, after = _int_param(ctx, "before"), _int_param(ctx, "after")
    limit = _int_param(ctx, "limit") or _LIMIT
    if not 1 <= limit <= _LIMIT:
        raise OkxError("51000", "limit")
    kind, ccy = ctx.param("type"), ctx.param("ccy")
    mine = [
        row for uid, row in ctx.state.treasury.bills.rows
        if uid == ctx.acct.uid and (not kind or row["type"] == kind) and (not ccy or row["ccy"] == ccy)
        and (before is None or int(row["billId"]) > before) and (after is None or int(row["billId"]) < after)
    ]  # fmt: skip
    # ``before`` asks for the records just newer than it; otherwise the newest ones.
    picked = mine[:limit] if before is not None else mine[-limit:]
    return Reply(list(reversed(picked)))


ROUTES: dict[tuple[str, str], Route] = {("GET", "/api/v5/account/bills"): Route(_bills, private=True)}
