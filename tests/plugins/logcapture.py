"""``collected``: every stdlib log record at DEBUG, formatted with no redaction of its own, so a
test can prove that no secret reaches a log line through any logger."""

import logging
from collections.abc import Iterator

import pytest


class Collect(logging.Handler):
    """Every stdlib record, formatted without any redaction of its own."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def collected() -> Iterator[Collect]:
    handler, root = Collect(), logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old)
