"""The :class:`Notifier` seam and :func:`make_notifier`, which picks a robot from the config.

A process builds one notifier at start-up and calls ``notify(event)`` from its loop; that call
never blocks on the network and never raises. An account's ``dingtalk=DingTalk(...)`` override
wins over ``NOTIFY.dingtalk``; when the robot's webhook variable is unset or empty the notifier
is a :class:`LogNotifier` (the demo runs without DingTalk).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from config.credentials import resolve_secret_env
from config.schema import DingTalkSettings, FleetConfig
from core.clock import Clock, SystemClock
from core.redaction import register_secret
from notify.dingtalk import DEFAULT_TIMEOUT, DingTalkClient, Robot
from notify.events import Event
from notify.format import format_event
from notify.ratelimit import FileWindowStore, MemoryWindowStore, SlidingWindowLimiter, WindowStore
from notify.worker import DingTalkNotifier

__all__ = [
    "DEFAULT_WINDOW_S",
    "DingTalkNotifier",
    "LogNotifier",
    "Notifier",
    "RecordingNotifier",
    "RobotChoice",
    "choose_robot",
    "make_notifier",
    "robot_limiter",
]

log = logging.getLogger(__name__)

# DingTalk counts 20 per minute; one spare second absorbs clock and latency differences.
DEFAULT_WINDOW_S = 61.0


class Notifier(Protocol):
    def notify(self, event: Event) -> None:
        """Hand over an event; never blocks, never raises."""
        ...

    def close(self, timeout_s: float = 5.0) -> None:
        """Flush what can be sent within ``timeout_s`` and stop."""
        ...


class LogNotifier:
    """Writes each formatted message to the log (INFO) instead of sending it."""

    def __init__(self, process: str, reason: str = "") -> None:
        self.process = process
        self.reason = reason

    def notify(self, event: Event) -> None:
        try:
            title, text = format_event(event)
            log.info("notification (%s): %s\n%s", self.reason or "no DingTalk robot", title, text)
        except Exception:
            log.exception("could not format a %s notification", type(event).__name__)

    def close(self, timeout_s: float = 5.0) -> None:
        return None


class RecordingNotifier:
    """Keeps every event in ``events`` (for the collector's and traders' unit tests)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.closed = False
        self._lock = threading.Lock()

    def notify(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)

    def close(self, timeout_s: float = 5.0) -> None:
        self.closed = True

    def of_type(self, kind: type) -> list[Event]:
        with self._lock:
            return [e for e in self.events if isinstance(e, kind)]


@dataclass(frozen=True)
class RobotChoice:
    """The robot a process should use, or why there is none (``robot is None``)."""

    robot: Robot | None
    settings: DingTalkSettings | None
    reason: str


def choose_robot(cfg: FleetConfig, account: str | None = None) -> RobotChoice:
    """The account's robot override if it has one, else the default robot (``NOTIFY.dingtalk``)."""
    settings = cfg.notify.dingtalk
    where = "NOTIFY.dingtalk"
    if account is not None:
        acct = cfg.account(account)
        if acct.dingtalk is not None:
            settings, where = acct.dingtalk, f"account {account!r} dingtalk"
    if settings is None:
        return RobotChoice(None, None, "DingTalk is disabled in the config (NOTIFY.dingtalk=None)")
    webhook = resolve_secret_env(cfg, settings.webhook_env)
    if not webhook or not webhook.strip():
        return RobotChoice(None, settings, f"{settings.webhook_env} is not set ({where})")
    secret = resolve_secret_env(cfg, settings.secret_env)
    robot = Robot.from_env_value(settings.webhook_env, webhook, secret, settings.keyword)
    register_secret(robot.webhook)
    return RobotChoice(robot, settings, f"{where}: {robot.describe()}")


_limiters: dict[str, SlidingWindowLimiter] = {}
_limiters_lock = threading.Lock()


def robot_limiter(
    robot: Robot, max_per_minute: int, state_dir: Path | None, window_s: float = DEFAULT_WINDOW_S
) -> SlidingWindowLimiter:
    """The robot's rate window, shared by every notifier of this process and, through a file in
    ``state_dir``, by every process of the fleet (in memory if the directory is unusable)."""
    key = f"{robot.robot_id}:{state_dir}:{max_per_minute}:{window_s}"
    with _limiters_lock:
        limiter = _limiters.get(key)
        if limiter is None:
            store: WindowStore
            try:
                if state_dir is None:
                    raise OSError("no state directory")
                store = FileWindowStore(state_dir / f"dingtalk-{robot.robot_id}.json")
            except OSError as exc:
                log.warning(
                    "robot %s: rate window kept in memory only (%s); processes sharing this robot "
                    "do not see each other's posts",
                    robot.label,
                    exc,
                )
                store = MemoryWindowStore()
            limiter = _limiters[key] = SlidingWindowLimiter(max_per_minute, window_s, store)
        return limiter


def make_notifier(
    cfg: FleetConfig,
    *,
    process: str,
    account: str | None = None,
    clock: Clock | None = None,
    window_s: float = DEFAULT_WINDOW_S,
    linger_s: float | None = None,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
) -> Notifier:
    """The process's notifier: DingTalk if its robot's webhook is set, else the log.

    ``clock`` (default: the system clock) times the rate window, backoff and "queued at" lines;
    the signature timestamp is always wall time. The rate window is shared through
    ``<data_dir>/notify/``.
    """
    choice = choose_robot(cfg, account)
    if choice.robot is None:
        # An account's own robot left unconfigured is probably a mistake; the default one is not.
        override = account is not None and cfg.account(account).dingtalk is not None
        log.log(
            logging.WARNING if override else logging.INFO,
            "notifications go to the log only: %s",
            choice.reason,
        )
        return LogNotifier(process, choice.reason)
    limiter = robot_limiter(choice.robot, cfg.notify.max_per_minute, cfg.data_dir / "notify", window_s)
    client = DingTalkClient(choice.robot, timeout=timeout)
    log.info("notifications for %s go to DingTalk %s", process, choice.robot.describe())
    return DingTalkNotifier(
        client, process=process, limiter=limiter, clock=clock or SystemClock(), linger_s=linger_s
    )
