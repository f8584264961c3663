"""Whether a bind address keeps a server on this machine, and the warning when it does not.

The simulator (whose control API sets prices and balances) and the gateway (whose requests carry API
keys) bind loopback by default. Told otherwise they still start, but say so first, before binding.
"""

from __future__ import annotations

import ipaddress
import logging

__all__ = ["is_loopback", "warn_if_exposed"]


def is_loopback(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8, ``::1`` and IPv4-mapped loopback; False for ``""``,
    ``0.0.0.0``, ``::`` (every interface) and any other name or address."""
    if host.strip().lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip().strip("[]"))
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def warn_if_exposed(logger: logging.Logger, host: str, what: str) -> bool:
    """Log a warning when ``host`` is not loopback; ``what`` says what the network can then reach."""
    if is_loopback(host):
        return False
    logger.warning("listening on %r, beyond loopback: %s", host, what)
    return True
