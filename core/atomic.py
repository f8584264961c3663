"""Atomic whole-file replacement with normal permissions.

``tempfile.mkstemp`` creates its file with mode 0600, and ``os.replace`` keeps the temp file's
mode, so every file rewritten that way silently became private to the collector's user (other
users' traders could no longer read a CSV after its first rewrite). :func:`atomic_write` creates
the temp file with ``open``'s usual mode (``0666`` minus the umask: ``0644`` under the default
umask ``022``), writes, ``fsync``s, then replaces the target; on any failure the target is
untouched and the temp file removed.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import IO

__all__ = ["FILE_MODE", "atomic_write"]

FILE_MODE = 0o666  # what open() asks for; the process umask takes away the rest


def _create_temp(path: Path) -> tuple[int, Path]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, FILE_MODE), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temp file next to {path}")


def atomic_write(path: Path, write: Callable[[IO[str]], object]) -> None:
    """Replace ``path`` with what ``write`` writes to a text stream (UTF-8, ``\\n`` line ends)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temp(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
