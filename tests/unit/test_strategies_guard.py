"""``run_strategy``, ``window_closes``, the built-in registrations and the package docs example."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import Field

import strategies
from core.errors import StrategyError
from strategies import registry
from strategies.guard import run_strategy, window_closes
from strategies.registry import StrategyParams, StrategySpec, get_strategy, strategy_names
from tests.unit.candle_frames import candles

NAN = float("nan")


class NoParams(StrategyParams):
    pass


def spec_of(func: Callable[..., Any], lookback: int = 1, name: str = "probe") -> StrategySpec[Any]:
    """A spec that is not in the registry, for probing the guard."""
    return StrategySpec(
        name=name,
        func=func,
        params_model=NoParams,
        lookback_fn=lambda _: lookback,
        description="",
    )


def guarded(func: Callable[..., Any], df: pd.DataFrame | None = None, lookback: int = 1) -> Any:
    frame = candles([10, 11, 12]) if df is None else df
    return run_strategy(spec_of(func, lookback), frame, 0, None, NoParams(), "ETH-USDT-SWAP")


# --- return values ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, 1),
        (-1, -1),
        (0, 0),
        (None, None),
        (np.int64(1), 1),
        (np.int32(-1), -1),
        (np.int8(0), 0),
        (1.0, 1),
        (-1.0, -1),
        (-0.0, 0),
        (np.float64(-1.0), -1),
        (np.float32(0.0), 0),
        (NAN, None),
        (np.float64("nan"), None),
        (pd.NA, None),
    ],
)
def test_accepted_return_values(value: object, expected: int | None) -> None:
    result = guarded(lambda df, now_pos, avg_price, params: value)

    assert result == expected
    assert result is None or type(result) is int


@pytest.mark.parametrize(
    "value",
    [2, -2, 0.5, 1.0000001, float("inf"), True, False, np.bool_(True), "1", Decimal(1), [1], (1,)],
)
def test_bad_return_value_is_a_strategy_error(value: object) -> None:
    with pytest.raises(StrategyError, match="expected 1, -1, 0 or None") as info:
        guarded(lambda df, now_pos, avg_price, params: value)

    assert info.value.strategy == "probe"
    assert info.value.inst_id == "ETH-USDT-SWAP"
    assert repr(value) in info.value.reason


# --- exceptions ---------------------------------------------------------------------------------


def test_exception_is_wrapped_with_strategy_and_instrument() -> None:
    def broken(df: pd.DataFrame, now_pos: int, avg_price: Decimal | None, params: Any) -> int:
        return int(df["no such column"].iloc[-1])

    with pytest.raises(StrategyError) as info:
        guarded(broken)

    error = info.value
    assert (error.strategy, error.inst_id) == ("probe", "ETH-USDT-SWAP")
    assert error.reason.startswith("KeyError: ")
    assert isinstance(error.__cause__, KeyError)
    assert str(error).startswith("strategy 'probe' on ETH-USDT-SWAP: KeyError")


def test_exception_without_message_names_its_type() -> None:
    def broken(df: pd.DataFrame, now_pos: int, avg_price: Decimal | None, params: Any) -> int:
        raise ZeroDivisionError

    with pytest.raises(StrategyError) as info:
        guarded(broken)

    assert info.value.reason == "ZeroDivisionError"


def test_keyboard_interrupt_is_not_swallowed() -> None:
    def interrupted(df: pd.DataFrame, now_pos: int, avg_price: Decimal | None, params: Any) -> int:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        guarded(interrupted)


def test_strategy_value_error_about_history_is_wrapped() -> None:
    # The strategy wants more than its declared lookback: its ValueError becomes a StrategyError.
    def greedy(df: pd.DataFrame, now_pos: int, avg_price: Decimal | None, params: Any) -> int:
        window_closes(df, 10)
        return 0

    with pytest.raises(StrategyError, match="ValueError: needs 10 closed bars, got 3"):
        guarded(greedy, lookback=3)


# --- lookback -----------------------------------------------------------------------------------


def test_too_little_history_is_checked_before_calling() -> None:
    calls: list[int] = []

    def strategy(df: pd.DataFrame, now_pos: int, avg_price: Decimal | None, params: Any) -> int:
        calls.append(len(df))
        return 1

    with pytest.raises(StrategyError, match="needs 4 closed bars, got 3"):
        guarded(strategy, lookback=4)
    assert calls == []

    assert guarded(strategy, lookback=3) == 1
    assert calls == [3]


def test_failing_lookback_is_a_strategy_error() -> None:
    spec = StrategySpec(
        name="probe",
        func=lambda df, now_pos, avg_price, params: 1,
        params_model=NoParams,
        lookback_fn=lambda _: 1 // 0,
        description="",
    )

    with pytest.raises(StrategyError, match="lookback failed: ZeroDivisionError"):
        run_strategy(spec, candles([1, 2]), 0, None, NoParams(), "BTC-USDT-SWAP")


# --- mutation -----------------------------------------------------------------------------------


def _add_column(df: pd.DataFrame) -> None:
    df["median"] = df["close"].rolling(2).mean()  # what the original strategies did


def _change_a_close(df: pd.DataFrame) -> None:
    df.loc[df.index[-1], "close"] = 99.0


def _drop_a_column(df: pd.DataFrame) -> None:
    del df["volume_quote"]


def _relabel_the_index(df: pd.DataFrame) -> None:
    df.index = df.index[::-1]


def _change_a_dtype(df: pd.DataFrame) -> None:
    df["volume"] = df["volume"].astype("float32")


def _rename_a_column(df: pd.DataFrame) -> None:
    df.columns = [c.title() if c == "close" else c for c in df.columns]


def _set_a_nan(df: pd.DataFrame) -> None:
    df.loc[df.index[0], "open"] = np.nan


@pytest.mark.parametrize(
    "mutate",
    [
        _add_column,
        _change_a_close,
        _drop_a_column,
        _relabel_the_index,
        _change_a_dtype,
        _rename_a_column,
        _set_a_nan,
    ],
)
def test_mutation_is_detected_and_the_callers_frame_is_untouched(
    mutate: Callable[[pd.DataFrame], None],
) -> None:
    df = candles([10, 11, 12])
    before = df.copy(deep=True)

    def mutating(frame: pd.DataFrame, now_pos: int, avg_price: Decimal | None, params: Any) -> int:
        mutate(frame)
        return 1

    with pytest.raises(StrategyError, match="modified the candle DataFrame") as info:
        guarded(mutating, df)

    assert info.value.strategy == "probe"
    pd.testing.assert_frame_equal(df, before)


def test_strategy_receives_a_copy_with_the_same_content() -> None:
    df = candles([10, 11, 12])
    received: list[pd.DataFrame] = []

    def spy(frame: pd.DataFrame, now_pos: int, avg_price: Decimal | None, params: Any) -> None:
        received.append(frame)

    guarded(spy, df)

    assert received[0] is not df
    pd.testing.assert_frame_equal(received[0], df)


def test_arguments_are_passed_through() -> None:
    seen: list[tuple[int, Decimal | None, StrategyParams]] = []

    def spy(df: pd.DataFrame, now_pos: int, avg_price: Decimal | None, params: Any) -> int:
        seen.append((now_pos, avg_price, params))
        return 0

    params = NoParams()
    run_strategy(spec_of(spy), candles([1, 2]), -1, Decimal("2500.5"), params, "ETH-USDT-SWAP")

    assert seen == [(-1, Decimal("2500.5"), params)]


# --- the built-in strategies through the guard --------------------------------------------------


def test_builtin_strategies_are_registered() -> None:
    assert {"bollinger", "bollinger_bias", "sma_cross"} <= set(strategy_names())
    assert get_strategy("bollinger").description.startswith("Bollinger breakout")


@pytest.mark.parametrize(
    ("name", "raw", "closes", "expected"),
    [
        ("bollinger", {"n": 3, "m": 1}, [10, 12, 11.5, 30], 1),
        ("bollinger", {"n": 3, "m": 1}, [30, 28, 28.5, 10], -1),
        ("bollinger_bias", {"n": 3, "m": 1, "p": 0.1}, [10, 10, 10, 10, 10, 20, 20, 20], 1),
        ("sma_cross", {"fast": 2, "slow": 4}, [8, 9, 10, 11, 7], -1),
        ("sma_cross", {"fast": 2, "slow": 4}, [10, 10, 10, 10, 10], None),
    ],
)
def test_builtin_strategies_through_the_guard(
    name: str, raw: dict[str, object], closes: list[float], expected: int | None
) -> None:
    spec = get_strategy(name)

    result = run_strategy(spec, candles(closes), 0, None, spec.parse_params(raw), "ETH-USDT-SWAP")

    assert result == expected


def test_builtin_too_short_history_is_a_strategy_error() -> None:
    spec = get_strategy("bollinger")

    with pytest.raises(StrategyError, match="'bollinger' on SOL-USDT-SWAP: needs 21 closed bars"):
        run_strategy(spec, candles([10.0] * 20), 0, None, spec.parse_params({"n": 20}), "SOL-USDT-SWAP")


def test_builtin_nan_close_is_a_strategy_error() -> None:
    spec = get_strategy("sma_cross")
    closes = [10.0, 10.0, NAN, 10.0, 12.0]

    with pytest.raises(StrategyError, match="ValueError: close is nan at bar 2024-01-01 02:00"):
        run_strategy(spec, candles(closes), 0, None, spec.parse_params({"fast": 2, "slow": 4}), "X")


# --- window_closes ------------------------------------------------------------------------------


def test_window_closes_returns_the_last_closes_as_a_new_array() -> None:
    df = candles([1, 2, 3, 4])

    closes = window_closes(df, 2)
    closes[0] = 100.0

    assert closes.tolist() == [100.0, 4.0]
    assert window_closes(df, 2, take_all=True).tolist() == [1.0, 2.0, 3.0, 4.0]
    assert df["close"].tolist() == [1.0, 2.0, 3.0, 4.0]


@pytest.mark.parametrize(
    ("closes", "need", "take_all", "message"),
    [
        ([1, 2], 3, False, "needs 3 closed bars, got 2"),
        ([1, 2], 0, False, "need must be >= 1"),
        ([1, NAN, 3], 2, False, "close is nan at bar 2024-01-01 01:00:00\\+00:00"),
        ([1, 2, float("-inf")], 1, False, "close is -inf"),
        ([NAN, 2, 3], 2, True, "close is nan at bar 2024-01-01 00:00"),
    ],
)
def test_window_closes_errors(closes: list[float], need: int, take_all: bool, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        window_closes(candles(closes), need, take_all=take_all)


def test_window_closes_ignores_bad_closes_outside_the_window() -> None:
    assert window_closes(candles([NAN, 2, 3]), 2).tolist() == [2.0, 3.0]


def test_window_closes_accepts_nullable_floats() -> None:
    df = pd.DataFrame({"close": pd.array([1.0, None, 3.0], dtype="Float64")})

    assert window_closes(df, 1).tolist() == [3.0]
    with pytest.raises(ValueError, match="close is nan at bar 1"):
        window_closes(df, 2)


# --- registry ------------------------------------------------------------------------------------


def test_blank_docstring_registers_with_an_empty_description(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Regression: a whitespace-only docstring used to raise IndexError at registration.
    monkeypatch.setattr(registry, "REGISTRY", {})

    def blank(df: pd.DataFrame, now_pos: int, avg_price: Decimal | None, params: Any) -> None:
        """ """

    registry.register("blank", NoParams, lookback=lambda _: 1)(blank)

    assert registry.REGISTRY["blank"].description == ""


def _docs_example() -> str:
    lines = (strategies.__doc__ or "").splitlines()
    start = next(i for i, line in enumerate(lines) if line.endswith("::")) + 1
    block: list[str] = []
    for line in lines[start:]:
        if line and not line.startswith(" "):
            break
        block.append(line)
    return textwrap.dedent("\n".join(block))


def test_the_package_docs_example_works(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "REGISTRY", {})
    namespace: dict[str, Any] = {}
    exec(compile(_docs_example(), "<strategies docs>", "exec"), namespace)  # noqa: S102
    spec = registry.REGISTRY["close_channel"]
    params = spec.parse_params({"n": 3})

    def target(closes: list[float]) -> int | None:
        return run_strategy(spec, candles(closes), 0, None, params, "ETH-USDT-SWAP")

    assert spec.lookback(params) == 4
    assert spec.description.startswith("Long above the highest")
    assert target([10, 12, 11, 13]) == 1
    assert target([10, 12, 11, 9]) == -1
    assert target([10, 12, 11, 12]) is None
    with pytest.raises(StrategyError, match="needs 4 closed bars"):
        target([10, 12, 11])
    with pytest.raises(ValueError, match="param 'm': unknown parameter"):
        spec.parse_params({"m": 2})


def test_parse_params_rejects_unknown_and_bad_fields_together() -> None:
    class Params(StrategyParams):
        n: int = Field(5, ge=2)

    spec = spec_of(lambda df, now_pos, avg_price, params: None)
    spec = StrategySpec("x", spec.func, Params, lambda p: p.n, "")

    with pytest.raises(ValueError, match=r"param 'n': .*; param 'k': unknown parameter"):
        spec.parse_params({"n": 1, "k": 2})
