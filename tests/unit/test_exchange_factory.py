"""The one construction point: mode -> URL, demo header, python-okx flag (never its demo default)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from config.credentials import Credentials
from config.schema import ExchangeSettings
from core.clock import FakeClock, ScaledClock, SystemClock
from core.redaction import MASK, redact
from exchange import make_account_client, make_public_client, okx_flag
from exchange.ccxtraw import new_public_exchange
from exchange.factory import _budget_clock

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CREDS = Credentials("factory-key-1", "factory-secret-1", "FactoryPass1")


@pytest.mark.parametrize(("mode", "flag"), [("live", "0"), ("demo", "1"), ("simulator", "0")])
def test_okx_flag(mode: str, flag: str) -> None:
    assert okx_flag(mode) == flag


def test_okx_flag_refuses_unknown_modes() -> None:
    with pytest.raises(ValueError, match="mode"):
        okx_flag("paper")


@pytest.mark.parametrize(
    ("mode", "base_url", "rest", "demo_header"),
    [
        ("live", None, "https://{hostname}", False),
        ("demo", None, "https://{hostname}", True),
        ("demo", "https://eea.okx.com", "https://eea.okx.com", True),  # sandbox first, then URL
        ("simulator", "http://127.0.0.1:9", "http://127.0.0.1:9", False),
        ("simulator", None, "http://127.0.0.1:8081", False),
    ],
)
def test_ccxt_public_exchange_per_mode(mode: str, base_url: str | None, rest: str, demo_header: bool) -> None:
    settings = ExchangeSettings(mode=mode, base_url=base_url, timeout_s=7)  # type: ignore[arg-type]

    ex = new_public_exchange(settings)

    assert ex.urls["api"]["rest"] == rest
    assert (ex.headers.get("x-simulated-trading") == "1") is demo_header
    assert ex.enableRateLimit is False
    assert ex.timeout == 7000


@pytest.mark.parametrize(("mode", "flag"), [("live", "0"), ("demo", "1"), ("simulator", "0")])
def test_account_client_python_okx_objects(mode: str, flag: str) -> None:
    settings = ExchangeSettings(mode=mode, base_url="http://okx.test")  # type: ignore[arg-type]

    client = make_account_client(settings, CREDS, FakeClock(T0), account="acct1")

    assert client.account == "acct1"
    for api in client._apis:
        assert api.flag == flag
        assert str(api.base_url).rstrip("/") == "http://okx.test"
        assert api.debug is False
    assert client.transport.flag == flag
    client.close()


def test_credentials_are_registered_for_redaction() -> None:
    make_account_client(ExchangeSettings(mode="live"), CREDS, FakeClock(T0)).close()

    assert redact(f"k={CREDS.api_key} s={CREDS.secret} p={CREDS.passphrase}").count(MASK) == 3


def test_public_client_is_keyless() -> None:
    client = make_public_client(ExchangeSettings(mode="live"), FakeClock(T0), max_workers=4)

    ex = client._exchange()

    assert not ex.apiKey
    assert client.max_workers == 4
    client.close()


def test_rate_budgets_use_wall_time_under_a_scaled_clock() -> None:
    fast = ScaledClock(T0, T0, speed=60)
    fake = FakeClock(T0)

    assert isinstance(_budget_clock(fast), SystemClock)
    assert _budget_clock(fake) is fake


def test_one_http_client_serves_trade_and_account_endpoints() -> None:
    """Issue #12: one ``httpx.Client`` (one TLS context, one pool) per account, not one per API class."""
    import httpx
    from okx.Account import AccountAPI
    from okx.Trade import TradeAPI

    client = make_account_client(ExchangeSettings(mode="live"), CREDS, FakeClock(T0), account="one")
    apis = {id(api): api for api in client._apis}
    assert len(apis) == 1
    (api,) = apis.values()
    assert isinstance(api, httpx.Client)
    assert isinstance(api, TradeAPI)
    assert isinstance(api, AccountAPI)
    # an upgrade of python-okx that gave both classes a method of the same name would shadow one
    shared = {n for n in vars(TradeAPI) if not n.startswith("__")} & set(vars(AccountAPI))
    assert shared == set()
    client.close()
