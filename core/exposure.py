"""The warning a server logs, before binding, when its address is not loopback.

The simulator (whose control API sets prices and balances) and the gateway (whose requests carry API
keys) bind loopback by default. Told otherwise they still start, but say first what the network can
then reach.
"""

from __future__ import annotations

import logging

from core.netaddr import is_loopback

__all__ = ["warn_if_exposed"]


def warn_if_exposed(logger: logging.Logger, host: str, what: str) -> bool:
    """Log a warning when ``host`` is not loopback (``""``, ``0.0.0.0`` and ``::`` mean every
    interface); ``what`` says what the network can then reach. True when it warned."""
    if is_loopback(host):
        return False
    logger.warning("listening on %r, beyond loopback: %s", host, what)
    return True
