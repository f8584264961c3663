"""The simulator's master-account endpoints through unmodified python-okx (issue #16): OKX's shapes,
funding vs trading accounts, master-only access, clientId idempotency and transfer-state."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from okx.Account import AccountAPI
from okx.Funding import FundingAPI
from okx.SubAccount import SubAccountAPI

from config.credentials import simulator_credentials
from simulator.server import RunningSimulator, start_background

# python-okx's own POSTs pass a str body as data= (its 0.4.x); the library is used unmodified here.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


def _spec(name: str, balance: str) -> dict[str, str]:
    c = simulator_credentials(name)
    return {
        "key": c.api_key,
        "secret": c.secret,
        "passphrase": c.passphrase,
        "balance": balance,
        "name": name,
    }


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    accounts = [_spec("master", "500"), _spec("s1", "1000"), _spec("s2", "2000")]
    running = start_background(accounts=accounts, master="master", rate_limits=False)
    try:
        yield running
    finally:
        running.stop()


_OPEN: list[Any] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def api(cls: Any, sim: RunningSimulator, name: str = "master") -> Any:
    c = simulator_credentials(name)
    client = cls(api_key=c.api_key, api_secret_key=c.secret, passphrase=c.passphrase, flag="0",
                 domain=sim.base_url)  # fmt: skip
    _OPEN.append(client)
    return client


def ok(reply: dict[str, Any]) -> list[dict[str, Any]]:
    assert reply["code"] == "0", reply
    data: list[dict[str, Any]] = reply["data"]
    return data


def test_sub_account_list_has_okx_shape(sim: RunningSimulator) -> None:
    rows = ok(api(SubAccountAPI, sim).get_subaccount_list())
    assert [r["subAcct"] for r in rows] == ["s1", "s2"]
    assert rows[0]["canTransOut"] is True  # a JSON boolean, as OKX sends it
    assert set(rows[0]) >= {"subAcct", "uid", "label", "type", "enable", "frozenFunc", "canTransOut", "ts"}


def test_balances_funding_and_max_withdrawal(sim: RunningSimulator) -> None:
    sub = api(SubAccountAPI, sim)
    trading = ok(sub.get_account_balance("s2"))[0]
    assert trading["details"][0]["ccy"] == "USDT"
    assert trading["details"][0]["cashBal"] == "2000"
    assert ok(sub.get_funding_balance(subAcct="s2", ccy="USDT")) == [
        {"ccy": "USDT", "bal": "0", "frozenBal": "0", "availBal": "0"}
    ]
    master_acct = api(AccountAPI, sim)
    assert ok(master_acct.get_max_withdrawal("USDT"))[0]["maxWd"] == "500"


def test_transfers_move_between_funding_and_trading_and_are_idempotent(sim: RunningSimulator) -> None:
    funding = api(FundingAPI, sim)
    own = ok(funding.funds_transfer("USDT", "100", "18", "6"))[0]  # type 0: master trading -> funding
    assert own["amt"] == "100"
    assert ok(funding.get_balances("USDT"))[0]["bal"] == "100"
    to_sub = ok(funding.funds_transfer("USDT", "40", "6", "18", type="1", subAcct="s1"))[0]
    state = ok(funding.transfer_state(to_sub["transId"]))[0]
    assert state["state"] == "success"
    assert (state["amt"], state["from"], state["to"], state["type"]) == ("40", "6", "18", "1")
    body = {"ccy": "USDT", "amt": "5", "from": "18", "to": "18", "fromSubAccount": "s1",
            "toSubAccount": "s2", "clientId": "abc123"}  # fmt: skip
    first = ok(funding._request_with_params("POST", "/api/v5/asset/subaccount/transfer", body))[0]
    again = ok(funding._request_with_params("POST", "/api/v5/asset/subaccount/transfer", body))[0]
    assert first == again  # the same clientId: the first transfer, nothing moves twice
    by_client = ok(
        funding._request_with_params("GET", "/api/v5/asset/transfer-state", {"clientId": "abc123"})
    )
    assert by_client[0]["transId"] == first["transId"]
    cash = {a["name"]: a["cash"]["USDT"] for a in sim.control.accounts()}
    assert cash["s1"] == "1035"
    assert cash["s2"] == "2005"


@pytest.mark.parametrize(
    ("who", "body", "code"),
    [
        ("s1", {}, "50030"),  # a sub-account key cannot use master endpoints
        ("master", {"clientId": "not-valid!"}, "51000"),
        ("master", {"amt": "999999"}, "58116"),
        ("master", {"amt": "-1"}, "51000"),
        ("master", {"from": "7"}, "51000"),
    ],
)
def test_transfer_refusals(sim: RunningSimulator, who: str, body: dict[str, str], code: str) -> None:
    base = {"ccy": "USDT", "amt": "1", "from": "18", "to": "18", "fromSubAccount": "s1", "toSubAccount": "s2"}
    reply = api(FundingAPI, sim, who)._request_with_params(
        "POST", "/api/v5/asset/subaccount/transfer", {**base, **body}
    )
    assert reply["code"] == code, reply


def test_settlement_window_gives_58111(sim: RunningSimulator) -> None:
    sim.control.treasury(settlement=True)
    try:
        reply = api(FundingAPI, sim).funds_transfer("USDT", "1", "6", "18", type="1", subAcct="s1")
        assert reply["code"] == "58111"
        assert "funding fees" in reply["msg"]
    finally:
        sim.control.treasury(settlement=False)
