"""The names ``config.py`` uses: ``Account(...)``, ``Strategy(...)``, ``Exchange(...)`` ...

They only *record* what the user wrote; validation happens once, in the loader, so that every
problem is reported together with the account and instrument it belongs to (a typo in one
strategy does not hide the next one).
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "Account", "Collector", "DingTalk", "Draft", "Exchange", "Files", "Notify", "Redis", "Risk",
    "Strategy", "Trader", "Treasury",
]  # fmt: skip


class Draft:
    """Positional and keyword arguments as written in config.py."""

    positional: ClassVar[tuple[str, ...]] = ()
    kind: ClassVar[str] = "setting"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs

    def fields(self) -> tuple[dict[str, Any], list[str]]:
        """(field -> value, problems) with positional arguments mapped to their names."""
        problems: list[str] = []
        out: dict[str, Any] = {}
        if len(self.args) > len(self.positional):
            problems.append(
                f"{self.kind}() takes at most {len(self.positional)} positional arguments "
                f"({', '.join(self.positional) or 'none'}), got {len(self.args)}"
            )
        for name, value in zip(self.positional, self.args, strict=False):
            out[name] = value
        for name, value in self.kwargs.items():
            if name in out:
                problems.append(f"{self.kind}() got {name!r} twice")
            out[name] = value
        return out, problems

    def __repr__(self) -> str:
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{type(self).__name__}({', '.join(parts)})"


class Exchange(Draft):
    """``Exchange(mode="live"|"demo"|"simulator", base_url=..., timeout_s=...)``."""

    positional = ("mode",)
    kind = "Exchange"


class Strategy(Draft):
    """``Strategy("ETH-USDT-SWAP", "bollinger", params={...}, leverage=3)``."""

    positional = ("inst_id", "name")
    kind = "Strategy"


class Trader(Draft):
    """Trader settings (global ``TRADER = Trader(...)`` or per account ``trader=Trader(...)``)."""

    kind = "Trader"


class DingTalk(Draft):
    """A DingTalk robot: names of the env vars holding its webhook URL and signing secret."""

    kind = "DingTalk"


class Notify(Draft):
    """``NOTIFY = Notify(dingtalk=DingTalk(...), report_every_minutes=30)``."""

    kind = "Notify"


class Collector(Draft):
    """``COLLECTOR = Collector(history_bars=1000, ...)``."""

    kind = "Collector"


class Account(Draft):
    """``Account(credentials="OKX_SUB1", interval="1h", strategies=[...])``."""

    kind = "Account"


class Risk(Draft):
    """``Account(risk=Risk(max_drawdown=0.2, daily_loss=0.05, max_notional=5000, max_total_leverage=3))``."""

    kind = "Risk"


class Treasury(Draft):
    """``TREASURY = Treasury(credentials="OKX_MASTER", band=0.1, schedule="00:05", max_transfer=...)``."""

    kind = "Treasury"


class Files(Draft):
    """``DATA_BUS = Files()``: bars and markers as CSVs and marker files on this host (default)."""

    kind = "Files"


class Redis(Draft):
    """``DATA_BUS = Redis("redis://host:6379/0", lease_s=10)``: bars, markers and leases in Redis."""

    positional = ("url",)
    kind = "Redis"
