"""The sliding-window limiter, with a fake clock; the file store shared like two processes would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.clock import FakeClock
from notify.ratelimit import FileWindowStore, MemoryWindowStore, SlidingWindowLimiter

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def test_twenty_per_window_then_refused_until_the_oldest_leaves() -> None:
    clock = FakeClock(T0)
    limiter = SlidingWindowLimiter(20, 60.0)
    for _ in range(20):
        assert limiter.try_acquire(clock.now())
        clock.advance(1.0)
    now = clock.now()  # T0 + 20 s
    assert limiter.remaining(now) == 0
    assert not limiter.try_acquire(now)
    assert limiter.wait_s(now) == pytest.approx(40.0)  # the post at T0 leaves the window at T0 + 60
    clock.advance(40.0)
    assert limiter.remaining(clock.now()) == 1
    assert limiter.try_acquire(clock.now())
    assert not limiter.try_acquire(clock.now())


@pytest.mark.parametrize(("max_events", "window_s"), [(1, 1.0), (5, 10.0), (20, 61.0)])
def test_no_window_ever_holds_more_than_the_maximum(max_events: int, window_s: float) -> None:
    clock = FakeClock(T0)
    limiter = SlidingWindowLimiter(max_events, window_s)
    accepted = []
    for _ in range(500):
        if limiter.try_acquire(clock.now()):
            accepted.append(clock.now())
        clock.advance(window_s / 37)
    for i, start in enumerate(accepted):
        assert sum(1 for t in accepted[i:] if t - start < timedelta(seconds=window_s)) <= max_events


def test_hold_refuses_until_it_ends() -> None:
    clock = FakeClock(T0)
    limiter = SlidingWindowLimiter(20, 60.0)
    limiter.hold(T0 + timedelta(seconds=90))
    assert limiter.remaining(clock.now()) == 0
    assert limiter.wait_s(clock.now()) == pytest.approx(90.0)
    assert not limiter.try_acquire(clock.now())
    clock.advance(90)
    assert limiter.try_acquire(clock.now())


def test_invalid_limits() -> None:
    with pytest.raises(ValueError, match="max_events"):
        SlidingWindowLimiter(0)
    with pytest.raises(ValueError, match="window_s"):
        SlidingWindowLimiter(1, 0)


def test_file_store_is_shared_between_limiters(tmp_path: Path) -> None:
    # two processes on one robot = two limiters over the same file
    path = tmp_path / "notify" / "dingtalk-robot.json"
    a = SlidingWindowLimiter(20, 60.0, FileWindowStore(path))
    b = SlidingWindowLimiter(20, 60.0, FileWindowStore(path))
    clock = FakeClock(T0)
    taken = 0
    for i in range(40):
        limiter = a if i % 2 else b
        taken += limiter.try_acquire(clock.now())
        clock.advance(0.5)
    assert taken == 20
    a.hold(clock.now() + timedelta(seconds=600))
    clock.advance(120)
    assert b.remaining(clock.now()) == 0  # the pause is shared too


def test_file_store_survives_a_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    path.write_text("{not json", encoding="utf-8")
    limiter = SlidingWindowLimiter(2, 60.0, FileWindowStore(path))
    assert limiter.try_acquire(T0)
    assert limiter.remaining(T0) == 1


def test_memory_store_is_the_default() -> None:
    assert isinstance(SlidingWindowLimiter(3).store, MemoryWindowStore)


def test_a_pause_far_in_the_future_is_ignored_not_obeyed_forever(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A pause written under a wrong clock (or a hand-edited file) must not silence the robot."""
    import json

    path = tmp_path / "dingtalk-robot.json"
    path.write_text(json.dumps({"posts": [], "hold_until": (T0 + timedelta(days=30)).timestamp()}))
    limiter = SlidingWindowLimiter(20, 61.0, FileWindowStore(path))
    assert limiter.remaining(T0) == 20
    assert limiter.try_acquire(T0)
    assert "ignoring it" in caplog.text
    assert json.loads(path.read_text())["hold_until"] == 0.0
    limiter.hold(T0 + timedelta(minutes=10))  # a real "too fast" pause is still obeyed
    assert limiter.remaining(T0 + timedelta(minutes=5)) == 0
    assert limiter.remaining(T0 + timedelta(minutes=11)) == 20


def test_a_removed_window_file_is_recreated_not_fatal_to_every_post(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Deleting data/notify/ under a running process used to make every update raise (the robot
    then never posted again, with a traceback a second)."""
    import shutil

    state_dir = tmp_path / "notify"
    limiter = SlidingWindowLimiter(20, 61.0, FileWindowStore(state_dir / "dingtalk-robot.json"))
    assert limiter.try_acquire(T0)
    shutil.rmtree(state_dir)
    assert limiter.try_acquire(T0 + timedelta(seconds=1))
    assert limiter.remaining(T0 + timedelta(seconds=2)) == 19
    assert "disappeared; recreating it" in caplog.text
