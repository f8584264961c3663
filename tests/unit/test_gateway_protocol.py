"""FMZ request parsing, params and reply envelopes (gateway.protocol)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from gateway.protocol import (
    BadRequest,
    fail,
    ok,
    param_decimal,
    param_int,
    param_str,
    parse_body,
    parse_secret_key,
)

NONCE = 1730275031047002000


def body(**fields: object) -> bytes:
    doc: dict[str, object] = {
        "access_key": "ak_test",
        "secret_key": "sk_test,pp_test",
        "nonce": NONCE,
        "method": "ticker",
        "params": {"symbol": "BTC_USDT"},
    }
    doc.update(fields)
    return json.dumps(doc).encode()


def test_parse_body_guide_example() -> None:
    req = parse_body(body())
    assert req.method == "ticker"
    assert req.params == {"symbol": "BTC_USDT"}
    assert req.symbol == "BTC_USDT"
    assert not req.is_api
    assert "sk_test" not in repr(req)
    assert "ak_test" not in repr(req)


def test_large_nonce_parses_exactly() -> None:
    # 19 digits, beyond float precision: must parse without error
    assert parse_body(body(nonce=NONCE)).method == "ticker"


def test_nonce_is_optional() -> None:
    doc = json.loads(body())
    del doc["nonce"]
    assert parse_body(json.dumps(doc).encode()).method == "ticker"


def test_unknown_params_and_apostrophes_are_kept_verbatim() -> None:
    req = parse_body(body(params={"symbol": "BTC_USDT", "note": "it's"}))
    assert req.params["note"] == "it's"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty request body"),
        (b"   ", "empty request body"),
        (b"{not json", "invalid JSON"),
        (b"\xff\xfe", "invalid JSON"),
        (b"[1, 2]", "request must be a JSON object, got array"),
        (b'"text"', "request must be a JSON object, got string"),
        (b'{"method": "ticker"}', "missing required parameters: access_key, secret_key, params"),
        (
            b'{"access_key":"ak_test","secret_key":"sk_test","nonce":1,"params":{}}',
            "missing required parameters: method",
        ),
        (body(params="BTC_USDT"), "params must be an object, got string"),
        (body(params=None), "params must be an object, got null"),
        (body(params=[1]), "params must be an object, got array"),
        (body(method=5), "method must be a string, got number"),
        (body(method="  "), "method is empty"),
        (body(access_key=None), "access_key must be a string, got null"),
    ],
)
def test_bad_bodies(raw: bytes, message: str) -> None:
    with pytest.raises(BadRequest, match="^" + message.replace("(", r"\(")):
        parse_body(raw)


def test_bad_json_error_never_echoes_the_body() -> None:
    with pytest.raises(BadRequest) as info:
        parse_body(b'{"secret_key": "SENTINEL_9f3a1c,PP_SENTINEL", oops}')
    assert "SENTINEL" not in str(info.value)


def test_api_method_strips_prefix_exactly_once() -> None:
    req = parse_body(body(method="__api_/api/v5/trade/order-algo_test"), "post")
    assert req.is_api
    assert req.api_path == "/api/v5/trade/order-algo_test"
    assert req.http_method == "POST"


def test_bad_http_method_header() -> None:
    with pytest.raises(BadRequest, match="Http-Method"):
        parse_body(body(), "PATCH")


@pytest.mark.parametrize(
    ("access", "secret", "expected"),
    [
        ("ak", "sk,pp", ("ak", "sk", "pp", False)),
        ("ak", "sk,pp,simulate", ("ak", "sk", "pp", True)),
        ("ak", "sk,pp,SIMULATE", ("ak", "sk", "pp", True)),
        (" ak ", " sk , pp \n", ("ak", "sk", "pp", False)),
    ],
)
def test_parse_secret_key(access: str, secret: str, expected: tuple[str, str, str, bool]) -> None:
    keys = parse_secret_key(access, secret)
    assert (keys.access_key, keys.secret, keys.passphrase, keys.simulate) == expected
    assert "sk" not in repr(keys).replace("simulate", "")


@pytest.mark.parametrize(
    ("access", "secret", "message"),
    [
        ("", "", "credentials missing"),
        ("ak", "", "credentials missing"),
        ("", "sk,pp", "credentials missing"),
        ("ak", "sk", "secret_key must be"),
        ("ak", "sk,", "secret_key must be"),
        ("ak", ",pp", "secret_key must be"),
        ("ak", "sk,pp,live", "secret_key must be"),
        ("ak", "sk,pp,simulate,x", "secret_key must be"),
    ],
)
def test_bad_secret_keys(access: str, secret: str, message: str) -> None:
    with pytest.raises(BadRequest, match=message) as info:
        parse_secret_key(access, secret)
    assert "sk" not in str(info.value).replace("secret_key", "")


def test_wants_demo_is_lenient() -> None:
    assert parse_body(body(secret_key="sk,pp,simulate")).wants_demo()
    assert not parse_body(body(secret_key="sk,pp")).wants_demo()
    assert not parse_body(body(secret_key="")).wants_demo()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"x": "0.1"}, Decimal("0.1")),
        ({"x": 0.1}, Decimal("0.1")),
        ({"x": 5}, Decimal(5)),
        ({"x": "-1"}, Decimal(-1)),
    ],
)
def test_param_decimal(params: dict[str, object], expected: Decimal) -> None:
    assert param_decimal(params, "x") == expected


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "x required"),
        ({"x": ""}, "x required"),
        ({"x": None}, "x required"),
        ({"x": "abc"}, "x must be a number"),
        ({"x": "NaN"}, "x must be a finite number"),
        ({"x": "inf"}, "x must be a finite number"),
        ({"x": True}, "x must be a string or a number"),
        ({"x": [1]}, "x must be a string or a number"),
        ({"x": {"a": 1}}, "x must be a string or a number"),
        ({"x": "9" * 300}, "x is too long"),
    ],
)
def test_param_decimal_rejects(params: dict[str, object], message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        param_decimal(params, "x")


@pytest.mark.parametrize(
    ("params", "expected"),
    [({}, 7), ({"n": "30"}, 30), ({"n": 30}, 30), ({"n": "30.0"}, 30), ({"n": 0}, 0), ({"n": "999"}, 100)],
)
def test_param_int(params: dict[str, object], expected: int) -> None:
    assert param_int(params, "n", 7, maximum=100) == expected


@pytest.mark.parametrize(
    ("value", "message"), [("1.5", "must be an integer"), ("-1", "must be >= 0"), ("x", "number")]
)
def test_param_int_rejects(value: str, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        param_int({"n": value}, "n", 7)


def test_param_str() -> None:
    assert param_str({"s": " BTC_USDT "}, "s") == "BTC_USDT"
    assert param_str({"s": 60}, "s") == "60"
    assert param_str({}, "s", "dflt") == "dflt"
    with pytest.raises(BadRequest, match="s required"):
        param_str({}, "s")


def test_ok_and_fail_envelopes() -> None:
    assert ok([1]) == {"data": [1]}
    assert ok(True, {"code": "0"}) == {"data": True, "raw": {"code": "0"}}
    assert ok(None) == {"data": None}
    assert fail("boom") == {"error": "boom"}
    assert fail("  ") == {"error": "unknown error"}
    assert fail('bad "secret_key": "abcdef1234"')["error"] == 'bad "secret_key": "***"'


def test_deeply_nested_json_is_just_invalid() -> None:
    with pytest.raises(BadRequest, match="invalid JSON"):
        parse_body(b"[" * 50_000 + b"]" * 50_000)


def test_secrets_lists_every_credential_part() -> None:
    req = parse_body(body(secret_key="sk_test,pp_test,simulate"))
    assert req.secrets() == ["ak_test", "sk_test,pp_test,simulate", "sk_test", "pp_test"]
    assert parse_body(body(access_key="", secret_key="")).secrets() == []
