"""Deterministic client order ids (``clOrdId``): same inputs, same id, in any process.

Scheme (always 32 characters, ``[a-z0-9]``, OKX allows 1-32 letters and digits)::

    "ox" + LEG + ATTEMPT + HASH
    "ox"     2   fixed prefix: orders placed by okxfleet (anything else is foreign)
    LEG      1   c = close, r = reduce, o = open
    ATTEMPT  2   base-36 attempt number 00..zz (0..1295): re-price n of that leg
    HASH    27   base-36 of sha256("account|inst_id|bar_close_ms"), truncated (~139 bits)

The hash pins the account, instrument and bar (close time, epoch ms UTC); leg and attempt stay
readable so an operator can tell the legs of one bar apart in the OKX UI. A re-price or a retry
after an unknown outcome takes the *next* attempt number, so an id is never sent twice; after a
crash the trader looks every journaled id up at OKX before anything new is sent.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from core.clock import to_ms

__all__ = [
    "LEG_CODES",
    "MAX_ATTEMPT",
    "PREFIX",
    "ClOrdIdParts",
    "bar_key",
    "is_ours",
    "make_cl_ord_id",
    "parse",
]

PREFIX = "ox"
LEG_CODES = {"close": "c", "reduce": "r", "open": "o"}
_LEG_NAMES = {v: k for k, v in LEG_CODES.items()}
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_HASH_LEN = 27
MAX_ATTEMPT = 36 * 36 - 1
_PATTERN = re.compile(r"^ox[cro][0-9a-z]{2}[0-9a-z]{27}$")


def _base36(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rem = divmod(number, 36)
        digits.append(_ALPHABET[rem])
    return "".join(reversed(digits))


def bar_key(account: str, inst_id: str, bar_close: datetime) -> str:
    """The 27-character hash part shared by every leg and attempt of one (account, inst, bar)."""
    text = f"{account}|{inst_id}|{to_ms(bar_close)}"
    value = int.from_bytes(hashlib.sha256(text.encode()).digest(), "big")
    return _base36(value, _HASH_LEN)


def make_cl_ord_id(account: str, inst_id: str, bar_close: datetime, leg: str, attempt: int) -> str:
    """The clOrdId of ``leg`` (close/reduce/open), attempt ``attempt``, for one bar."""
    if leg not in LEG_CODES:
        raise ValueError(f"leg must be one of {', '.join(LEG_CODES)}, got {leg!r}")
    if not 0 <= attempt <= MAX_ATTEMPT:
        raise ValueError(f"attempt must be in 0..{MAX_ATTEMPT}, got {attempt}")
    if not account or not inst_id:
        raise ValueError("account and inst_id must not be empty")
    return PREFIX + LEG_CODES[leg] + _base36(attempt, 2) + bar_key(account, inst_id, bar_close)


@dataclass(frozen=True)
class ClOrdIdParts:
    leg: str
    attempt: int
    bar_key: str


def is_ours(cl_ord_id: str) -> bool:
    """True if ``cl_ord_id`` has this scheme's shape (placed by okxfleet)."""
    return bool(_PATTERN.match(cl_ord_id or ""))


def parse(cl_ord_id: str) -> ClOrdIdParts:
    """Leg, attempt and bar hash of one of our ids; ``ValueError`` for anything else."""
    if not is_ours(cl_ord_id):
        raise ValueError(f"not an okxfleet clOrdId: {cl_ord_id!r}")
    return ClOrdIdParts(_LEG_NAMES[cl_ord_id[2]], int(cl_ord_id[3:5], 36), cl_ord_id[5:])
