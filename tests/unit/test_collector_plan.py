"""``collector.plan``: which instruments per interval, which intervals close when."""

from __future__ import annotations

import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from collector.plan import CollectPlan, build_plan
from config import load_config
from core.intervals import parse_interval

HK = "Asia/Shanghai"
M1, M5, M15, H1, H4, H6, H12, D1 = (
    parse_interval(x) for x in ("1m", "5m", "15m", "1h", "4h", "6h", "12h", "1d")
)


def write_config(tmp_path: Path, accounts: str, tz: str = HK) -> Path:
    path = tmp_path / "config.py"
    path.write_text(
        textwrap.dedent(
            f"""
            from config import Account, Exchange, Strategy
            EXCHANGE = Exchange(mode="simulator", base_url="http://127.0.0.1:9")
            CANDLE_TIMEZONE = {tz!r}
            DATA_DIR = {str(tmp_path / "data")!r}
            ACCOUNTS = {{
            """
        )
        + textwrap.indent(textwrap.dedent(accounts), "    ")
        + "}\n"
    )
    return path


def sma(inst: str) -> str:
    return f'Strategy("{inst}", "sma_cross", params={{"fast": 2, "slow": 4}})'


def test_build_plan_union_on_base_and_per_account_above(tmp_path: Path) -> None:
    cfg = load_config(
        write_config(
            tmp_path,
            f"""
            "a": Account(credentials="OKX_A", interval="5m", strategies=[{sma("BTC-USDT-SWAP")}]),
            "b": Account(credentials="OKX_B", interval="1h", strategies=[{sma("ETH-USDT-SWAP")},
                                                                        {sma("BTC-USDT-SWAP")}]),
            "c": Account(credentials="OKX_C", interval="1h", strategies=[{sma("SOL-USDT")}]),
            """,
        )
    )

    plan = build_plan(cfg)

    assert plan.base == M5
    assert plan.intervals == [M5, H1]
    assert plan.all_instruments == ("BTC-USDT-SWAP", "ETH-USDT-SWAP", "SOL-USDT")
    assert plan.instruments[H1] == ("BTC-USDT-SWAP", "ETH-USDT-SWAP", "SOL-USDT")
    assert plan.larger == [H1]
    assert plan.base_bar == "5m"


def test_same_alias_different_instruments_are_separate_files(tmp_path: Path) -> None:
    """Bug 11: the original keyed files by alias; two accounts' instruments must never merge."""
    cfg = load_config(
        write_config(
            tmp_path,
            f"""
            "a": Account(credentials="OKX_A", interval="15m", strategies=[{sma("ETH-USDT-SWAP")}]),
            "b": Account(credentials="OKX_B", interval="15m", strategies=[{sma("ETH-USDT")}]),
            """,
        )
    )

    plan = build_plan(cfg)

    assert plan.instruments == {M15: ("ETH-USDT", "ETH-USDT-SWAP")}


@pytest.mark.parametrize(
    ("tz", "base_bar_for"),
    [
        (HK, {"1h": "1H", "4h": "4H", "6h": "6H", "1d": "1D"}),
        ("UTC", {"6h": "6Hutc", "12h": "12Hutc", "1d": "1Dutc"}),
    ],
)
def test_base_bar_code_is_okx_spelling(tz: str, base_bar_for: dict[str, str]) -> None:
    """Bug 22: OKX wants ``1H``, not ``1h``; 6h+ bars follow the candle timezone."""
    for name, code in base_bar_for.items():
        plan = CollectPlan(tz=tz, instruments={parse_interval(name): ("BTC-USDT-SWAP",)})
        assert plan.base_bar == code


def _plan(tz: str) -> CollectPlan:
    inst = ("BTC-USDT-SWAP",)
    return CollectPlan(tz=tz, instruments={iv: inst for iv in (M5, M15, H1, H4, H6, H12, D1)})


