"""What a real-money (``live``) or OKX demo configuration must never carry: test hooks, plain HTTP.

Test hooks are environment variables that make a process lie about time or kill itself on purpose.
They exist for the simulator, the end-to-end tests and the accelerated demo; against OKX they would
sign with a fake clock or SIGKILL a trader with positions open. Plain ``http://`` would send the
signed requests (API key, passphrase, signatures) in clear text.

Pure: the loader and ``python -m gateway`` call these and report what they return.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = [
    "NOT_HOOKS",
    "TEST_HOOKS",
    "credential_prefix",
    "hook_problems",
    "looks_like_a_key",
    "real_exchange_problems",
    "url_problems",
]

# Every OKXFLEET_* variable a process reads, with why it is a test hook.
TEST_HOOKS: dict[str, str] = {
    "OKXFLEET_CLOCK": "runs the process on a virtual (accelerated) clock",
    "OKXFLEET_TRADER_CRASH_AT": "kills the trader on purpose at a crash point",
}
# OKXFLEET_* variables that are ordinary settings, not hooks.
NOT_HOOKS = frozenset({"OKXFLEET_CONFIG"})

_REAL_MODES = ("live", "demo")
_HEX_KEY = re.compile(r"[0-9A-Fa-f]{16,}")
_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")


def hook_problems(mode: str, environ: Mapping[str, str]) -> list[str]:
    """One problem per test hook set in ``environ`` when ``mode`` talks to OKX."""
    if mode not in _REAL_MODES:
        return []
    return [
        f"{name} is set: it is a test hook ({why}) and is refused in {mode} mode; unset it "
        f"(it only works with the simulator)"
        for name, why in TEST_HOOKS.items()
        if environ.get(name, "").strip()
    ]


def url_problems(mode: str, url: str, ws_url: str | None = None) -> list[str]:
    """A problem when ``mode`` talks to OKX over plain HTTP (or a plain ``ws://`` WebSocket)."""
    if mode not in _REAL_MODES:
        return []
    problems = []
    if not url.lower().startswith("https://"):
        problems.append(
            f"base_url {url} is not https://: {mode} mode would send API keys and signed requests "
            f"unencrypted (plain http:// is only for the local simulator)"
        )
    if ws_url is not None and not ws_url.lower().startswith("wss://"):
        problems.append(
            f"ws_url {ws_url} is not wss://: {mode} mode must not read OKX over an unencrypted "
            f"WebSocket (plain ws:// is only for the local simulator)"
        )
    return problems


def real_exchange_problems(
    mode: str, url: str, environ: Mapping[str, str], ws_url: str | None = None
) -> list[str]:
    """Everything :func:`hook_problems` and :func:`url_problems` find."""
    return url_problems(mode, url, ws_url) + hook_problems(mode, environ)


def looks_like_a_key(value: str) -> bool:
    """True for a value shaped like an OKX API key (a UUID) or secret (long hex), not a name."""
    text = value.strip()
    return bool(_UUID.fullmatch(text) or _HEX_KEY.fullmatch(text))


def credential_prefix(value: str, example: str, name_re: re.Pattern[str]) -> str:
    """``value`` when it is an environment variable prefix matching ``name_re``; else ValueError.

    The value is never echoed: what people paste here by mistake is the key or secret itself.
    """
    if looks_like_a_key(value) or not name_re.match(value):
        raise ValueError(
            f"must be an environment variable prefix like {example} (reads {example}_API_KEY, "
            "_SECRET, _PASSPHRASE); the value given is not one (not shown: it may be a key). "
            "Never put the key itself in config.py"
        )
    return value
