"""Envelope checks (code, sCode, code 1/2 batches, missing data) and the one OKX code table."""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import ConfigError, RateLimitedError, TemporaryError
from exchange.envelope import check_batch, check_envelope, envelope_code, error_for_http_status
from exchange.errors import (
    BadResponse,
    ExchangeAuthError,
    ExchangeError,
    ExchangeRateLimited,
    ExchangeUnavailable,
    InsufficientFunds,
    OrderNotFound,
    OrderRejected,
    UnknownInstrument,
    UnknownOutcome,
    error_for_code,
)


def item(s_code: str = "0", cl: str = "a", msg: str = "") -> dict[str, str]:
    return {"ordId": "1" if s_code == "0" else "", "clOrdId": cl, "sCode": s_code, "sMsg": msg}


def test_success_returns_data() -> None:
    assert check_envelope({"code": "0", "msg": "", "data": [{"ts": "1"}]}) == [{"ts": "1"}]


def test_missing_or_null_data_is_empty() -> None:
    assert check_envelope({"code": "0", "msg": ""}) == []
    assert check_envelope({"code": "0", "data": None}) == []


@pytest.mark.parametrize(
    "reply",
    [None, [], "text", {"msg": "no code"}, {"code": "0", "data": {"ts": "1"}}],
)
def test_malformed_replies_are_bad_responses(reply: Any) -> None:
    with pytest.raises(BadResponse):
        check_envelope(reply, "/api/v5/x")


def test_numeric_code_is_accepted() -> None:
    assert envelope_code({"code": 0}) == "0"
    assert check_envelope({"code": 0, "data": []}) == []


def test_code_1_raises_the_item_s_code() -> None:
    reply = {"code": "1", "msg": "All operations failed", "data": [item("51008", msg="margin")]}

    with pytest.raises(InsufficientFunds) as info:
        check_envelope(reply, "/api/v5/trade/order")

    assert info.value.code == "51008"
    assert info.value.s_code == "51008"
    assert info.value.endpoint == "/api/v5/trade/order"
    assert "margin" in str(info.value)


def test_s_code_is_checked_even_when_code_is_0() -> None:
    with pytest.raises(OrderRejected):
        check_envelope({"code": "0", "data": [item("0"), item("51121")]})


def test_code_1_without_items_raises_generic() -> None:
    with pytest.raises(ExchangeError) as info:
        check_envelope({"code": "1", "msg": "Operation failed.", "data": []})
    assert info.value.code == "1"


def test_top_level_code_without_items() -> None:
    with pytest.raises(ExchangeRateLimited):
        check_envelope({"code": "50011", "msg": "Too Many Requests", "data": []})


def test_batch_partial_success_splits_per_item() -> None:
    reply = {
        "code": "2",
        "msg": "",
        "data": [item("0", "a"), item("51008", "b"), item("50004", "c"), item("51016", "d")],
    }

    out = check_batch(reply, "/api/v5/trade/batch-orders", 4)

    assert out[0]["ordId"] == "1"
    assert isinstance(out[1], InsufficientFunds)
    assert isinstance(out[2], UnknownOutcome)
    assert isinstance(out[3], OrderRejected)
    assert out[3].code == "51016"


def test_batch_all_failed_code_1() -> None:
    out = check_batch({"code": "1", "data": [item("51000", "a"), item("51001", "b")]}, "b", 2)

    assert [type(x) for x in out] == [OrderRejected, UnknownInstrument]


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ({"code": "50011", "msg": "Too Many Requests"}, ExchangeRateLimited),
        ({"code": "50004", "msg": "timeout", "data": []}, UnknownOutcome),
        ({"code": "50113", "msg": "Invalid Sign"}, ExchangeAuthError),
        ({"code": "1", "msg": "failed", "data": []}, ExchangeError),
    ],
)
def test_batch_whole_request_failures_raise(reply: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        check_batch(reply, "/api/v5/trade/batch-orders", 2)


def test_batch_item_count_mismatch_is_bad_response() -> None:
    with pytest.raises(BadResponse):
        check_batch({"code": "0", "data": [item()]}, "b", 2)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("50001", ExchangeUnavailable),
        ("50013", ExchangeUnavailable),
        ("50026", ExchangeUnavailable),
        ("50011", ExchangeRateLimited),
        ("50061", ExchangeRateLimited),
        ("50004", UnknownOutcome),
        ("50101", ExchangeAuthError),
        ("50102", ExchangeAuthError),
        ("50111", ExchangeAuthError),
        ("50113", ExchangeAuthError),
        ("51010", ExchangeAuthError),
        ("51000", OrderRejected),
        ("51001", UnknownInstrument),
        ("51004", OrderRejected),
        ("51006", OrderRejected),
        ("51008", InsufficientFunds),
        ("51119", InsufficientFunds),
        ("51016", OrderRejected),
        ("51020", OrderRejected),
        ("51121", OrderRejected),
        ("51202", OrderRejected),
        ("51400", OrderNotFound),
        ("51603", OrderNotFound),
        ("58001", ExchangeError),
    ],
)
def test_error_for_code_table(code: str, error: type[ExchangeError]) -> None:
    exc = error_for_code(code, "m", endpoint="e")

    assert type(exc) is error
    assert exc.code == code


def test_reaction_groups_reach_core_errors() -> None:
    assert isinstance(error_for_code("50113", ""), ConfigError)
    assert isinstance(error_for_code("50013", ""), TemporaryError)
    assert isinstance(error_for_code("50011", ""), RateLimitedError)
    assert not isinstance(error_for_code("50004", ""), TemporaryError)  # never retried blindly
    assert isinstance(error_for_code("51001", ""), OrderRejected)


@pytest.mark.parametrize(
    ("status", "mutating", "error"),
    [
        (429, False, ExchangeRateLimited),
        (429, True, ExchangeRateLimited),
        (503, False, ExchangeUnavailable),
        (502, True, UnknownOutcome),
        (500, True, UnknownOutcome),
        (401, False, ExchangeUnavailable),  # an HTML page: a CDN/WAF, not OKX refusing the keys
        (403, True, ExchangeUnavailable),
        (404, False, BadResponse),
        (200, False, BadResponse),
    ],
)
def test_error_for_http_status(status: int, mutating: bool, error: type[ExchangeError]) -> None:
    exc = error_for_http_status(status, "<html>  Too   many </html>", endpoint="e", mutating=mutating)

    assert type(exc) is error
    assert "<html> Too many </html>" in str(exc)
