"""Named points where a crash test can kill the trader (``SIGKILL``, no clean-up at all).

``OKXFLEET_TRADER_CRASH_AT=after_intent`` kills the process the first time it reaches
``crashpoint("after_intent")``; ``after_intent:3`` on the third time. Unset (always, outside the
crash test) this is a dictionary lookup. Points: ``cycle_start``, ``after_targets``,
``after_intent`` (journaled, not sent), ``after_send`` (sent, acknowledgement not journaled),
``after_ack``, ``after_closes``, ``after_cancel``, ``before_done``.
"""

from __future__ import annotations

import os
import signal

__all__ = ["CRASH_ENV", "crashpoint"]

CRASH_ENV = "OKXFLEET_TRADER_CRASH_AT"
_hits: dict[str, int] = {}


def crashpoint(name: str) -> None:
    spec = os.environ.get(CRASH_ENV)
    if not spec:
        return
    point, _, nth = spec.partition(":")
    if point != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] >= (int(nth) if nth else 1):
        os.kill(os.getpid(), signal.SIGKILL)
