"""The resampler against OKX itself (issue 12, item 9): every real file of one fetch in
``tests/fixtures/okx-real/okx-klines/<commit>/`` (a copy of ``/work/shared/fixtures/okx-real``; see
its README) is resampled into every larger real file of the same fetch and must equal OKX's own
bar on every field present (``volCcyQuote`` was not kept by the source)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from core.bars import Bar
from core.intervals import Interval, parse_interval
from core.resample import resample

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "okx-real" / "okx-klines"
HK = "Asia/Shanghai"  # OKX's 1D opens at 16:00 UTC
_NAMES = {"1H": "1h", "4H": "4h", "1D": "1d"}


def _interval(code: str) -> Interval:
    return parse_interval(_NAMES.get(code, code))


def _load(path: Path) -> dict[datetime, Bar]:
    """Confirmed bars of one file; numbers went through a float in the source (exact values)."""
    rows = json.loads(path.read_text(encoding="utf-8"))["data"]
    out = {}
    for r in rows:
        if r["confirm"] != "1":
            continue
        ts = datetime.fromtimestamp(r["ts"] / 1000, tz=UTC)
        num = [Decimal(str(r[k])) for k in ("open", "high", "low", "close", "vol", "volCcy")]
        out[ts] = Bar(ts, *num, volume_quote=Decimal(0))
    return out


def _pairs() -> list[tuple[str, str, str]]:
    out = []
    for folder in sorted(p for p in ROOT.iterdir() if p.is_dir()):
        files = {}
        for f in folder.glob("data_*.json"):
            _, coin, bar = f.stem.split("_")
            files[(coin, bar)] = f
        for coin, small in sorted(files):
            for coin2, large in sorted(files):
                if coin2 == coin and _interval(large) > _interval(small):
                    out.append((folder.name, f"{coin}_{small}", f"{coin}_{large}"))
    return out


PAIRS = _pairs()


def test_the_fixture_holds_every_fetch() -> None:
    assert len({p[0] for p in PAIRS}) == 3
    assert len(PAIRS) == 44  # 2 x C(7,2) BTC/ETH pairs + 2 LINK 1m->5m


@pytest.mark.parametrize(("folder", "small", "large"), PAIRS)
def test_resampled_bars_equal_okx_bars(folder: str, small: str, large: str) -> None:
    base_iv, big_iv = _interval(small.split("_")[1]), _interval(large.split("_")[1])
    base = _load(ROOT / folder / f"data_{small}.json")
    okx = _load(ROOT / folder / f"data_{large}.json")
    ours = [b for b in resample(base.values(), base_iv, big_iv, HK) if b.ts in okx]
    if base_iv.name == "1m" and big_iv.name == "1d":
        assert ours == []  # 5 h of minutes never cover a whole day
        return
    assert ours, "no bin of the larger file is covered by the smaller one"
    for bar in ours:
        expected = okx[bar.ts]
        got = (bar.open, bar.high, bar.low, bar.close, bar.volume, bar.volume_ccy)
        want = (expected.open, expected.high, expected.low, expected.close, expected.volume,
                expected.volume_ccy)  # fmt: skip
        assert got == want, f"{large} bar {bar.ts.isoformat()}"


def test_the_two_known_tradeless_minutes_are_in_the_data() -> None:
    """Guards the test itself: LINK 1m 04:55 and 10:10 (UTC) are flat, zero-volume minutes."""
    seen = []
    for folder in ("05d6aa9f8c4e53a1df7a5ef2834c8c491b4f7f66", "a9347f404f496894be8f1a36ef881e248bdf82f1"):
        bars = _load(ROOT / folder / "data_link_1m.json")
        seen += [b.ts.strftime("%H:%M") for b in bars.values()
                 if b.volume == 0 and b.ts.minute % 5 == 0]  # fmt: skip
    assert {"04:55", "10:10"} <= set(seen)
