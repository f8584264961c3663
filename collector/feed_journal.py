"""The feed's record on disk: the live status and a journal of every close's lag.

- ``<data>/collector/feed.json`` — the :class:`~collector.feed.FeedStatus` after the latest close
  (feed, connections, live and refused instruments, reconnects, the last round), replaced
  atomically; ``scripts/status`` shows it.
- ``<data>/collector/feed-lag.jsonl`` — one line per close: feed, bar close, close-to-ready
  seconds, instruments via push and via REST. Trimmed to its newer half past ``max_bytes``.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from collector.feed import FeedStatus
from core.atomic import atomic_write

__all__ = ["FeedJournal", "read_feed_status"]

log = logging.getLogger(__name__)
STATUS_FILE = "feed.json"
LAG_FILE = "feed-lag.jsonl"


def _atomic_write(path: Path, text: str) -> None:
    atomic_write(path, lambda fh: fh.write(text))


class FeedJournal:
    """Writes the feed status and lag journal under ``folder``."""

    def __init__(self, folder: Path, *, max_bytes: int = 2_000_000) -> None:
        self.folder = folder
        self.max_bytes = max_bytes

    def record(self, status: FeedStatus, now: datetime) -> None:
        """Write the status and append the last round to the journal. Never raises."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            _atomic_write(self.folder / STATUS_FILE, json.dumps({"at": now.isoformat(), **status.to_json()}))
            if status.last is not None:
                self._append(json.dumps(status.last.to_json(), separators=(",", ":")))
        except OSError:
            log.exception("cannot write the feed journal in %s", self.folder)

    def _append(self, line: str) -> None:
        path = self.folder / LAG_FILE
        with path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
        if path.stat().st_size > self.max_bytes:
            lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
            _atomic_write(path, "".join(lines[len(lines) // 2:]))

    def rounds(self) -> list[dict[str, Any]]:
        """Every journaled round, oldest first."""
        path = self.folder / LAG_FILE
        if not path.is_file():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def read_feed_status(folder: Path) -> dict[str, Any] | None:
    """The last status written to ``folder`` (None if there is none or it is unreadable)."""
    try:
        data = json.loads((folder / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
