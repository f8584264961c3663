"""Cross-checks of ``TREASURY`` against the accounts and the environment (issue #16)."""

from __future__ import annotations

from collections.abc import Mapping

from config.credentials import missing_credential_vars
from config.schema import AccountSettings, ExchangeSettings, TreasurySettings

__all__ = ["check_treasury"]


def check_treasury(
    treasury: TreasurySettings | None,
    accounts: dict[str, AccountSettings],
    exchange: ExchangeSettings | None,
    env: Mapping[str, str],
    check_credentials: bool,
    problems: list[str],
) -> None:
    """The master key is its own credentials entry, present outside simulator mode."""
    if treasury is None:
        return
    for acct in accounts.values():
        if acct.credentials == treasury.credentials:
            problems.append(
                f"TREASURY: credentials {treasury.credentials} are account {acct.name!r}'s; the treasury "
                f"needs the master account's own key (traders' keys never get transfer rights)"
            )
    if exchange is not None and exchange.mode in ("live", "demo") and check_credentials:
        missing = missing_credential_vars(treasury.credentials, env)
        if missing:
            problems.append(
                f"TREASURY: {exchange.mode} mode needs the master account's credentials; "
                f"missing environment variable(s) {', '.join(missing)}"
            )
