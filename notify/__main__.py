"""``python -m notify --test [--config PATH] [--account NAME]``: send one test message.

Prints which robot was used (by its environment variable and host, never the token or secret)
and what DingTalk answered; exits 0 on success, 1 if the message was not delivered, 2 on a
configuration error.
"""

from __future__ import annotations

import argparse
import sys

from config.loader import add_config_argument, load_config
from core.clock import SystemClock
from core.errors import ConfigError
from core.redaction import redact
from notify.dingtalk import DingTalkClient
from notify.format import format_notice
from notify.service import DEFAULT_WINDOW_S, choose_robot, robot_limiter

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m notify", description="Send one DingTalk test message through the configured robot."
    )
    parser.add_argument("--test", action="store_true", help="send one test message and exit")
    parser.add_argument("--account", metavar="NAME", help="use this account's robot (default: NOTIFY's)")
    add_config_argument(parser)
    return parser


def say(message: str) -> None:
    """Print, redacted: nothing printed may hold a secret."""
    print(redact(message))


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.test:
        parser.print_help()
        return 2
    try:
        cfg = load_config(args.config, check_credentials=False)
        choice = choose_robot(cfg, args.account)
    except ConfigError as exc:
        for problem in exc.problems:
            say(f"config error: {problem}")
        return 2
    except KeyError as exc:
        say(f"config error: {exc.args[0] if exc.args else exc}")
        return 2
    if choice.robot is None:
        say(f"no DingTalk robot to test: {choice.reason}")
        return 1
    robot = choice.robot
    clock = SystemClock()
    limiter = robot_limiter(robot, cfg.notify.max_per_minute, cfg.data_dir / "notify", DEFAULT_WINDOW_S)
    if not limiter.try_acquire(clock.now()):
        say(
            f"{robot.describe()}: not sent — the robot's rate budget ({cfg.notify.max_per_minute}/min) "
            f"is used up; try again in {limiter.wait_s(clock.now()):.0f} s"
        )
        return 1
    who = f"account {args.account}" if args.account else "the default robot"
    title, text = format_notice(
        "Test message 测试消息",
        [
            f"**Robot 机器人** {robot.label} ({who})",
            "Sent by `python -m notify --test`: if you can read this, okxfleet can reach this robot.",
        ],
        keyword=robot.keyword,
        at=clock.now(),
    )
    client = DingTalkClient(robot)
    try:
        result = client.send_markdown(title, text)
    finally:
        client.close()
    if result.ok:
        say(f"sent a test message to {robot.describe()}: DingTalk answered ok")
        return 0
    say(f"FAILED to send a test message to {robot.describe()}: {result.detail}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
