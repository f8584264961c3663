"""Master-account records (issue #16): parsed at the edge, a missing field is an error, never zero;
transfer requests routed to the right OKX endpoint and type."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from exchange.asset import (
    parse_funding_balance,
    parse_max_withdrawal,
    parse_sub_account,
    parse_sub_trading_balance,
    parse_transfer_ack,
    parse_transfer_state,
)
from exchange.errors import BadResponse
from exchange.treasury import MASTER, TransferRequest

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "okx" / "okx_doc_subaccount_list.json"


def test_sub_account_list_fixture_parses() -> None:
    item = json.loads(FIXTURE.read_text())["data"][0]
    sub = parse_sub_account(item)
    assert sub.name == "D456DDDL"
    assert sub.can_trans_out is False
    assert sub.enabled is True


@pytest.mark.parametrize(
    ("parser", "item", "what"),
    [
        (parse_sub_account, {"subAcct": "a", "uid": "1", "enable": True}, "canTransOut"),
        (parse_sub_account, {"subAcct": "a", "uid": "1", "enable": "yes", "canTransOut": True}, "enable"),
        (parse_funding_balance, {"ccy": "USDT", "bal": "1"}, "availBal"),
        (parse_funding_balance, {"ccy": "USDT", "bal": "x", "availBal": "1"}, "bal"),
        (parse_max_withdrawal, {"ccy": "USDT", "maxWd": ""}, "maxWd"),
        (parse_transfer_ack, {"clientId": "x"}, "transId"),
        (
            parse_transfer_state,
            {"transId": "1", "state": "success", "ccy": "USDT", "from": "6", "to": "18"},
            "amt",
        ),
    ],
)
def test_missing_or_malformed_fields_are_errors(parser: Any, item: dict[str, Any], what: str) -> None:
    with pytest.raises(BadResponse, match=what):
        parser(item)


def test_trading_balance_reads_the_margin_in_use() -> None:
    detail = {"ccy": "USDT", "eq": "1200", "cashBal": "1100", "ordFrozen": "50"}
    bal = parse_sub_trading_balance({"totalEq": "1200", "imr": "300", "details": [detail]}, "USDT")
    assert (bal.eq, bal.cash_bal, bal.imr) == (Decimal(1200), Decimal(1100), Decimal(350))
    none = parse_sub_trading_balance({"totalEq": "0", "details": []}, "USDT")
    assert none.eq == 0


@pytest.mark.parametrize(
    ("src", "src_kind", "dst", "path", "extra"),
    [
        (
            "s1",
            "18",
            "s2",
            "/api/v5/asset/subaccount/transfer",
            {"fromSubAccount": "s1", "toSubAccount": "s2"},
        ),
        (MASTER, "6", "s2", "/api/v5/asset/transfer", {"type": "1", "subAcct": "s2"}),
        ("s1", "6", MASTER, "/api/v5/asset/transfer", {"type": "2", "subAcct": "s1"}),
        (MASTER, "6", MASTER, "/api/v5/asset/transfer", {"type": "0"}),
    ],
)
def test_transfer_routing(src: str, src_kind: str, dst: str, path: str, extra: dict[str, str]) -> None:
    dst_kind = "18" if src != dst else "6" if src_kind == "18" else "18"
    got_path, body = TransferRequest("t1s01", "USDT", Decimal("12.5"), src, src_kind, dst, dst_kind).params()
    assert got_path == path
    assert body["clientId"] == "t1s01"
    assert body["amt"] == "12.5"
    assert body.items() >= extra.items()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"client_id": "x" * 33}, "clientId"),
        ({"client_id": "bad-id"}, "clientId"),
        ({"amt": Decimal(0)}, "amount"),
        ({"src_kind": "7"}, "account types"),
        ({"dst": "s1", "dst_kind": "18"}, "two different accounts"),
    ],
)
def test_bad_transfer_requests_are_refused(kwargs: dict[str, Any], match: str) -> None:
    base: dict[str, Any] = {"client_id": "ok1", "ccy": "USDT", "amt": Decimal(1), "src": "s1",
                            "src_kind": "18", "dst": "s2", "dst_kind": "18"}  # fmt: skip
    with pytest.raises(ValueError, match=match):
        TransferRequest(**{**base, **kwargs})
