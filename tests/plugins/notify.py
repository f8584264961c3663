"""Fixtures for notifications: a fake DingTalk robot and the environment that points at it.

``dingtalk`` is a function-scoped :class:`tests.fakes.dingtalk.FakeDingTalk` with a signing
secret and the keyword ``"okxfleet"``; :func:`dingtalk_env` gives the variables a config's
default robot reads (``DINGTALK_WEBHOOK``, ``DINGTALK_SECRET``)::

    def test_trader_reports(dingtalk, tmp_path):
        cfg = load_config(path, environ=dingtalk_env(dingtalk))
        ...
        assert dingtalk.wait_for(1)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.dingtalk import FakeDingTalk

__all__ = ["DINGTALK_KEYWORD", "DINGTALK_SECRET", "dingtalk", "dingtalk_env", "write_notify_config"]

DINGTALK_SECRET = "SEC" + "5f3c8e1a9b7d4c2e6a0f1b3d5e7c9a1b3d5f7e9c1a3b5d7f9e1c3a5b7d9f1e3c"
DINGTALK_KEYWORD = "okxfleet"


def dingtalk_env(
    fake: FakeDingTalk,
    webhook_env: str = "DINGTALK_WEBHOOK",
    secret_env: str = "DINGTALK_SECRET",  # noqa: S107 - a variable name
) -> dict[str, str]:
    """``{"DINGTALK_WEBHOOK": <url with access_token>, "DINGTALK_SECRET": <secret>}`` for ``fake``."""
    env = {webhook_env: fake.webhook_url}
    if fake.secret:
        env[secret_env] = fake.secret
    return env


@pytest.fixture
def dingtalk() -> Iterator[FakeDingTalk]:
    """A fake DingTalk robot (signed, keyword "okxfleet", 20/min) on loopback; stopped afterwards."""
    fake = FakeDingTalk(secret=DINGTALK_SECRET, keyword=DINGTALK_KEYWORD)
    try:
        yield fake
    finally:
        fake.stop()


def write_notify_config(
    directory: Path,
    *,
    keyword: str | None = DINGTALK_KEYWORD,
    sub2_robot: bool = False,
    max_per_minute: int = 20,
    report_every_minutes: int = 30,
) -> Path:
    """A small simulator-mode ``config.py`` in ``directory`` (data under ``directory/data``).

    Accounts ``sub1`` (1m, default robot) and ``sub2`` (5m; with ``sub2_robot`` its own robot read
    from ``DINGTALK_SUB2_WEBHOOK`` / ``DINGTALK_SUB2_SECRET``).
    """
    kw = repr(keyword)
    override = (
        f'dingtalk=DingTalk(webhook_env="DINGTALK_SUB2_WEBHOOK", secret_env="DINGTALK_SUB2_SECRET", '
        f"keyword={kw}),"
        if sub2_robot
        else ""
    )
    text = f"""
from config import Account, DingTalk, Exchange, Notify, Strategy

EXCHANGE = Exchange(mode="simulator")
DATA_DIR = {str(directory / "data")!r}
NOTIFY = Notify(
    dingtalk=DingTalk(webhook_env="DINGTALK_WEBHOOK", secret_env="DINGTALK_SECRET", keyword={kw}),
    report_every_minutes={report_every_minutes},
    max_per_minute={max_per_minute},
)
ACCOUNTS = {{
    "sub1": Account(
        credentials="OKX_SUB1",
        interval="1m",
        strategies=[Strategy("BTC-USDT-SWAP", "sma_cross", params={{"fast": 5, "slow": 20}})],
    ),
    "sub2": Account(
        credentials="OKX_SUB2",
        interval="5m",
        strategies=[Strategy("ETH-USDT-SWAP", "bollinger", params={{"n": 20, "m": 2}})],
        {override}
    ),
}}
"""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.py"
    path.write_text(text, encoding="utf-8")
    return path
