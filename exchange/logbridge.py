"""python-okx logs through loguru, whose default sink writes every record to stderr unredacted —
with ``debug=True`` that includes the API key, passphrase and signature of each request.

:func:`route_loguru` (called by every client factory) removes loguru's default stderr sink and sends
loguru records to the stdlib logger ``okx`` instead, redacted twice: here (registered secrets,
credential-looking values and python-okx's ``'OK-ACCESS-SIGN': b'...'`` bytes) and again by the
process's :class:`core.logs.RedactingFormatter`. Idempotent and thread-safe.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from typing import Any

from loguru import logger as loguru_logger

from core.redaction import MASK, redact

__all__ = ["redact_okx", "route_loguru"]

_lock = threading.Lock()
_sink_id: int | None = None
_std = logging.getLogger("okx")
# python-okx puts the signature in the header dict as bytes: 'OK-ACCESS-SIGN': b'abc='
_BYTES_VALUE = re.compile(
    r"(?i)(?P<k>['\"]?(?:ok-access-(?:key|sign|passphrase))['\"]?\s*[:=]\s*)b?(?P<q>['\"])[^'\"]*(?P=q)"
)
_LEVELS = {"TRACE": logging.DEBUG, "DEBUG": logging.DEBUG, "SUCCESS": logging.INFO}


def redact_okx(text: str) -> str:
    """:func:`core.redaction.redact` plus python-okx's header-dict formats."""
    return redact(_BYTES_VALUE.sub(lambda m: f"{m.group('k')}'{MASK}'", text))


def _sink(message: Any) -> None:
    record = message.record
    level = _LEVELS.get(record["level"].name, logging.getLevelName(record["level"].name))
    if not isinstance(level, int):
        level = logging.INFO
    if _std.isEnabledFor(level):
        _std.log(level, "%s", redact_okx(str(record["message"])))


def route_loguru() -> None:
    """Send loguru (python-okx) records to stdlib logging, redacted; drop loguru's stderr sink."""
    global _sink_id
    with _lock:
        if _sink_id is not None:
            return
        with contextlib.suppress(ValueError):  # already removed by someone else
            loguru_logger.remove(0)  # loguru's default stderr handler
        _sink_id = loguru_logger.add(_sink, level="DEBUG", format="{message}", catch=True)
