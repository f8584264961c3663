"""The fake DingTalk robot is as strict as the real one (raw HTTP, no notify code under test)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from urllib.parse import quote_plus

import pytest
import requests

from tests.fakes.dingtalk import FakeDingTalk
from tests.plugins.notify import DINGTALK_KEYWORD, DINGTALK_SECRET, dingtalk_env


def _url(fake: FakeDingTalk, *, ts_ms: int | None = None, secret: str | None = None) -> str:
    ts = ts_ms if ts_ms is not None else int(time.time() * 1000)
    key = secret if secret is not None else fake.secret
    if not key:
        return fake.webhook_url
    mac = hmac.new(key.encode(), f"{ts}\n{key}".encode(), hashlib.sha256).digest()
    return f"{fake.webhook_url}&timestamp={ts}&sign={quote_plus(base64.b64encode(mac))}"


def _post(url: str, text: str, msgtype: str = "markdown") -> dict[str, object]:
    payload: dict[str, object] = (
        {"msgtype": "markdown", "markdown": {"title": "t", "text": text}}
        if msgtype == "markdown"
        else {"msgtype": "text", "text": {"content": text}}
    )
    resp = requests.post(url, data=json.dumps(payload).encode(), timeout=5)
    assert resp.status_code == 200
    return dict(resp.json())


def test_fixture_and_env(dingtalk: FakeDingTalk) -> None:
    assert dingtalk_env(dingtalk) == {
        "DINGTALK_WEBHOOK": dingtalk.webhook_url,
        "DINGTALK_SECRET": DINGTALK_SECRET,
    }
    assert dingtalk.webhook_url.startswith("http://127.0.0.1:")
    assert "access_token=" in dingtalk.webhook_url
    assert dingtalk.keyword == DINGTALK_KEYWORD


def test_signed_message_with_keyword_is_recorded(dingtalk: FakeDingTalk) -> None:
    assert _post(_url(dingtalk), "okxfleet hello 你好") == {"errcode": 0, "errmsg": "ok"}
    assert _post(_url(dingtalk), "okxfleet plain", msgtype="text")["errcode"] == 0
    assert [m["text"] for m in dingtalk.messages] == ["okxfleet hello 你好", "okxfleet plain"]
    assert dingtalk.messages[0]["msgtype"] == "markdown"
    assert dingtalk.messages[0]["title"] == "t"
    assert dingtalk.wait_for(2, timeout=0.1)


@pytest.mark.parametrize(
    ("kind", "errcode"),
    [("bad_sign", 310000), ("stale", 310000), ("unsigned", 310000), ("keyword", 310000), ("token", 300001)],
)
def test_refusals(dingtalk: FakeDingTalk, kind: str, errcode: int) -> None:
    url, text = _url(dingtalk), "okxfleet hi"
    if kind == "bad_sign":
        url = _url(dingtalk, secret="SECwrong")
    elif kind == "stale":
        url = _url(dingtalk, ts_ms=int(time.time() * 1000) - 2 * 3_600_000)
    elif kind == "unsigned":
        url = dingtalk.webhook_url
    elif kind == "keyword":
        text = "no key word here"
    elif kind == "token":
        url = url.replace(dingtalk.token, "0" * 64)
    assert _post(url, text)["errcode"] == errcode
    assert dingtalk.messages == []
    assert dingtalk.errcodes() == [errcode]


def test_too_large_is_refused() -> None:
    with FakeDingTalk(max_bytes=100) as fake:
        assert _post(_url(fake), "x" * 101)["errcode"] == 460101
        assert _post(_url(fake), "x" * 100)["errcode"] == 0


def test_more_than_the_limit_in_a_minute_is_refused_and_mutes() -> None:
    with FakeDingTalk(max_per_minute=20, mute_s=600) as fake:
        codes = [_post(_url(fake), f"m{i}")["errcode"] for i in range(22)]
        assert codes == [0] * 20 + [130101, 130101]
        assert len(fake.messages) == 20
        assert fake.max_in_window() == 20
        assert fake.muted_until is not None


def test_rolling_window_frees_slots() -> None:
    with FakeDingTalk(max_per_minute=2, window_s=0.3, mute_s=0) as fake:
        assert [_post(_url(fake), "a")["errcode"] for _ in range(3)] == [0, 0, 130101]
        time.sleep(0.35)
        assert _post(_url(fake), "b")["errcode"] == 0


def test_fail_modes() -> None:
    with FakeDingTalk() as fake:
        fake.fail_mode = "down"
        with pytest.raises(requests.ConnectionError):
            requests.post(fake.webhook_url, data=b"{}", timeout=5)
        fake.fail_mode = "500"
        assert requests.post(fake.webhook_url, data=b"{}", timeout=5).status_code == 500
        fake.fail_mode, fake.slow_s = "slow", 2.0
        with pytest.raises(requests.Timeout):
            requests.post(fake.webhook_url, data=b"{}", timeout=0.2)
        fake.fail_mode = None
        assert _post(fake.webhook_url, "ok")["errcode"] == 0
