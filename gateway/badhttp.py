"""Bytes that are not HTTP get the FMZ envelope too: ``{"error": "..."}``, never aiohttp's text page.

aiohttp answers what its parser refuses (a TLS hello, a port scan, a bad chunk size, an oversized
header line) itself, before any handler runs: ``400 Bad Request`` in ``text/plain`` with the
offending bytes quoted back, and an ERROR traceback quoting them again in the log. Those bytes can
be a request carrying API keys. :class:`FmzHttpServer` is aiohttp's low-level server whose
connections answer such input with ``fail(...)`` as JSON (HTTP 200, like every other gateway error),
naming only the kind of fault, and log one line without the bytes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

from gateway.protocol import fail

__all__ = ["FmzHttpServer"]

log = logging.getLogger(__name__)


class _JsonErrors(web.RequestHandler):
    """One connection; parser errors (and anything unhandled) answered in the FMZ envelope."""

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        kind = type(exc).__name__ if exc is not None else f"HTTP {status}"
        log.warning("unreadable HTTP request from %s (%s): answered with a JSON error", request.remote, kind)
        if request.writer.output_size > 0:  # as aiohttp: a reply already started cannot be replaced
            raise ConnectionError("response already started; cannot send the error")
        what = "internal error" if status >= 500 else "not a valid HTTP request"
        reply = fail(f"{what} ({kind}): FMZ calls plugins with POST /OKX and a JSON body")
        response = web.json_response(reply)
        response.force_close()
        return response


class FmzHttpServer(web.Server):
    """aiohttp's low-level :class:`~aiohttp.web.Server` whose connections answer junk in JSON."""

    def __init__(self, handler: Any, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._connection_kwargs = kwargs
        self._connection_loop = asyncio.get_running_loop()

    def __call__(self) -> web.RequestHandler:
        return _JsonErrors(self, loop=self._connection_loop, **self._connection_kwargs)
