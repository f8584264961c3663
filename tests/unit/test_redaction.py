"""No secret reaches a log line: registered values and credential-looking patterns are masked,
tracebacks included, in the stream and in the rotating file."""

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.logs import setup_logging
from core.redaction import MASK, clear_secrets, redact, register_secret


@pytest.fixture(autouse=True)
def _fresh_secrets() -> Iterator[None]:
    clear_secrets()
    yield
    clear_secrets()


@pytest.mark.parametrize(
    ("text", "leak"),
    [
        ("headers {'OK-ACCESS-KEY': 'k-123456', 'OK-ACCESS-PASSPHRASE': 'pp-7890'}", "pp-7890"),
        ("headers {'OK-ACCESS-KEY': 'k-123456'}", "k-123456"),
        ("OK-ACCESS-SIGN: c2lnbmF0dXJlYmFzZTY0PT0=", "c2lnbmF0dXJlYmFzZTY0PT0="),
        ("POST https://oapi.dingtalk.com/robot/send?access_token=abc123def456&timestamp=1", "abc123def456"),
        ('{"access_key": "AK-1", "secret_key": "SK-2,PASS-3"}', "SK-2,PASS-3"),
        ('{"access_key": "AK-1111", "secret_key": "SK"}', "AK-1111"),
        ("secret=SEC00112233445566778899aabbccddeeff", "SEC00112233445566778899aabbccddeeff"),
        ("robot secret SEC00112233445566778899aabbccddeeff00", "SEC00112233445566778899aabbccddeeff00"),
        ("apiKey=abcd-efgh password=hunter22", "hunter22"),
        ("passphrase: 'my pass'", "my"),
    ],
)
def test_patterns_are_masked(text: str, leak: str) -> None:
    out = redact(text)
    assert leak not in out
    assert MASK in out


def test_registered_secrets_are_masked_anywhere() -> None:
    register_secret("Tr0ub4dor&3")
    assert redact("login failed for Tr0ub4dor&3 (retry)") == f"login failed for {MASK} (retry)"
    register_secret("ab")  # too short to be a secret: would mask everything
    assert redact("about") == "about"


def test_plain_text_is_untouched() -> None:
    text = "bar 2024-03-05T10:00:00+08:00 BTC-USDT-SWAP ok=12 failed=0 close->marker 0.84s"
    assert redact(text) == text


def test_log_records_and_tracebacks_are_redacted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    register_secret("super-secret-passphrase")
    setup_logging("unit-test", tmp_path)
    log = logging.getLogger("okxfleet.test")
    log.info("using passphrase %s", "super-secret-passphrase")
    try:
        raise RuntimeError("auth failed with super-secret-passphrase")
    except RuntimeError:
        log.exception("request failed: headers=%s", {"OK-ACCESS-SIGN": "abcdEFGH1234=="})
    for handler in logging.getLogger().handlers:
        handler.flush()
    file_text = (tmp_path / "unit-test.log").read_text()
    err = capsys.readouterr().err
    for output in (file_text, err):
        assert "super-secret-passphrase" not in output
        assert "abcdEFGH1234==" not in output
        assert "RuntimeError" in output
    assert file_text.count(MASK) >= 3
    # timestamps are UTC ISO 8601
    assert "Z INFO" in file_text
    setup_logging("unit-test", None, stream=False)


def test_the_registry_is_bounded_and_keeps_what_is_seen_again() -> None:
    """A gateway registers every request's keys: the registry must not grow with each new set."""
    from core.redaction import MAX_SECRETS, registered_count

    register_secret("kept-alive-secret")
    for n in range(MAX_SECRETS * 3):
        register_secret(f"rotating-secret-{n:06d}")
        if n % 1000 == 0:
            register_secret("kept-alive-secret")  # seen again, as on every request of that docker
    assert registered_count() == MAX_SECRETS
    last = f"rotating-secret-{MAX_SECRETS * 3 - 1:06d}"
    assert redact(f"a {last} b") == "a *** b"
    assert redact("a kept-alive-secret b") == "a *** b"
    assert redact("a rotating-secret-000000 b") == "a rotating-secret-000000 b"  # forgotten long ago
