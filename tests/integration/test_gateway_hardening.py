"""Edges of the gateway's HTTP surface: bytes that are not HTTP, text that is not UTF-8, exposure.

- Whatever aiohttp's parser refuses is answered in the FMZ envelope (JSON ``{"error"}``), not with
  aiohttp's text page quoting the bytes back.
- A request whose method or params hold lone surrogates (valid JSON, ``"\\ud800"``) is still logged,
  escaped, in the UTF-8 log file.
- The gateway and the simulator (with its control API) warn before binding beyond loopback.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from config.schema import ExchangeSettings
from core.logs import setup_logging
from gateway.server import RunningGateway, start_background
from simulator.server import start_background as start_simulator
from tests.integration.test_gateway_support import FmzDocker

ROOT = Path(__file__).resolve().parents[2]
SENTINEL = b"JUNK_SENTINEL_4f2a"
NOT_ASSIGNED = "192.0.2.1"  # TEST-NET-1: never this machine's address, so binding fails harmlessly
JUNK = {
    "not-http": b"GARBAGE " + SENTINEL + b"\r\n\r\n",
    "tls-hello": b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + SENTINEL,
    "bad-content-length": b"POST /OKX HTTP/1.1\r\nHost: x\r\nContent-Length: " + SENTINEL + b"\r\n\r\n",
    "header-too-long": b"POST /OKX HTTP/1.1\r\nHost: x\r\nX-Pad: " + SENTINEL * 1000 + b"\r\n\r\n",
    "bad-chunk": b"POST /OKX HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + SENTINEL + b"\r\n",
}


@pytest.fixture(scope="module")
def gateway() -> RunningGateway:
    gw = start_background(ExchangeSettings(mode="simulator", base_url="http://127.0.0.1:9"))
    yield gw
    gw.stop()


def exchange_raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return reply


@pytest.mark.parametrize("junk", list(JUNK.values()), ids=list(JUNK))
def test_raw_http_junk_gets_an_fmz_shaped_json_error(gateway: RunningGateway, junk: bytes) -> None:
    reply = exchange_raw(gateway.port, junk)
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0].split(b" ")[1] == b"200"
    assert b"content-type: application/json" in head.lower()
    assert body.startswith(b'{"error":')
    assert b"not a valid HTTP request" in body
    assert SENTINEL not in reply
    docker = FmzDocker(gateway.url)
    assert docker.call("foo", {}) == {"error": "foo not support"}  # still serving


def test_lone_surrogates_are_logged_escaped(
    gateway: RunningGateway, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    setup_logging("gateway", tmp_path, level=logging.INFO)
    docker = FmzDocker(gateway.url)
    assert "error" in docker.call("ticker", {"symbol": "BTC\ud800_USDT"})
    assert docker.call("x\udfffy", {}) == {"error": "x\udfffy not support"}
    text = (tmp_path / "gateway.log").read_text(encoding="utf-8")
    assert "gateway.server: ticker BTC\\ud800_USDT " in text
    assert "gateway.server: x\\udfffy - " in text
    assert "Logging error" not in capfd.readouterr().err


def test_gateway_warns_before_binding_beyond_loopback(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="gateway.server")
    with pytest.raises(OSError, match="assign requested address"):
        start_background(ExchangeSettings(mode="simulator"), host=NOT_ASSIGNED)
    assert f"listening on '{NOT_ASSIGNED}', beyond loopback" in caplog.text
    assert "requests carry API keys" in caplog.text


def test_simulator_warns_that_its_control_api_is_exposed(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="simulator.server")
    with pytest.raises(RuntimeError, match="failed to start"):
        start_simulator(host=NOT_ASSIGNED)
    assert f"listening on '{NOT_ASSIGNED}', beyond loopback: the control API (/__sim" in caplog.text
    done = subprocess.run(
        [sys.executable, "-m", "simulator", "--host", NOT_ASSIGNED, "--port", "0"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "beyond loopback: the control API (/__sim" in done.stderr
