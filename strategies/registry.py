"""The explicit strategy registry.

A strategy is a plain function ``(df, now_pos, avg_price, params) -> 1 | -1 | 0 | None`` (the
target position: long, short, flat, or keep what is held), registered with a pydantic model of
its parameters and a lookback function saying how many *closed* bars it needs::

    class SmaParams(StrategyParams):
        fast: int = Field(10, ge=1)
        slow: int = Field(40, ge=2)

    @register("sma_cross", SmaParams, lookback=lambda p: p.slow + 1)
    def sma_cross(df, now_pos, avg_price, params): ...

``config`` validates each configured strategy's name and params against this registry at load.

A strategy may also register a *vectorised form* for the backtester (:func:`register_vectorised`):
``(df, params) -> array`` with, for every row ``i`` of the whole history ``df``, the target the
per-bar function returns when handed the ``lookback`` rows ending at ``i`` (NaN for ``None`` and
for rows with too little history). The backtester checks it against the per-bar function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, Protocol, TypeVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = [
    "REGISTRY",
    "StrategyFunc",
    "StrategyParams",
    "StrategySpec",
    "VectorisedFunc",
    "get_strategy",
    "register",
    "register_vectorised",
    "strategy_names",
]


class StrategyParams(BaseModel):
    """Base of every strategy's parameter model: frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


P = TypeVar("P", bound=StrategyParams)
P_contra = TypeVar("P_contra", bound=StrategyParams, contravariant=True)


class StrategyFunc(Protocol[P_contra]):
    def __call__(
        self, df: pd.DataFrame, now_pos: int, avg_price: Decimal | None, params: P_contra
    ) -> int | None: ...


@dataclass(frozen=True)
class StrategySpec(Generic[P]):
    name: str
    func: Callable[[pd.DataFrame, int, Decimal | None, Any], int | None]
    params_model: type[P]
    lookback_fn: Callable[[P], int]
    description: str

    def parse_params(self, raw: Mapping[str, Any]) -> P:
        """Validated parameters; raises ValueError with one line per bad field."""
        try:
            return self.params_model.model_validate(dict(raw))
        except ValidationError as exc:
            lines = []
            for err in exc.errors():
                field = ".".join(str(x) for x in err["loc"]) or "params"
                msg = "unknown parameter" if err["type"] == "extra_forbidden" else err["msg"]
                lines.append(f"param {field!r}: {msg}")
            raise ValueError("; ".join(lines)) from None

    def lookback(self, params: P) -> int:
        """Closed bars the strategy needs to give a meaningful answer."""
        return int(self.lookback_fn(params))

    @property
    def vectorised(self) -> VectorisedFunc | None:
        """The whole-history form registered with :func:`register_vectorised`, if any."""
        return VECTORISED.get(self.name)


REGISTRY: dict[str, StrategySpec[Any]] = {}
VectorisedFunc = Callable[[pd.DataFrame, Any], np.ndarray]
VECTORISED: dict[str, VectorisedFunc] = {}


def register(
    name: str, params_model: type[P], lookback: Callable[[P], int]
) -> Callable[[Callable[..., int | None]], Callable[..., int | None]]:
    """Decorator adding a strategy to :data:`REGISTRY` under ``name``."""

    def wrap(func: Callable[..., int | None]) -> Callable[..., int | None]:
        old = REGISTRY.get(name)
        if old is not None and not _same_function(old.func, func):
            raise ValueError(f"strategy {name!r} registered twice")
        REGISTRY[name] = StrategySpec(
            name=name,
            func=func,
            params_model=params_model,
            lookback_fn=lookback,
            description=next(iter((func.__doc__ or "").strip().splitlines()), ""),
        )
        return func

    return wrap


def register_vectorised(name: str) -> Callable[[VectorisedFunc], VectorisedFunc]:
    """Decorator adding the vectorised form of the strategy ``name`` (see the module docstring)."""

    def wrap(func: VectorisedFunc) -> VectorisedFunc:
        old = VECTORISED.get(name)
        if old is not None and not _same_function(old, func):
            raise ValueError(f"vectorised form of {name!r} registered twice")
        VECTORISED[name] = func
        return func

    return wrap


def _same_function(a: Callable[..., Any], b: Callable[..., Any]) -> bool:
    # Re-running a config file that defines a strategy re-registers the same function.
    code_a, code_b = getattr(a, "__code__", None), getattr(b, "__code__", None)
    return (
        code_a is not None
        and code_b is not None
        and code_a.co_filename == code_b.co_filename
        and a.__qualname__ == b.__qualname__
    )


def _load_builtin() -> None:
    # Importing the modules registers their strategies.
    import importlib

    for module in ("strategies.bollinger", "strategies.sma_cross"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def get_strategy(name: str) -> StrategySpec[Any]:
    _load_builtin()
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY)) or "(none registered)"
        raise ValueError(f"unknown strategy {name!r}; known: {known}") from None


def strategy_names() -> list[str]:
    _load_builtin()
    return sorted(REGISTRY)
