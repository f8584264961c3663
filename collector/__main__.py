"""``python -m collector [--config PATH] [--backfill]`` — run once per host.

Exit codes: 0 stopped cleanly (or backfill complete), 1 backfill incomplete or fatal error,
2 configuration error.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import traceback
from types import FrameType

from collector.service import PROCESS, CollectorService
from config.loader import add_config_argument, load_config
from core.errors import ConfigError
from core.logs import setup_logging
from notify.events import Crash

log = logging.getLogger("collector")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m collector",
        description="Collect candles for every configured instrument, write CSVs and data_ready markers.",
    )
    add_config_argument(parser)
    parser.add_argument(
        "--backfill",
        action="store_true",
        help="resume/backfill the CSVs up to the last closed bar, then exit",
    )
    parser.add_argument(
        "--progress",
        choices=("auto", "on", "off"),
        default="auto",
        help="backfill progress bar (auto: on a TTY)",
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING ... (default INFO)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        cfg = load_config(args.config, check_credentials=False)
    except ConfigError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return 2
    setup_logging(PROCESS, cfg.logs_dir, level=args.log_level.upper())
    progress = {"auto": None, "on": True, "off": False}[args.progress]
    try:
        service = CollectorService(cfg, progress=progress)
    except ConfigError as exc:
        log.error("configuration error: %s", exc)
        return 2
    with service:
        if args.backfill:
            report = service.backfill()
            for inst, reason in sorted(report.failed.items()):
                log.error("%s: %s", inst, reason)
            return 0 if report.ok else 1

        def on_signal(signum: int, frame: FrameType | None) -> None:
            service.request_stop(f"received {signal.Signals(signum).name}")

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        try:
            service.serve()
        except Exception as exc:
            log.exception("collector crashed")
            service.notify(Crash(PROCESS, f"{type(exc).__name__}: {exc}", traceback.format_exc()))
            return 1
    log.info("collector stopped: %s", service.stop_reason or "done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
