"""``DATA_BUS``: Files() by default, Redis(url=...) validated with clear errors."""

from pathlib import Path

import pytest

from config import load_config
from core.errors import ConfigError
from tests.unit.test_config import good

ENV = {"OKX_SUB1_API_KEY": "k", "OKX_SUB1_SECRET": "s", "OKX_SUB1_PASSPHRASE": "p",
       "OKX_SUB2_API_KEY": "k", "OKX_SUB2_SECRET": "s", "OKX_SUB2_PASSPHRASE": "p"}  # fmt: skip


def load(tmp_path: Path, extra: str):  # type: ignore[no-untyped-def]
    path = good(tmp_path)
    path.write_text(path.read_text() + "\nfrom config import Files, Redis\n" + extra + "\n")
    return load_config(path, environ=ENV, env_file=tmp_path / "absent.env")


def test_files_is_the_default(tmp_path: Path) -> None:
    assert load(tmp_path, "").data_bus.kind == "files"
    assert load(tmp_path, "DATA_BUS = Files()").data_bus.kind == "files"


def test_redis_with_url_and_options(tmp_path: Path) -> None:
    bus = load(tmp_path, "DATA_BUS = Redis('redis://10.0.0.5:6379/2', lease_s=15, host='box-b')").data_bus
    assert (bus.kind, bus.url, bus.lease_s, bus.host, bus.prefix) == (
        "redis", "redis://10.0.0.5:6379/2", 15, "box-b", "okxfleet"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("DATA_BUS = Redis()", "needs a url"),
        ("DATA_BUS = Redis('redis://h', lease_s=0)", "lease_s"),
        ("DATA_BUS = Redis('redis://h', lease=5)", "lease"),
        ("DATA_BUS = 'redis://h'", "expected Files() or Redis(url=...)"),
        ("DATA_BUS = Files(url='redis://h')", "Files() takes no url"),
        ("DATA_BUS = Redis('redis://h', password_env='my password')", "password_env"),
    ],
)
def test_bad_bus_settings_are_named(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match="DATA_BUS") as err:
        load(tmp_path, text)
    assert message in str(err.value)
