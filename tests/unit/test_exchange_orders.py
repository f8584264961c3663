"""Order request building, clOrdId rules, chunking and batch alignment."""

from __future__ import annotations

from decimal import Decimal

import pytest

from exchange.errors import BadResponse, OrderRejected
from exchange.orders import align_batch, chunks, decimal_str, order_params, validate_cl_ord_id
from exchange.records import OrderRequest


@pytest.mark.parametrize(
    ("value", "text"),
    [("1", "1"), ("1.500", "1.5"), ("1E+1", "10"), ("0.00000001", "0.00000001"), ("-0.0", "0"),
     ("37000.10", "37000.1"), ("0", "0"), ("2.5E-7", "0.00000025")],
)  # fmt: skip
def test_decimal_str(value: str, text: str) -> None:
    assert decimal_str(Decimal(value)) == text


def test_decimal_str_refuses_nan() -> None:
    with pytest.raises(ValueError, match="finite"):
        decimal_str(Decimal("NaN"))


@pytest.mark.parametrize("cl", ["a", "A1b2", "x" * 32])
def test_valid_cl_ord_ids(cl: str) -> None:
    validate_cl_ord_id(cl)


@pytest.mark.parametrize("cl", ["", "x" * 33, "has-dash", "under_score", "sp ace", "é"])
def test_invalid_cl_ord_ids_are_okx_51000(cl: str) -> None:
    with pytest.raises(OrderRejected) as info:
        validate_cl_ord_id(cl)
    assert info.value.code == "51000"


def test_order_params_only_set_fields() -> None:
    req = OrderRequest(
        "BTC-USDT-SWAP", "cross", "buy", "limit", Decimal("3.00"), "s1a7", px=Decimal("37000.10")
    )

    assert order_params(req) == {
        "instId": "BTC-USDT-SWAP", "tdMode": "cross", "side": "buy", "ordType": "limit",
        "sz": "3", "clOrdId": "s1a7", "px": "37000.1",
    }  # fmt: skip


def test_order_params_all_fields() -> None:
    req = OrderRequest(
        "BTC-USDT", "cash", "sell", "market", Decimal("0.1"), "c1", pos_side="net",
        reduce_only=False, tgt_ccy="base_ccy", tag="t1",
    )  # fmt: skip

    params = order_params(req)

    assert params["posSide"] == "net"
    assert params["reduceOnly"] is False
    assert params["tgtCcy"] == "base_ccy"
    assert params["tag"] == "t1"


def test_order_params_refuse_non_positive_size() -> None:
    with pytest.raises(OrderRejected, match="positive"):
        order_params(OrderRequest("BTC-USDT", "cash", "buy", "market", Decimal(0), "c1"))


def test_chunks_of_twenty() -> None:
    sizes = [len(c) for c in chunks(list(range(45)))]

    assert sizes == [20, 20, 5]
    assert list(chunks([])) == []
    with pytest.raises(ValueError, match="chunk"):
        list(chunks([1], 0))


def test_align_batch_keeps_or_restores_request_order() -> None:
    sent = [{"clOrdId": "a"}, {"clOrdId": "b"}, {"clOrdId": "c"}]
    err = OrderRejected("51000", "x")

    in_order = align_batch(sent, [{"clOrdId": "a"}, err, {"clOrdId": "c"}], "e")
    shuffled = align_batch(sent, [{"clOrdId": "c"}, {"clOrdId": "a"}, {"clOrdId": "b"}], "e")
    foreign = align_batch(sent, [{"clOrdId": "x"}, {"clOrdId": "a"}, {"clOrdId": "b"}], "e")

    assert in_order[1] is err
    assert [r["clOrdId"] for r in shuffled] == ["a", "b", "c"]  # type: ignore[index]
    assert isinstance(foreign[2], BadResponse)
