"""Which bind addresses stay on this machine, and the warning when one does not."""

from __future__ import annotations

import logging

import pytest

from core.exposure import warn_if_exposed
from core.netaddr import is_loopback

ANY = ".".join(["0"] * 4)  # every interface


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True), ("127.8.9.10", True), ("localhost", True),
        ("::1", True),
        (ANY, False), ("", False), ("::", False), ("192.168.1.5", False),
        ("::ffff:10.0.0.1", False), ("example.com", False), ("[::1]", False),
    ],
)  # fmt: skip
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_warn_if_exposed_says_what_is_reachable(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("netaddr-test")
    caplog.set_level(logging.WARNING, logger="netaddr-test")
    assert warn_if_exposed(log, "127.0.0.1", "x") is False
    assert warn_if_exposed(log, ANY, "the control API is reachable") is True
    assert caplog.messages == [f"listening on {ANY!r}, beyond loopback: the control API is reachable"]
