"""The DingTalk custom-robot client: signing, the URL, one POST, and what the answer means.

A robot is a webhook URL (``https://oapi.dingtalk.com/robot/send?access_token=…``), an optional
signing secret (``SEC…``) and an optional security keyword. With a secret, every URL carries
``timestamp`` (epoch ms, within an hour of DingTalk's clock) and
``sign = urlencode(base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}")))``.

:meth:`DingTalkClient.send_markdown` never raises: it returns a :class:`SendResult` whose
:class:`Outcome` says how the caller should react. Nothing here logs or returns the URL, the
token or the secret; a robot is named by its environment variable (``robot DINGTALK_WEBHOOK``).
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, urlsplit

import httpx

from core.clock import Clock, SystemClock, to_ms
from core.logs import printable
from core.redaction import redact

__all__ = [
    "DEFAULT_TIMEOUT",
    "ERRCODES",
    "Outcome",
    "Robot",
    "SendResult",
    "classify_response",
    "markdown_body",
    "sign",
    "signed_url",
]

DEFAULT_TIMEOUT = (3.05, 10.0)  # (connect, read) seconds
DINGTALK_SEND_URL = "https://oapi.dingtalk.com/robot/send"


class Outcome(enum.Enum):
    OK = "ok"
    RETRY = "retry"  # network error, timeout, 5xx, "system busy": send again later
    RATE_LIMITED = "rate_limited"  # too fast: pause the robot, then send again
    CONFIG = "config"  # bad token / signature / keyword / robot disabled: drop, log once
    REJECTED = "rejected"  # this message was refused (too big, unsafe content...): drop, log once


# errcode -> (outcome, explanation). Anything else non-zero is REJECTED.
ERRCODES: dict[int, tuple[Outcome, str]] = {
    -1: (Outcome.RETRY, "DingTalk is busy"),
    130101: (Outcome.RATE_LIMITED, "more than 20 messages a minute; DingTalk mutes the robot for 10 minutes"),
    410100: (Outcome.RATE_LIMITED, "sending too fast"),
    310000: (
        Outcome.CONFIG,
        "security check failed: bad signature or secret, timestamp off by more than an hour, "
        "keyword missing from the message, or IP not whitelisted",
    ),
    300001: (Outcome.CONFIG, "invalid access_token"),
    300005: (Outcome.CONFIG, "access_token does not exist"),
    400013: (Outcome.CONFIG, "the group was dissolved"),
    400101: (Outcome.CONFIG, "access_token does not exist"),
    400102: (Outcome.CONFIG, "the robot is disabled"),
    400105: (Outcome.CONFIG, "message type not supported"),
    460101: (Outcome.REJECTED, "message too large"),
}


def sign(secret: str, timestamp_ms: int) -> str:
    """The URL-encoded ``sign`` parameter for ``timestamp_ms`` (DingTalk's signing recipe)."""
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), string_to_sign, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode("ascii"))


def signed_url(webhook: str, secret: str | None, timestamp_ms: int) -> str:
    """``webhook`` with ``timestamp`` and ``sign`` appended (unchanged without a secret)."""
    if not secret:
        return webhook
    joiner = "&" if urlsplit(webhook).query else ("" if webhook.endswith("?") else "?")
    return f"{webhook}{joiner}timestamp={timestamp_ms}&sign={sign(secret, timestamp_ms)}"


