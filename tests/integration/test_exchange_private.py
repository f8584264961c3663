"""AccountClient (python-okx underneath) against the simulator: every method, injected faults,
each mapped OKX error code, clock skew and both position modes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

from config.credentials import Credentials
from config.schema import ExchangeSettings
from core.clock import SystemClock
from exchange import AccountClient, PublicClient, make_account_client, make_public_client
from exchange.errors import (
    ExchangeAuthError,
    ExchangeUnavailable,
    InsufficientFunds,
    OrderNotFound,
    OrderRejected,
    UnknownInstrument,
    UnknownOutcome,
)
from exchange.records import OrderAck, OrderRequest
from exchange.retry import RetryPolicy
from simulator.server import RunningSimulator
from tests.integration.conftest import SIM_KEY, SIM_PASSPHRASE, SIM_SECRET

SWAP = "BTC-USDT-SWAP"
CREDS = Credentials(SIM_KEY, SIM_SECRET, SIM_PASSPHRASE)


_OPEN: list[AccountClient] = []


def connect(sim: RunningSimulator, creds: Credentials = CREDS, timeout_s: float = 2.0) -> AccountClient:
    settings = ExchangeSettings(mode="simulator", base_url=sim.base_url, timeout_s=timeout_s)
    client = make_account_client(settings, creds, SystemClock(), account="test")
    client.retry = RetryPolicy(max_attempts=4, base_s=0.05, cap_s=0.5)  # keep the suite fast
    _OPEN.append(client)
    return client


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


@pytest.fixture
def sim(sim_module: RunningSimulator) -> Iterator[RunningSimulator]:
    sim_module.control.reset()
    yield sim_module
    sim_module.control.clear_faults()


@pytest.fixture
def client(sim: RunningSimulator) -> AccountClient:
    return connect(sim)


@pytest.fixture(scope="module")
def public(sim_module: RunningSimulator) -> Iterator[PublicClient]:
    settings = ExchangeSettings(mode="simulator", base_url=sim_module.base_url)
    c = make_public_client(settings, SystemClock())
    yield c
    c.close()


def market(cl: str, sz: str = "1", side: str = "buy", inst: str = SWAP, **kw: object) -> OrderRequest:
    return OrderRequest(inst, "cross", side, "market", Decimal(sz), cl, **kw)  # type: ignore[arg-type]


def resting(cl: str, public: PublicClient, inst: str = SWAP) -> OrderRequest:
    """A buy limit 20 % under the market: it rests."""
    tick = public.instrument(inst).tick_sz
    px = (public.ticker(inst).last * Decimal("0.8")).quantize(tick)
    return OrderRequest(inst, "cross", "buy", "limit", Decimal(1), cl, px=px)


def sim_orders(sim: RunningSimulator, cl: str) -> list[dict[str, object]]:
    return sim.control.orders(cl_ord_id=cl)


# ---- account ------------------------------------------------------------------------------


def test_account_config_balance_positions(client: AccountClient) -> None:
    cfg = client.account_config()
    bal = client.balance()
    usdt = client.balance("USDT")

    assert cfg.pos_mode == "net_mode"
    assert cfg.can_trade_contracts
    assert bal.equity("USDT") == Decimal(10000)
    assert usdt.detail("USDT") is not None
    assert client.positions() == []


def test_leverage_max_size_and_position_mode(client: AccountClient) -> None:
    echo = client.set_leverage(SWAP, Decimal(7))
    info = client.leverage_info(SWAP)
    size = client.max_size(SWAP)

    client.set_position_mode("long_short_mode")
    cfg = client.account_config()
    client.set_position_mode("net_mode")

    assert echo.lever == Decimal(7)
    assert [i.lever for i in info] == [Decimal(7)]
    assert size.max_buy > 0
    assert cfg.pos_mode == "long_short_mode"
    assert client.account_config().pos_mode == "net_mode"


# ---- orders -------------------------------------------------------------------------------


def test_order_lifecycle(client: AccountClient, public: PublicClient) -> None:
    ack = client.place_order(resting("life1", public))
    by_id = client.get_order(SWAP, ord_id=ack.ord_id)
    pending = client.pending_orders("SWAP")
    amended = client.amend_order(SWAP, cl_ord_id="life1", new_sz=Decimal(2))
    cancel = client.cancel_order(SWAP, ord_id=ack.ord_id)
    final = client.get_order(SWAP, cl_ord_id="life1")
    history = client.order_history("SWAP", SWAP)

    assert by_id.cl_ord_id == "life1"
    assert by_id.state == "live"
    assert [o.cl_ord_id for o in pending] == ["life1"]
    assert (amended.ord_id, cancel.ord_id) == (ack.ord_id, ack.ord_id)
    assert final.state == "canceled"
    assert final.sz == Decimal(2)
    assert final.is_terminal
    assert "life1" in {o.cl_ord_id for o in history}


def test_market_order_fills_position_fills_and_close(client: AccountClient) -> None:
    client.place_order(market("mkt1", "2"))
    order = client.get_order(SWAP, cl_ord_id="mkt1")
    positions = client.positions("SWAP", SWAP)
    fills = client.fills(SWAP)

    client.close_position(SWAP, cl_ord_id="close1")

    assert order.state == "filled"
    assert order.acc_fill_sz == Decimal(2)
    assert order.avg_px is not None
    assert order.avg_px > 0
    assert order.fee < 0
    assert [(p.pos_side, p.signed_pos) for p in positions] == [("net", Decimal(2))]
    assert fills[0].cl_ord_id == "mkt1"
    assert all(p.pos == 0 for p in client.positions("SWAP"))


def test_fills_narrowed_to_one_order(client: AccountClient) -> None:
    first = client.place_order(market("fill1", "1"))
    second = client.place_order(market("fill2", "2"))

    only_first = client.fills(SWAP, ord_id=first.ord_id)
    only_second = client.fills(SWAP, ord_id=second.ord_id)

    assert [f.cl_ord_id for f in only_first] == ["fill1"]
    assert [f.cl_ord_id for f in only_second] == ["fill2"]
    assert sum(f.fill_sz for f in only_second) == Decimal(2)


def test_batch_orders_partial_failure_aligned(client: AccountClient) -> None:
    reqs = [market(f"bat{i}", "1", inst="ETH-USDT-SWAP") for i in range(23)]
    reqs[4] = market("bat4", "0.015", inst="ETH-USDT-SWAP")  # not a multiple of lotSz
    reqs[21] = market("bat21", "1", inst="NOPE-USDT-SWAP")

    results = client.place_orders(reqs)

    assert len(results) == 23
    assert isinstance(results[4], OrderRejected)
    assert results[4].code == "51121"
    assert isinstance(results[21], UnknownInstrument)
    acks = [r for r in results if isinstance(r, OrderAck)]
    assert [a.cl_ord_id for a in acks] == [r.cl_ord_id for i, r in enumerate(reqs) if i not in (4, 21)]
    assert client.positions("SWAP", "ETH-USDT-SWAP")[0].pos == Decimal(21)


def test_raw_request_passthrough(client: AccountClient) -> None:
    data = client.request("GET", "/api/v5/account/balance", {"ccy": "USDT"})

    assert data[0]["details"][0]["ccy"] == "USDT"
    with pytest.raises(OrderNotFound):
        client.request("GET", "/api/v5/trade/order", {"instId": SWAP, "clOrdId": "nothere"})


# ---- mapped error codes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("req", "error", "code"),
    [
        (market("big1", "1000"), InsufficientFunds, "51008"),
        (market("lot1", "0.015"), OrderRejected, "51121"),
        (market("nope1", inst="NOPE-USDT-SWAP"), UnknownInstrument, "51001"),
        (OrderRequest(SWAP, "bogus", "buy", "market", Decimal(1), "td1"), OrderRejected, "51000"),
    ],
    ids=["51008", "51121", "51001", "51000"],
)
def test_rejections_map_to_their_reaction(
    client: AccountClient, req: OrderRequest, error: type, code: str
) -> None:
    with pytest.raises(error) as info:
        client.place_order(req)

    assert info.value.code == code
    assert type(info.value) is error


def test_duplicate_cl_ord_id_51016(client: AccountClient, public: PublicClient) -> None:
    client.place_order(resting("dup1", public))

    with pytest.raises(OrderRejected) as info:
        client.place_order(resting("dup1", public))

    assert info.value.code == "51016"


def test_unknown_order_51603_and_cancel_51400(client: AccountClient) -> None:
    with pytest.raises(OrderNotFound) as info:
        client.get_order(SWAP, cl_ord_id="ghost")
    assert info.value.code == "51603"
    assert client.find_order(SWAP, "ghost") is None
    with pytest.raises(OrderNotFound) as cancel:
        client.cancel_order(SWAP, cl_ord_id="ghost")
    assert cancel.value.code == "51400"


@pytest.mark.parametrize(
    ("creds", "code"),
    [
        (Credentials(SIM_KEY, "wrong-secret-000000", SIM_PASSPHRASE), "50113"),
        (Credentials("unknown-key", SIM_SECRET, SIM_PASSPHRASE), "50111"),
    ],
)
def test_bad_credentials_are_auth_errors(sim: RunningSimulator, creds: Credentials, code: str) -> None:
    bad = connect(sim, creds)

    with pytest.raises(ExchangeAuthError) as info:
        bad.balance()

    assert info.value.code == code
    assert len([r for r in sim.control.requests() if "balance" in str(r["path"])]) == 1  # not retried


# ---- faults -------------------------------------------------------------------------------


def test_timeout_on_place_order_is_unknown_then_resolved_by_cl_ord_id(sim: RunningSimulator) -> None:
    client = connect(sim, timeout_s=0.3)
    sim.control.set_faults([{"kind": "timeout", "path": "/api/v5/trade/order", "method": "POST",
                             "count": 1, "hold_ms": 800}])  # fmt: skip

    with pytest.raises(UnknownOutcome):
        client.place_order(market("to1"))

    assert client.find_order(SWAP, "to1") is None  # never reached the engine: safe to send again
    assert client.place_order(market("to1")).cl_ord_id == "to1"
    assert client.find_order(SWAP, "to1") is not None
    assert len(sim_orders(sim, "to1")) == 1


def test_lost_response_then_find_order_finds_the_order(client: AccountClient, sim: RunningSimulator) -> None:
    sim.control.set_faults([{"kind": "lost_response", "path": "/api/v5/trade/order", "method": "POST",
                             "count": 1}])  # fmt: skip

    with pytest.raises(UnknownOutcome):
        client.place_order(market("lost1"))
    found = client.find_order(SWAP, "lost1")

    assert found is not None
    assert found.state == "filled"
    assert len(sim_orders(sim, "lost1")) == 1  # placed once, never resent


def test_batch_lost_response_marks_every_order_unknown(client: AccountClient, sim: RunningSimulator) -> None:
    sim.control.set_faults([{"kind": "drop", "path": "/api/v5/trade/batch-orders", "count": 1}])

    results = client.place_orders([market(f"bl{i}") for i in range(3)])

    assert all(isinstance(r, UnknownOutcome) for r in results)
    assert all(client.find_order(SWAP, f"bl{i}") is None for i in range(3))  # dropped unprocessed


@pytest.mark.parametrize("kind", ["http_503", "code_50013", "drop", "timeout"])
def test_reads_are_retried_through_faults(sim: RunningSimulator, kind: str) -> None:
    client = connect(sim, timeout_s=0.3)
    sim.control.set_faults([{"kind": kind, "path": "/api/v5/account/positions", "count": 2,
                             "hold_ms": 600}])  # fmt: skip

    assert client.positions() == []

    def faults() -> list[object]:
        return sorted(str(r["fault"]) for r in sim.control.requests() if "positions" in str(r["path"]))

    deadline = time.monotonic() + 2  # a held request is logged only when the simulator lets go
    while faults() != sorted([kind, kind, "None"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert faults() == sorted([kind, kind, "None"])


@pytest.mark.parametrize("kind", ["code_50013", "http_503", "rate_limit"])
def test_place_order_is_never_resent_blindly(client: AccountClient, sim: RunningSimulator, kind: str) -> None:
    sim.control.set_faults([{"kind": kind, "path": "/api/v5/trade/order", "count": 1}])

    with pytest.raises(UnknownOutcome):
        client.place_order(market(f"nr{kind[-3:]}"))

    posts = [r for r in sim.control.requests() if r["path"].startswith("/api/v5/trade/order")
             and r["method"] == "POST"]  # fmt: skip
    assert len(posts) == 1
    assert client.find_order(SWAP, f"nr{kind[-3:]}") is None  # the fault answered: nothing placed


def test_persistent_outage_surfaces(client: AccountClient, sim: RunningSimulator) -> None:
    sim.control.set_faults([{"kind": "http_503", "path": "/api/v5/account/balance"}])

    with pytest.raises(ExchangeUnavailable):
        client.balance()


# ---- clock skew and position modes ---------------------------------------------------------


def test_simulator_clock_one_hour_ahead(sim: RunningSimulator) -> None:
    sim.control.set_clock(sim.control.now_ms() + 3_600_000)
    client = connect(sim)

    assert client.balance().equity("USDT") == Decimal(10000)
    offset = client.transport.server_time.offset  # type: ignore[union-attr]
    assert offset is not None
    assert 3590 < offset.total_seconds() < 3610


def test_clock_jump_after_start_is_resynced(client: AccountClient, sim: RunningSimulator) -> None:
    client.balance()
    sim.control.set_clock(sim.control.now_ms() - 7_200_000)

    assert client.balance().equity("USDT") == Decimal(10000)

    codes = [r["code"] for r in sim.control.requests() if "balance" in str(r["path"])]
    assert codes == ["0", "50102", "0"]


def test_long_short_mode_account(sim: RunningSimulator) -> None:
    sim.control.add_account("ls-key", "ls-secret-0123456789", "LsPass1", pos_mode="long_short", name="ls")
    client = connect(sim, Credentials("ls-key", "ls-secret-0123456789", "LsPass1"))

    with pytest.raises(OrderRejected) as info:
        client.place_order(market("ls0"))  # posSide is mandatory in long/short mode
    client.place_order(market("ls1", "3", pos_side="long"))
    client.place_order(market("ls2", "2", side="sell", pos_side="short"))
    both = {p.pos_side: p for p in client.positions("SWAP")}
    client.close_position(SWAP, pos_side="long")
    after = {p.pos_side: p.pos for p in client.positions("SWAP")}

    assert client.account_config().pos_mode == "long_short_mode"
    assert info.value.code == "51000"
    assert (both["long"].pos, both["short"].pos) == (Decimal(3), Decimal(2))
    assert (both["long"].signed_pos, both["short"].signed_pos) == (Decimal(3), Decimal(-2))
    assert after.get("long", Decimal(0)) == 0
    assert after["short"] == Decimal(2)
