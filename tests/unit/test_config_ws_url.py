"""The business WebSocket URL can be overridden (regional OKX domains), like ``base_url``; live
and demo refuse a plain ``ws://`` one, and ``--check`` shows it (QA defect 17)."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import load_config
from config.__main__ import render_plan
from tests.unit.test_config_safety import CREDS, config_file, problems

REGIONAL = "wss://wsaws.okx.com:8443/ws/v5/business"


@pytest.mark.parametrize("mode", ["live", "demo"])
def test_real_modes_refuse_a_plain_ws_url_and_take_a_wss_one(tmp_path: Path, mode: str) -> None:
    plain = "ws://wsaws.okx.com/ws/v5/business"
    found = "\n".join(problems(config_file(tmp_path, mode=mode, ws_url=plain), CREDS))
    assert "ws_url ws://wsaws.okx.com/ws/v5/business is not wss://" in found
    path = config_file(tmp_path, mode=mode, ws_url=REGIONAL)
    cfg = load_config(path, environ=CREDS, env_file=tmp_path / "x.env")
    assert cfg.exchange.business_ws_url == REGIONAL
    assert f"business websocket {REGIONAL} (ws_url)" in render_plan(cfg)


def test_without_an_override_the_mode_picks_the_url_and_a_malformed_one_is_named(tmp_path: Path) -> None:
    cfg = load_config(config_file(tmp_path, mode="live"), environ=CREDS, env_file=tmp_path / "x.env")
    assert cfg.exchange.business_ws_url == "wss://ws.okx.com:8443/ws/v5/business"
    assert "(ws_url)" not in render_plan(cfg)
    found = "\n".join(problems(config_file(tmp_path, mode="live", ws_url="wsaws.okx.com"), CREDS))
    assert "ws_url must look like wss://host[:port]/ws/v5/business, got 'wsaws.okx.com'" in found


def test_the_simulator_may_use_a_plain_ws_url(tmp_path: Path) -> None:
    url = "ws://127.0.0.1:9/ws/v5/business"
    path = config_file(tmp_path, mode="simulator", ws_url=url)
    cfg = load_config(path, environ={}, env_file=tmp_path / "x.env")
    assert cfg.exchange.business_ws_url == url
