"""API credentials from the environment (or a git-ignored ``.env``), never from config.py.

An account with ``credentials="OKX_SUB1"`` reads ``OKX_SUB1_API_KEY``, ``OKX_SUB1_SECRET`` and
``OKX_SUB1_PASSPHRASE``. In ``simulator`` mode missing variables fall back to deterministic
development credentials that ``python -m simulator --config`` registers too, so the demo needs no
keys at all. Every value resolved here is registered with :mod:`core.redaction`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import ConfigError
from core.redaction import register_secret

if TYPE_CHECKING:
    from config.schema import FleetConfig

__all__ = [
    "CREDENTIAL_SUFFIXES",
    "MASTER_SIM_NAME",
    "Credentials",
    "credentials_for",
    "missing_credential_vars",
    "parse_env_file",
    "resolve_credentials",
    "resolve_master_credentials",
    "resolve_secret_env",
    "simulator_credentials",
]

CREDENTIAL_SUFFIXES = ("API_KEY", "SECRET", "PASSPHRASE")


@dataclass(frozen=True)
class Credentials:
    """One OKX API key. ``repr`` never shows the values."""

    api_key: str = field(repr=False)
    secret: str = field(repr=False)
    passphrase: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(api_key={self.masked_key!r}, secret='***', passphrase='***')"

    @property
    def masked_key(self) -> str:
        return (self.api_key[:4] + "***") if len(self.api_key) > 8 else "***"


def parse_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines (``export`` prefix, quotes and ``#`` comments allowed)."""
    out: dict[str, str] = {}
    if not path.is_file():
        return out
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].strip()
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{path}:{number}: expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key.strip()] = value
    return out


def simulator_credentials(account: str) -> Credentials:
    """Deterministic development credentials for ``account`` against the local simulator."""
    digest = hashlib.sha256(f"okxfleet-simulator:{account}".encode()).hexdigest()
    return Credentials(
        api_key=f"sim-{account}-{digest[:8]}", secret=digest[8:40], passphrase=f"Sim{digest[40:48]}"
    )


def missing_credential_vars(prefix: str, env: Mapping[str, str]) -> list[str]:
    return [f"{prefix}_{s}" for s in CREDENTIAL_SUFFIXES if not env.get(f"{prefix}_{s}")]


def resolve_credentials(cfg: FleetConfig, account: str) -> Credentials:
    """The account's credentials, or :class:`ConfigError` naming the missing variables."""
    return credentials_for(cfg, cfg.account(account).credentials, f"account {account!r}", account)


MASTER_SIM_NAME = "master"


def resolve_master_credentials(cfg: FleetConfig) -> Credentials:
    """The treasury's master-account key (``TREASURY = Treasury(credentials=...)``)."""
    if cfg.treasury is None:
        raise ConfigError("no TREASURY configured: add TREASURY = Treasury(credentials='OKX_MASTER')")
    return credentials_for(cfg, cfg.treasury.credentials, "TREASURY (master account)", MASTER_SIM_NAME)


def credentials_for(cfg: FleetConfig, prefix: str, who: str, sim_name: str) -> Credentials:
    """Credentials from ``<prefix>_API_KEY/_SECRET/_PASSPHRASE``; in simulator mode, with none
    set, the development credentials of ``sim_name``. Every value is registered for redaction."""
    env = cfg.env
    missing = missing_credential_vars(prefix, env)
    if missing:
        if cfg.exchange.mode == "simulator" and len(missing) == len(CREDENTIAL_SUFFIXES):
            creds = simulator_credentials(sim_name)
        else:
            raise ConfigError(
                f"{who}: missing environment variable(s) {', '.join(missing)} "
                f"(set them or put them in a git-ignored .env)"
            )
    else:
        creds = Credentials(env[f"{prefix}_API_KEY"], env[f"{prefix}_SECRET"], env[f"{prefix}_PASSPHRASE"])
    for value in (creds.api_key, creds.secret, creds.passphrase):
        register_secret(value)
    return creds


def resolve_secret_env(cfg: FleetConfig, name: str | None) -> str | None:
    """The value of a secret-holding variable (e.g. a DingTalk webhook), registered for redaction."""
    if not name:
        return None
    value = cfg.env.get(name) or None
    if value:
        register_secret(value)
        # The token inside a webhook URL is the secret part.
        if "access_token=" in value:
            register_secret(value.split("access_token=", 1)[1].split("&", 1)[0])
    return value
