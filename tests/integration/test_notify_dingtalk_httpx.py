"""The DingTalk client speaks httpx (already loaded by python-okx): outcomes against the fake
robot, secrets never in a detail, and a trader with a robot never loads ``requests`` (issue #12)."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

from core.logs import setup_logging
from notify.dingtalk import DingTalkClient, Outcome, Robot
from tests.fakes.dingtalk import FakeDingTalk


def test_sends_and_maps_every_failure_without_the_token() -> None:
    with FakeDingTalk(secret="SECabc") as fake:
        client = DingTalkClient(Robot("HOOK", fake.webhook_url, "SECabc"), timeout=(1.0, 0.3))
        try:
            assert client.send_markdown("t", "hello").outcome is Outcome.OK
            assert fake.texts() == ["hello"]
            fake.fail_mode = "500"
            assert client.send_markdown("t", "x").outcome is Outcome.RETRY
            fake.fail_mode, fake.slow_s = "slow", 2.0
            slow = client.send_markdown("t", "x")
            assert (slow.outcome, slow.detail) == (Outcome.RETRY, "timed out")
            fake.fail_mode = "down"
            down = client.send_markdown("t", "x")
            assert down.outcome is Outcome.RETRY
            assert down.detail.startswith("network error")
            assert fake.token not in down.detail + slow.detail
        finally:
            client.close()


def test_a_robot_client_does_not_load_requests() -> None:
    code = (
        "import sys, trader.__main__, trader.service, trader.context, exchange, notify.service\n"
        "from notify.dingtalk import DingTalkClient, Robot\n"
        "DingTalkClient(Robot('HOOK', 'http://127.0.0.1:9/robot/send?access_token=t')).close()\n"
        "sys.exit('requests' in sys.modules or 'ccxt' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_httpx_request_lines_never_log_the_token(tmp_path: Path) -> None:
    """httpx logs every request URL (with ``access_token`` and ``sign``) at INFO: a process's
    logging keeps that logger at WARNING, even at ``--log-level DEBUG``."""
    setup_logging("dingtalk-httpx", tmp_path, level="DEBUG", stream=False)
    try:
        with FakeDingTalk(secret="SECabc") as fake:
            client = DingTalkClient(Robot("HOOK", fake.webhook_url, "SECabc"))
            assert client.send_markdown("t", "hello").outcome is Outcome.OK
            client.close()
        logging.getLogger("test").debug("sent")
        text = (tmp_path / "dingtalk-httpx.log").read_text()
        assert "sent" in text
        assert fake.token not in text
        assert "HTTP Request" not in text
    finally:
        setup_logging("dingtalk-httpx", None, stream=False)
