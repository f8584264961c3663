"""DingTalk signing, URLs, bodies and the errcode table (pure; no network)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import parse_qs, quote_plus, unquote_plus, urlsplit

import pytest

from notify.dingtalk import Outcome, Robot, classify_response, markdown_body, sign, signed_url


def _recipe(secret: str, timestamp_ms: int) -> str:
    """DingTalk's documented recipe, written out independently of notify.dingtalk."""
    string_to_sign = f"{timestamp_ms}\n{secret}"
    mac = hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), digestmod=hashlib.sha256)
    return quote_plus(base64.b64encode(mac.digest()))


@pytest.mark.parametrize(
    ("secret", "timestamp_ms", "expected"),
    [
        (
            "SEC000000000000000000000000000000000000000000000000000000000000000",
            1700000000000,
            "mphPIqgjGbRzHPELpWQPiram3BEkrp9g5J866J8sMcg%3D",
        ),
        ("SECb2a5e7c0d1", 1577836800000, "39TvQ62SGEE%2Bv49INy9fK9gDgxxIyIt0xRUfLKaDhtI%3D"),
    ],
)
def test_sign_matches_the_recipe_and_a_known_vector(secret: str, timestamp_ms: int, expected: str) -> None:
    assert sign(secret, timestamp_ms) == _recipe(secret, timestamp_ms) == expected


def test_sign_is_url_encoded_base64_of_32_bytes() -> None:
    value = sign("SECb2a5e7c0d1", 1577836800000)
    assert "+" not in value
    assert "/" not in value
    assert "=" not in value
    assert len(base64.b64decode(unquote_plus(value))) == 32


def test_signed_url_appends_timestamp_and_sign_to_the_token_query() -> None:
    url = signed_url(
        "https://oapi.dingtalk.com/robot/send?access_token=tok123", "SECb2a5e7c0d1", 1577836800000
    )
    query = parse_qs(urlsplit(url).query)
    assert query["access_token"] == ["tok123"]
    assert query["timestamp"] == ["1577836800000"]
    assert query["sign"] == [unquote_plus(_recipe("SECb2a5e7c0d1", 1577836800000))]


@pytest.mark.parametrize(
    ("webhook", "secret", "expected_prefix"),
    [
        ("https://x/robot/send?access_token=t", None, "https://x/robot/send?access_token=t"),
        ("https://x/robot/send?access_token=t", "", "https://x/robot/send?access_token=t"),
        ("http://127.0.0.1:9/robot/send", "SECx1", "http://127.0.0.1:9/robot/send?timestamp=5&sign="),
    ],
)
def test_signed_url_without_secret_or_query(webhook: str, secret: str | None, expected_prefix: str) -> None:
    url = signed_url(webhook, secret, 5)
    assert url.startswith(expected_prefix)
    if not secret:
        assert url == webhook


def test_robot_accepts_a_bare_token_and_never_shows_secrets() -> None:
    robot = Robot.from_env_value("DINGTALK_WEBHOOK", "  tok-abcdef123456 ", " SECsecretvalue1 ", "okxfleet")
    assert robot.webhook == "https://oapi.dingtalk.com/robot/send?access_token=tok-abcdef123456"
    assert robot.secret == "SECsecretvalue1"
    for shown in (repr(robot), robot.describe()):
        assert "tok-abcdef123456" not in shown
        assert "SECsecretvalue1" not in shown
    assert robot.describe() == "robot DINGTALK_WEBHOOK (oapi.dingtalk.com, signed, keyword 'okxfleet')"
    assert len(robot.robot_id) == 16
    assert "tok" not in robot.robot_id


def test_robot_without_secret_or_keyword() -> None:
    robot = Robot.from_env_value("HOOK", "http://127.0.0.1:8/robot/send?access_token=t", "", "")
    assert robot.secret is None
    assert robot.keyword is None
    assert robot.describe() == "robot HOOK (127.0.0.1:8, unsigned)"


def test_markdown_body_is_utf8_json() -> None:
    body = markdown_body("标题", "#### 持仓信息")
    assert json.loads(body.decode("utf-8")) == {
        "msgtype": "markdown",
        "markdown": {"title": "标题", "text": "#### 持仓信息"},
    }
    assert "持仓".encode() in body  # not \\u-escaped: the size limit counts UTF-8 bytes


@pytest.mark.parametrize(
    ("status", "body", "outcome", "errcode"),
    [
        (200, {"errcode": 0, "errmsg": "ok"}, Outcome.OK, 0),
        (200, {"errcode": "0", "errmsg": "ok"}, Outcome.OK, 0),
        (200, {"errcode": 130101, "errmsg": "send too fast"}, Outcome.RATE_LIMITED, 130101),
        (200, {"errcode": 410100, "errmsg": "too fast"}, Outcome.RATE_LIMITED, 410100),
        (200, {"errcode": 310000, "errmsg": "sign not match"}, Outcome.CONFIG, 310000),
        (200, {"errcode": 300001, "errmsg": "token is not exist"}, Outcome.CONFIG, 300001),
        (200, {"errcode": 400102, "errmsg": "robot stopped"}, Outcome.CONFIG, 400102),
        (200, {"errcode": -1, "errmsg": "busy"}, Outcome.RETRY, -1),
        (200, {"errcode": 460101, "errmsg": "too large"}, Outcome.REJECTED, 460101),
        (200, {"errcode": 99999, "errmsg": "new"}, Outcome.REJECTED, 99999),
        (200, None, Outcome.CONFIG, None),
        (200, {"unexpected": 1}, Outcome.CONFIG, None),
        (500, None, Outcome.RETRY, None),
        (503, {"errcode": -1}, Outcome.RETRY, None),
        (429, None, Outcome.RATE_LIMITED, None),
        (404, None, Outcome.CONFIG, None),
    ],
)
def test_classify_response(status: int, body: object, outcome: Outcome, errcode: int | None) -> None:
    result = classify_response(status, body)
    assert result.outcome is outcome
    assert result.errcode == errcode
    assert result.ok is (outcome is Outcome.OK)


def test_classify_response_detail_is_redacted_and_short() -> None:
    result = classify_response(200, {"errcode": 310000, "errmsg": "bad access_token=abcdef123 " + "x" * 500})
    assert "abcdef123" not in result.detail
    assert "310000" in result.detail
    assert len(result.detail) < 500
