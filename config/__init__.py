"""Configuration: the user-edited ``config.py``, its validated frozen schema, the loader and ``--check``.

``load_config(path)`` returns a :class:`FleetConfig`; ``resolve_credentials(cfg, account)`` reads
the account's API key, secret and passphrase from the environment (or a git-ignored ``.env``).
Secrets never live in config.py.
"""

from config.builders import (
    Account,
    Collector,
    DingTalk,
    Exchange,
    Files,
    Notify,
    Redis,
    Risk,
    Strategy,
    Trader,
    Treasury,
)
from config.credentials import Credentials, resolve_credentials, resolve_secret_env
from config.loader import DEFAULT_CONFIG_PATH, add_config_argument, load_config
from config.schema import (
    AccountSettings,
    CollectorSettings,
    DingTalkSettings,
    ExchangeSettings,
    FleetConfig,
    NotifySettings,
    RiskSettings,
    StrategySettings,
    TraderSettings,
    TreasurySettings,
)

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "Account",
    "AccountSettings",
    "Collector",
    "CollectorSettings",
    "Credentials",
    "DingTalk",
    "DingTalkSettings",
    "Exchange",
    "ExchangeSettings",
    "Files",
    "FleetConfig",
    "Notify",
    "NotifySettings",
    "Redis",
    "Risk",
    "RiskSettings",
    "Strategy",
    "StrategySettings",
    "Trader",
    "TraderSettings",
    "Treasury",
    "TreasurySettings",
    "add_config_argument",
    "load_config",
    "resolve_credentials",
    "resolve_secret_env",
]
