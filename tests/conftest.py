"""Root conftest: loads the shared fixture plugins in tests/plugins/ (one module per component)
and keeps the process-wide logging configuration from leaking between tests."""

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = sorted(
    f"tests.plugins.{p.stem}" for p in (Path(__file__).parent / "plugins").glob("[!_]*.py")
)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Tests that call setup_logging() or lower levels must not change what later tests see."""
    root = logging.getLogger()
    root_level, root_handlers = root.level, list(root.handlers)
    levels = {
        name: logger.level
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    yield
    for handler in list(root.handlers):
        if handler not in root_handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(root_level)
    for name, logger in logging.root.manager.loggerDict.items():
        if isinstance(logger, logging.Logger):
            logger.setLevel(levels.get(name, logging.NOTSET))