@pytest.mark.parametrize(
    ("tz", "close", "expected"),
    [
        (HK, datetime(2024, 3, 1, 0, 5, tzinfo=UTC), ["5m"]),
        (HK, datetime(2024, 3, 1, 0, 15, tzinfo=UTC), ["5m", "15m"]),
        (HK, datetime(2024, 3, 1, 1, 0, tzinfo=UTC), ["5m", "15m", "1h"]),
        # 04:00 UTC: 4h in both zones; 6h and 12h HK bars (open 22:00 and 16:00 UTC) close too
        (HK, datetime(2024, 3, 1, 4, 0, tzinfo=UTC), ["5m", "15m", "1h", "4h", "6h", "12h"]),
        ("UTC", datetime(2024, 3, 1, 4, 0, tzinfo=UTC), ["5m", "15m", "1h", "4h"]),
        # 16:00 UTC = midnight in UTC+8: the HK day closes
        (HK, datetime(2024, 3, 1, 16, 0, tzinfo=UTC), ["5m", "15m", "1h", "4h", "6h", "12h", "1d"]),
        ("UTC", datetime(2024, 3, 1, 16, 0, tzinfo=UTC), ["5m", "15m", "1h", "4h"]),
        ("UTC", datetime(2024, 3, 2, 0, 0, tzinfo=UTC), ["5m", "15m", "1h", "4h", "6h", "12h", "1d"]),
        (HK, datetime(2024, 3, 2, 0, 0, tzinfo=UTC), ["5m", "15m", "1h", "4h"]),
        ("UTC", datetime(2024, 3, 1, 18, 0, tzinfo=UTC), ["5m", "15m", "1h", "6h"]),
        (HK, datetime(2024, 3, 1, 22, 0, tzinfo=UTC), ["5m", "15m", "1h", "6h"]),
        (HK, datetime(2024, 3, 1, 0, 7, tzinfo=UTC), []),
    ],
)
def test_closing_at(tz: str, close: datetime, expected: list[str]) -> None:
    assert [iv.name for iv in _plan(tz).closing_at(close)] == expected


@pytest.mark.parametrize("host_tz", ["UTC", "America/New_York", "Asia/Kolkata"])
def test_closing_at_ignores_the_host_timezone(monkeypatch: pytest.MonkeyPatch, host_tz: str) -> None:
    """Bug 1: the original aligned to the machine's local midnight. Only the candle timezone counts."""
    monkeypatch.setenv("TZ", host_tz)
    time.tzset()
    try:
        hk_midnight = datetime(2024, 3, 2, 0, 0, tzinfo=UTC) - timedelta(hours=8)
        assert [iv.name for iv in _plan(HK).closing_at(hk_midnight)][-1] == "1d"
        assert _plan(HK).last_close(hk_midnight + timedelta(minutes=3), D1) == hk_midnight
    finally:
        monkeypatch.undo()
        time.tzset()


def test_last_close_and_bar_open() -> None:
    plan = _plan(HK)
    now = datetime(2024, 3, 1, 17, 3, 2, tzinfo=UTC)

    assert plan.last_close(now) == datetime(2024, 3, 1, 17, 0, tzinfo=UTC)
    assert plan.last_close(now, D1) == datetime(2024, 3, 1, 16, 0, tzinfo=UTC)
    assert plan.bar_open(datetime(2024, 3, 1, 16, 0, tzinfo=UTC), D1) == datetime(
        2024, 2, 29, 16, 0, tzinfo=UTC
    )


def test_plan_rejects_interval_the_base_does_not_divide() -> None:
    with pytest.raises(ValueError, match="must divide"):
        CollectPlan(tz=HK, instruments={H4: ("A-B",), H6: ("A-B",)})


def test_plan_rejects_instrument_missing_from_base() -> None:
    with pytest.raises(ValueError, match="missing from the base"):
        CollectPlan(tz=HK, instruments={M5: ("A-B",), H1: ("C-D",)})
