"""stdlib logging for every process: one logger per module, redaction on every handler.

``setup_logging("trader-sub1", log_dir)`` writes a rotating ``trader-sub1.log`` and to stderr.
Every record goes through :func:`core.redaction.redact` after formatting, tracebacks included.
"""

from __future__ import annotations

import datetime as dt
import logging
import logging.handlers
import sys
from pathlib import Path

from core.redaction import redact

__all__ = ["RedactingFormatter", "printable", "setup_logging"]

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def printable(text: str) -> str:
    """``text`` with what UTF-8 cannot encode (lone surrogates, e.g. from a JSON ``"\\ud800"``)
    escaped as ``\\ud800``, so a handler writing UTF-8 never drops the line."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


class RedactingFormatter(logging.Formatter):
    """A formatter whose output never contains a secret, and can always be written as UTF-8."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(redact(super().format(record)))

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        # ISO 8601 in UTC, never the host's local zone.
        ts = dt.datetime.fromtimestamp(record.created, tz=dt.UTC)
        return ts.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def setup_logging(
    process: str,
    log_dir: Path | None = None,
    level: int | str = logging.INFO,
    stream: bool = True,
) -> logging.Logger:
    """Configure the root logger for one process; idempotent. Returns the root logger."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_okxfleet", False):
            root.removeHandler(handler)
            handler.close()
    formatter = RedactingFormatter(_FORMAT)
    handlers: list[logging.Handler] = []
    if stream:
        handlers.append(logging.StreamHandler(sys.stderr))
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                log_dir / f"{process}.log", maxBytes=10_000_000, backupCount=5, encoding="utf-8"
            )
        )
    for handler in handlers:
        handler.setFormatter(formatter)
        handler._okxfleet = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    # Chatty libraries: their DEBUG lines can carry request headers.
    for noisy in ("urllib3", "httpx", "httpcore", "ccxt", "apscheduler", "hpack", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    return root
