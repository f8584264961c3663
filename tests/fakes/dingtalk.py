"""A fake DingTalk custom robot on 127.0.0.1, strict like the real one.

::

    with FakeDingTalk(secret="SEC...", keyword="okxfleet") as fake:
        env = {"DINGTALK_WEBHOOK": fake.webhook_url, "DINGTALK_SECRET": fake.secret}
        ...  # run something that notifies
        assert fake.wait_for(1)
        assert "okxfleet" in fake.messages[0]["text"]

It checks what DingTalk checks and answers with DingTalk's errcodes (always HTTP 200):

* ``access_token`` must match (300001 otherwise);
* with a secret: ``timestamp`` within an hour of the wall clock and
  ``sign = base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}"))`` (310000 otherwise);
* with a keyword: the keyword must appear in the message text (310000 otherwise);
* the markdown/text content must be at most ``max_bytes`` of UTF-8 (460101 otherwise);
* at most ``max_per_minute`` accepted messages in any rolling ``window_s`` (130101 otherwise);
  exceeding it mutes the robot for ``mute_s`` seconds (DingTalk: 10 minutes), during which every
  post gets 130101.

Accepted messages are recorded in ``messages`` (dicts with msgtype, title, text, received_at);
every request, accepted or not, in ``requests`` (with errcode and errmsg). ``fail_mode`` simulates
outages: ``"down"`` closes each connection without an answer, ``"500"`` answers HTTP 500,
``"slow"`` holds each request ``slow_s`` seconds before answering. ``clock`` (default: the system
clock) times the rate window and ``received_at``; the signature check always uses wall time.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from core.clock import Clock, SystemClock

__all__ = ["FakeDingTalk"]

_HOUR_MS = 3_600_000


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: FakeDingTalk


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return None

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        mode = fake.fail_mode
        if mode == "down":
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(2)
            return
        if mode == "slow":
            fake._stopping.wait(fake.slow_s)
        if mode == "500":
            self._reply(500, {"errcode": -1, "errmsg": "internal error"})
            return
        errcode, errmsg = fake._handle(self.path, body)
        self._reply(200, {"errcode": errcode, "errmsg": errmsg})

    def do_GET(self) -> None:
        self._reply(405, {"errcode": 43002, "errmsg": "POST only"})

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def expected_sign(secret: str, timestamp_ms: int | str) -> str:
    """DingTalk's signature (before URL encoding), computed independently of ``notify``."""
    mac = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


class FakeDingTalk:
    """An HTTP DingTalk robot on 127.0.0.1 (random port) served from a thread."""

    def __init__(
        self,
        secret: str | None = None,
        keyword: str | None = None,
        max_per_minute: int = 20,
        *,
        window_s: float = 60.0,
        mute_s: float = 600.0,
        max_bytes: int = 20_000,
        clock: Clock | None = None,
        token: str | None = None,
    ) -> None:
        self.secret = secret
        self.keyword = keyword
        self.max_per_minute = max_per_minute
        self.window_s = window_s
        self.mute_s = mute_s
        self.max_bytes = max_bytes
        self.clock: Clock = clock or SystemClock()
        self.token = token or secrets.token_hex(32)
        self.fail_mode: str | None = None  # None | "down" | "500" | "slow"
        self.slow_s = 5.0
        self.messages: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.muted_until: datetime | None = None
        self._accepted_at: list[datetime] = []
        self._lock = threading.RLock()  # wait_for predicates may call count()/texts()
        self._cond = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-dingtalk", daemon=True
        )
        self._thread.start()

    # ---- addresses ---------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}/robot/send?access_token={self.token}"

    # ---- lifecycle ---------------------------------------------------------------------------
    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeDingTalk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- what was received -------------------------------------------------------------------
    @property
    def rejections(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if r["errcode"] != 0]

    def errcodes(self) -> list[int]:
        with self._lock:
            return [r["errcode"] for r in self.requests]

    def texts(self) -> list[str]:
        with self._lock:
            return [m["text"] for m in self.messages]

    def count(self, needle: str) -> int:
        """How many times ``needle`` occurs across all accepted messages."""
        return sum(text.count(needle) for text in self.texts())

    def wait_for(self, n: int = 1, timeout: float = 5.0, pred: Callable[[], bool] | None = None) -> bool:
        """Wait (real time) until ``n`` messages were accepted (or ``pred()`` is true)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not (pred() if pred else len(self.messages) >= n):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
            return True

    def max_in_window(self, window_s: float | None = None) -> int:
        """The most accepted messages in any rolling window (DingTalk's is 60 s)."""
        window = timedelta(seconds=window_s if window_s is not None else self.window_s)
        with self._lock:
            times = sorted(m["received_at"] for m in self.messages)
        best = 0
        for i, start in enumerate(times):
            best = max(best, sum(1 for t in times[i:] if t - start < window))
        return best

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
            self.requests.clear()
            self._accepted_at.clear()
            self.muted_until = None

    # ---- the robot ---------------------------------------------------------------------------
    def _handle(self, path: str, body: bytes) -> tuple[int, str]:
        now = self.clock.now()
        errcode, errmsg, message = self._check(path, body, now)
        with self._cond:
            if errcode == 0 and message is not None:
                errcode, errmsg = self._rate(now)
                if errcode == 0:
                    self.messages.append(message)
            self.requests.append({"errcode": errcode, "errmsg": errmsg, "received_at": now})
            self._cond.notify_all()
        return errcode, errmsg

    def _rate(self, now: datetime) -> tuple[int, str]:
        if self.muted_until is not None and now < self.muted_until:
            return 130101, "send too fast, exceed 20 times per minute (robot muted)"
        window = timedelta(seconds=self.window_s)
        self._accepted_at = [t for t in self._accepted_at if now - t < window]
        if len(self._accepted_at) >= self.max_per_minute:
            if self.mute_s > 0:
                self.muted_until = now + timedelta(seconds=self.mute_s)
            return 130101, "send too fast, exceed 20 times per minute"
        self._accepted_at.append(now)
        return 0, "ok"

    def _check(self, path: str, body: bytes, now: datetime) -> tuple[int, str, dict[str, Any] | None]:
        parts = urlsplit(path)
        if parts.path != "/robot/send":
            return 404, "请求的URI地址不存在", None
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if not hmac.compare_digest(query.get("access_token", ""), self.token):
            return 300001, "token is not exist", None
        if self.secret:
            ts, sig = query.get("timestamp", ""), query.get("sign", "")
            if not ts.isdigit():
                return 310000, "sign not match, timestamp missing", None
            wall_ms = int(SystemClock().now().timestamp() * 1000)
            if abs(wall_ms - int(ts)) > _HOUR_MS:
                return 310000, "sign not match, timestamp is invalid", None
            if not hmac.compare_digest(sig, expected_sign(self.secret, ts)):
                return 310000, "sign not match", None
        try:
            payload = json.loads(body.decode("utf-8"))
            msgtype = payload["msgtype"]
            if msgtype == "markdown":
                title, text = str(payload["markdown"]["title"]), str(payload["markdown"]["text"])
            elif msgtype == "text":
                title, text = "", str(payload["text"]["content"])
            else:
                return 400105, f"unsupported msgtype {msgtype!r}", None
        except (UnicodeDecodeError, ValueError, KeyError, TypeError):
            return 40035, "缺少参数 json", None
        if self.keyword and self.keyword not in text:
            return 310000, "keywords not in content", None
        if len(text.encode("utf-8")) > self.max_bytes:
            return 460101, "message too large", None
        return 0, "ok", {"msgtype": msgtype, "title": title, "text": text, "received_at": now}