def markdown_body(title: str, text: str) -> bytes:
    """The JSON body of a markdown message, UTF-8 (what UTF-8 cannot encode is shown escaped)."""
    payload = {"msgtype": "markdown", "markdown": {"title": printable(title), "text": printable(text)}}
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Robot:
    """One DingTalk robot. ``label`` (the env var holding the webhook) is what logs show."""

    label: str
    webhook: str = field(repr=False)
    secret: str | None = field(default=None, repr=False)
    keyword: str | None = None

    @classmethod
    def from_env_value(
        cls, label: str, webhook: str, secret: str | None = None, keyword: str | None = None
    ) -> Robot:
        """Accept a full webhook URL or just its access token."""
        webhook = webhook.strip()
        if not webhook.lower().startswith(("http://", "https://")):
            webhook = f"{DINGTALK_SEND_URL}?access_token={webhook}"
        return cls(label, webhook, (secret or "").strip() or None, keyword or None)

    @property
    def host(self) -> str:
        """The webhook's host (not a secret), for messages such as ``oapi.dingtalk.com``."""
        return urlsplit(self.webhook).netloc.rsplit("@", 1)[-1]

    @property
    def robot_id(self) -> str:
        """A stable, non-reversible id (for file names)."""
        return hashlib.sha256(self.webhook.encode("utf-8")).hexdigest()[:16]

    def describe(self) -> str:
        """``robot DINGTALK_WEBHOOK (oapi.dingtalk.com, signed, keyword 'okxfleet')`` — safe to show."""
        extras = [self.host, "signed" if self.secret else "unsigned"]
        if self.keyword:
            extras.append(f"keyword {self.keyword!r}")
        return f"robot {self.label} ({', '.join(extras)})"


@dataclass(frozen=True)
class SendResult:
    """What happened to one POST. ``detail`` is safe to log (never the URL)."""

    outcome: Outcome
    errcode: int | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    @property
    def key(self) -> str:
        """Groups repeats of the same problem (for logging once)."""
        return f"{self.outcome.value}:{self.errcode}"


def classify_response(status: int, body: Any) -> SendResult:
    """Map an HTTP status and decoded JSON body to a :class:`SendResult` (pure)."""
    if status == 429:
        return SendResult(Outcome.RATE_LIMITED, None, "HTTP 429")
    if status >= 500:
        return SendResult(Outcome.RETRY, None, f"HTTP {status}")
    if status != 200:
        return SendResult(Outcome.CONFIG, None, f"HTTP {status} (wrong webhook URL?)")
    if not isinstance(body, dict) or "errcode" not in body:
        return SendResult(Outcome.CONFIG, None, "HTTP 200 but not a DingTalk answer (wrong webhook URL?)")
    try:
        errcode = int(body["errcode"])
    except (TypeError, ValueError):
        return SendResult(Outcome.CONFIG, None, "HTTP 200 but not a DingTalk answer (bad errcode)")
    if errcode == 0:
        return SendResult(Outcome.OK, 0, "ok")
    errmsg = redact(" ".join(str(body.get("errmsg", "")).split())[:200])
    outcome, why = ERRCODES.get(errcode, (Outcome.REJECTED, "refused"))
    return SendResult(outcome, errcode, f"errcode {errcode}: {why} ({errmsg})")


class DingTalkClient:
    """Posts markdown messages to one robot with ``httpx``; never raises.

    httpx, not requests: every process that notifies already loads httpx (python-okx's HTTP
    client), so a robot costs a trader no extra library (requests adds ~5 MB of RSS, issue #12).
    """

    def __init__(
        self,
        robot: Robot,
        *,
        session: httpx.Client | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        wall_clock: Clock | None = None,
    ) -> None:
        self.robot = robot
        self.timeout = timeout
        connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        self._session = session or httpx.Client(timeout=httpx.Timeout(read, connect=connect))
        # The signature's timestamp is checked against DingTalk's real clock, so it is always
        # wall time, whatever (scaled or fake) clock the rest of the process runs on.
        self._wall = wall_clock or SystemClock()

    def send_markdown(self, title: str, text: str) -> SendResult:
        url = signed_url(self.robot.webhook, self.robot.secret, to_ms(self._wall.now()))
        try:
            resp = self._session.post(
                url,
                content=markdown_body(title, text),
                headers={"Content-Type": "application/json; charset=utf-8"},
            )
        except httpx.TimeoutException:
            return SendResult(Outcome.RETRY, None, "timed out")
        except httpx.HTTPError as exc:
            # str(exc) would contain the URL (and so the token): only the exception's type
            return SendResult(Outcome.RETRY, None, f"network error ({type(exc).__name__})")
        except Exception as exc:  # never raise into the caller
            return SendResult(Outcome.RETRY, None, f"unexpected error ({type(exc).__name__})")
        try:
            body: Any = resp.json()
        except ValueError:
            body = None
        finally:
            resp.close()
        return classify_response(resp.status_code, body)

    def close(self) -> None:
        self._session.close()
