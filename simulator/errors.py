"""OKX error codes the simulator emits, and the exception that carries one to the envelope.

Request-level errors (auth, rate limit, bad query) become the top-level ``code``; per-order errors
become ``sCode``/``sMsg`` inside ``data[]`` (see :mod:`simulator.trading`).
"""

from __future__ import annotations

__all__ = ["MESSAGES", "OkxError", "http_status"]

MESSAGES: dict[str, str] = {
    "50001": "Service temporarily unavailable. Please try again later.",
    "50011": "Too Many Requests",
    "50013": "Systems are busy. Please try again later.",
    "50014": "Parameter {0} can not be empty.",
    "50036": "The expTime has expired. The request was not processed.",
    "50102": "Timestamp request expired.",
    "50103": "Request header OK-ACCESS-KEY can not be empty.",
    "50104": "Request header OK-ACCESS-PASSPHRASE can not be empty.",
    "50105": "Request header OK-ACCESS-PASSPHRASE incorrect.",
    "50106": "Request header OK-ACCESS-SIGN can not be empty.",
    "50107": "Request header OK-ACCESS-TIMESTAMP can not be empty.",
    "50111": "Invalid OK-ACCESS-KEY.",
    "50112": "Invalid OK-ACCESS-TIMESTAMP.",
    "50113": "Invalid Sign.",
    "51000": "Parameter {0} error",
    "51001": "Instrument ID does not exist.",
    "51008": "Order failed. Insufficient USDT margin in account",
    "51016": "Duplicated clOrdId",
    "51020": "Your order should meet or exceed the minimum order amount.",
    "51112": "Close order size exceeds your available size.",
    "51121": "Order quantity must be a multiple of the lot size.",
    "51169": "Order failed because you don't have any positions in this direction for this "
    "contract to reduce or close.",
    "51400": "Order cancellation failed as the order has been filled, canceled or does not exist.",
    "51503": "Your order has already been filled or canceled",
    "51603": "Order does not exist",
    "51010": "You can't complete this request under your current account mode.",
    "51004": "Order failed. The size exceeds the position limit at the current leverage.",
    "51111": "Maximum {0} orders can be placed in bulk.",
    # funding and sub-account transfers (simulator.treasury_book)
    "50030": "No permission to use this API",
    "55000": "Cannot be transferred out within 30 minutes after delivery.",
    "58111": "Funds transfer is frozen as the perpetual market is processing funding fees. "
    "Please try again later.",
    "58116": "Transfer exceeds the available amount.",
    "58117": "Transfer failed. Resolve any negative assets before transferring again.",
    "58119": "{0} Sub-account has no permission to transfer out, please set first.",
}

_HTTP: dict[str, int] = {
    "50001": 503,
    "50011": 429,
    "50014": 400,
    "51000": 400,
}


def http_status(code: str) -> int:
    """HTTP status OKX uses for a top-level error code (auth errors 401, most others 200)."""
    if code in _HTTP:
        return _HTTP[code]
    if code.startswith("501"):
        return 401
    return 200


class OkxError(Exception):
    """An OKX error: ``code`` (string), ``msg`` and the HTTP status of the reply."""

    def __init__(self, code: str, *args: str, msg: str | None = None, http: int | None = None):
        template = MESSAGES.get(code, "Error")
        self.code = code
        self.msg = msg if msg is not None else template.format(*args) if args else template
        self.http = http if http is not None else http_status(code)
        super().__init__(f"{code} {self.msg}")
