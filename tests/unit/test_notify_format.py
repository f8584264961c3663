"""Pure formatting: every event, keyword, truncation, redaction, digests and the report cadence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal as D

import pytest

from core.redaction import register_secret
from notify.events import (
    BarReport,
    Crash,
    DataAlert,
    Event,
    OrderLine,
    OrderRejected,
    PositionLine,
    ProcessStarted,
    ProcessStopped,
)
from notify.format import (
    MAX_TEXT_BYTES,
    MAX_TITLE_CHARS,
    TRUNCATION_NOTE,
    ReportCadence,
    format_digest,
    format_event,
    take_digest,
    truncate_text,
    utc_iso,
)

BAR = datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
ORDER = OrderLine(
    "BTC-USDT-SWAP", "buy", "long", D("2"), D("1.5"), D("65012.30"), "partially_filled", "s1b1x"
)
POSITION = PositionLine("ETH-USDT-SWAP", "short", D("10"), D("3050.5"), D("-12.345"))


def _report(**kw: object) -> BarReport:
    base: dict[str, object] = {"account": "sub1", "bar_close": BAR, "equity": D("10234.5678")}
    base.update(kw)
    return BarReport(**base)  # type: ignore[arg-type]


EVENTS: list[tuple[Event, list[str]]] = [
    (ProcessStarted("collector", "3 instruments, 1m/5m"), ["collector", "started", "3 instruments"]),
    (ProcessStopped("trader-sub1", "SIGTERM"), ["trader-sub1", "stopped", "SIGTERM"]),
    (
        _report(orders=(ORDER,), positions=(POSITION,), signals=(("BTC-USDT-SWAP", 1),)),
        ["sub1", "2024-05-01T08:30:00Z", "10234.57", "订单信息", "持仓信息", "BTC-USDT-SWAP", "65012.3"],
    ),
    (
        OrderRejected("sub2", "ETH-USDT-SWAP", "s2e7", "51008", "Insufficient margin"),
        ["sub2", "rejected", "ETH-USDT-SWAP", "s2e7", "51008", "Insufficient margin"],
    ),
    (DataAlert("collector", "marker_late", "60 s late", "BTC-USDT-SWAP", "1m"), ["Marker late", "60 s late"]),
    (DataAlert("collector", "instrument_failed", "HTTP 502 x5", "SOL-USDT-SWAP"), ["Instrument failed"]),
    (DataAlert("collector", "gap_repaired", "3 bars", "BTC-USDT-SWAP", "5m"), ["Gap repaired", "3 bars"]),
    (DataAlert("collector", "verification_mismatch", "close differs", "BTC-USDT-SWAP"), ["mismatch"]),
    (DataAlert("trader-sub1", "stale_data", "last bar 08:25", "BTC-USDT-SWAP", "1m"), ["Stale data"]),
    (DataAlert("collector", "something_new", "odd"), ["something_new", "odd"]),
    (
        Crash(
            "trader-sub1",
            "ValueError: boom",
            'Traceback (most recent call last):\n  File "x.py"\nValueError: boom',
        ),
        ["crashed", "ValueError: boom", 'File "x.py"'],
    ),
]


@pytest.mark.parametrize(("event", "expected"), EVENTS, ids=[type(e).__name__ for e, _ in EVENTS])
def test_every_event_formats_with_its_facts_and_keyword(event: Event, expected: list[str]) -> None:
    title, text = format_event(event, keyword="okxfleet")
    assert title.startswith("[okxfleet] ")
    assert len(title) <= MAX_TITLE_CHARS
    assert text.startswith("#### okxfleet | ")
    for needle in expected:
        assert needle in text
    assert len(text.encode("utf-8")) <= MAX_TEXT_BYTES
    assert "\n" not in title


def test_without_keyword_there_is_no_prefix() -> None:
    title, text = format_event(ProcessStarted("collector"))
    assert title == "collector started 启动"
    assert text.startswith("#### collector started")


def test_queued_time_line_is_utc() -> None:
    _, text = format_event(
        ProcessStarted("collector"), at=datetime(2024, 5, 1, 16, 0, 5, tzinfo=timezone(timedelta(hours=8)))
    )
    assert text.endswith("_at 2024-05-01T08:00:05Z_")


def test_bar_report_lists_each_order_and_position() -> None:
    _, text = format_event(_report(orders=(ORDER,), positions=(POSITION,)))
    lines = text.split("\n\n")
    order = next(line for line in lines if line.startswith("- BTC-USDT-SWAP"))
    assert order == "- BTC-USDT-SWAP buy/long sz 2 filled 1.5 @ 65012.3 · partially_filled · s1b1x"
    position = next(line for line in lines if line.startswith("- ETH-USDT-SWAP"))
    assert position == "- ETH-USDT-SWAP short 10 entry 3050.5 uPnL -12.35"
    assert "**Equity 账户权益** 10234.57" in lines


def test_bar_report_without_orders_or_positions() -> None:
    title, text = format_event(
        _report(signals=(("BTC-USDT-SWAP", None),), skipped=("SOL-USDT-SWAP: marker late",))
    )
    assert "订单信息" not in text
    assert "- none 无持仓" in text
    assert "keep" in text
    assert "SOL-USDT-SWAP: marker late" in text
    assert "order" not in title


def test_bar_report_with_unknown_prices() -> None:
    order = OrderLine("BTC-USDT-SWAP", "sell", "net", D("1"), D("0"), None, "live", "c1")
    position = PositionLine("BTC-USDT-SWAP", "long", D("1"), None, None)
    _, text = format_event(_report(orders=(order,), positions=(position,), equity=D("0.5")))
    assert "filled 0 @ - · live" in text
    assert "entry - uPnL -" in text
    assert "**Equity 账户权益** 0.5" in text


def test_naive_bar_close_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        format_event(_report(bar_close=datetime(2024, 5, 1, 8, 30)))  # noqa: DTZ001


def test_crash_shows_only_the_end_of_a_long_traceback() -> None:
    tb = "Traceback (most recent call last):\n" + "\n".join(
        f'  File "m{i}.py", line {i}' for i in range(5000)
    )
    _, text = format_event(Crash("collector", "RuntimeError: x", tb + "\nRuntimeError: x"))
    assert "RuntimeError: x" in text
    assert 'File "m4999.py"' in text
    assert 'File "m10.py"' not in text
    assert "earlier traceback lines" in text
    assert len(text.encode("utf-8")) < 5000


def test_huge_report_is_truncated_on_a_line_boundary() -> None:
    orders = tuple(
        OrderLine(f"COIN{i}-USDT-SWAP", "buy", "long", D(i + 1), D(i + 1), D("1.23"), "filled", f"id{i}")
        for i in range(600)
    )
    _, text = format_event(_report(orders=orders), keyword="okxfleet")
    assert len(text.encode("utf-8")) <= MAX_TEXT_BYTES
    assert text.endswith(TRUNCATION_NOTE)
    body_lines = text.split("\n\n")[:-1]
    assert body_lines[-1].endswith("filled · id" + body_lines[-1].rsplit("id", 1)[1])  # a whole order line
    assert text.startswith("#### okxfleet | ")


@pytest.mark.parametrize("line", ["ascii line of text", "持仓信息持仓信息持仓信息", "mixed 混合 🚀 line"])
def test_truncate_text_counts_utf8_bytes_and_keeps_whole_lines(line: str) -> None:
    text = "\n".join(f"{i} {line}" for i in range(5000))
    out = truncate_text(text, 1000)
    assert len(out.encode("utf-8")) <= 1000
    assert out.endswith(TRUNCATION_NOTE)
    kept = out[: -len(TRUNCATION_NOTE)].rstrip("\n").split("\n")
    assert kept == text.split("\n")[: len(kept)]


def test_truncate_text_leaves_short_text_alone() -> None:
    assert truncate_text("a\nb", 10) == "a\nb"
    exact = "x" * 100
    assert truncate_text(exact, 100) == exact


def test_truncate_text_cuts_inside_a_single_huge_line_on_a_character_boundary() -> None:
    out = truncate_text("持" * 10_000, 1000)
    assert len(out.encode("utf-8")) <= 1000
    assert out.startswith("持持持")
    assert out.endswith(TRUNCATION_NOTE)
    out.encode("utf-8").decode("utf-8")  # still valid UTF-8


def test_secrets_and_webhook_tokens_never_appear() -> None:
    secret = "SEC" + "ab12cd34" * 8  # the shape of a DingTalk signing secret
    api_secret = "unit-test-registered-secret-4821"
    register_secret(api_secret)
    url = "https://oapi.dingtalk.com/robot/send?access_token=f00dfeed0123456789abcdef"
    events: list[Event] = [
        DataAlert(
            "collector", "instrument_failed", f"GET {url} failed with key {api_secret}", "BTC-USDT-SWAP"
        ),
        Crash(
            "trader-sub1",
            f"HTTPError: {url}",
            f"Traceback\n  secret={secret}\n  {api_secret}\nHTTPError: {url}",
        ),
        OrderRejected("sub1", "BTC-USDT-SWAP", "c1", "50113", f"bad sign {secret}"),
        ProcessStopped(f"trader {api_secret}", f"webhook {url}"),
    ]
    for event in events:
        title, text = format_event(event, keyword="okxfleet")
        for leaked in (secret, api_secret, "f00dfeed0123456789abcdef"):
            assert leaked not in title
            assert leaked not in text


def test_take_digest_packs_in_order_and_never_loses_a_message() -> None:
    messages = [
        format_event(DataAlert("collector", "marker_late", f"event-{i:03d}"), keyword="kw")
        for i in range(300)
    ]
    rest, posts = list(messages), []
    while rest:
        used, (title, text) = take_digest(rest, keyword="kw", source="collector")
        assert used >= 1
        assert len(text.encode("utf-8")) <= MAX_TEXT_BYTES
        assert "kw" in title
        assert "kw" in text
        posts.append(text)
        rest = rest[used:]
    assert 1 < len(posts) < 300
    joined = "\n".join(posts)
    for i in range(300):
        assert joined.count(f"event-{i:03d}") == 1


def test_take_digest_returns_a_single_message_unchanged() -> None:
    message = format_event(ProcessStarted("collector"))
    assert take_digest([message]) == (1, message)
    big = ("big", "x" * (MAX_TEXT_BYTES - 10))
    used, out = take_digest([big, message])
    assert (used, out) == (1, big)


def test_format_digest_merges_under_one_title() -> None:
    messages = [format_event(ProcessStarted(f"p{i}")) for i in range(3)]
    title, text = format_digest(messages, keyword="kw", source="trader-sub1")
    assert title == "[kw] Digest 汇总 · 3 messages from trader-sub1"
    assert all(m[1] in text for m in messages)


@pytest.mark.parametrize(
    ("every", "hhmm", "ordered", "tz", "due"),
    [
        (30, "08:30", False, "UTC", True),
        (30, "08:00", False, "UTC", True),
        (30, "08:15", False, "UTC", False),
        (30, "08:15", True, "UTC", True),
        (1, "08:17", False, "UTC", True),
        (15, "08:45", False, "UTC", True),
        (60, "08:30", False, "UTC", False),
        (0, "00:00", False, "UTC", False),
        (0, "08:17", True, "UTC", True),
        (1440, "00:00", False, "UTC", True),
        (1440, "16:00", False, "UTC", False),
        (1440, "16:00", False, "Asia/Shanghai", True),  # midnight in Shanghai
        (360, "00:00", False, "Asia/Shanghai", False),  # 08:00 Shanghai
        (360, "22:00", False, "Asia/Shanghai", True),  # 06:00 Shanghai
        (240, "00:00", False, "Asia/Shanghai", True),  # 08:00 Shanghai
    ],
)
def test_report_cadence(every: int, hhmm: str, ordered: bool, tz: str, due: bool) -> None:
    hour, minute = map(int, hhmm.split(":"))
    bar_close = datetime(2024, 5, 1, hour, minute, tzinfo=UTC)
    assert ReportCadence(every, tz=tz).due(bar_close, ordered) is due


def test_report_cadence_for_a_report_and_bad_input() -> None:
    cadence = ReportCadence(30)
    assert cadence.due_for(_report(bar_close=datetime(2024, 5, 1, 8, 1, tzinfo=UTC), orders=(ORDER,)))
    assert not cadence.due_for(_report(bar_close=datetime(2024, 5, 1, 8, 1, tzinfo=UTC)))
    with pytest.raises(ValueError, match=">= 0"):
        ReportCadence(-1)
    with pytest.raises(ValueError, match="naive"):
        cadence.due(datetime(2024, 5, 1, 8, 30), False)  # noqa: DTZ001


def test_utc_iso() -> None:
    assert (
        utc_iso(datetime(2024, 5, 1, 16, 0, 0, 999, tzinfo=timezone(timedelta(hours=8))))
        == "2024-05-01T08:00:00Z"
    )
