"""Shared rig for the fleet end-to-end and chaos tests (no tests here).

- set-up: :func:`free_port`, :func:`write_config` (a simulator-mode ``config.py`` in a temp
  directory), :class:`FleetProcess` (``python -m scripts.fleet`` as a subprocess),
  :class:`SupervisedFleet` (the same fleet under a :class:`scripts.supervisor.Supervisor` the test
  drives: kill, restart, stop) and the process helpers (:func:`child_pids`, :func:`alive`,
  :func:`processes_mentioning`, :func:`kill_leftovers`);
- readers of what the fleet leaves on disk, independent of the code that wrote it: :func:`read_csv`
  (the candle CSV contract), :func:`read_markers`, :class:`MarkerWatch` (every version of every
  marker as it appears), :func:`read_journal` / :class:`JournalView` (plain SQL on a journal);
- the simulator side: :func:`sim_clock` (the shared virtual clock), :func:`native_bars` and
  :func:`collect_native` (what the simulator itself serves for each bar), :func:`positions`
  (signed with :class:`simulator.testing.RawOkx`, not with ``exchange/``), :func:`quiet_snapshot`
  (orders and positions at a moment when no cycle runs);
- the invariants: :func:`check_candles`, :func:`check_native`, :func:`check_signals`,
  :func:`check_orders`, :func:`check_positions`.

Time: every fleet process and the simulator share one accelerated virtual clock
(``OKXFLEET_CLOCK``); journal and marker times, ``/__sim/orders`` ``ts`` and bar closes are all
virtual. Waiting is always polling with a wall-clock timeout, never a fixed sleep.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import itertools
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import requests

from config.credentials import simulator_credentials
from config.schema import FleetConfig
from core.clock import ScaledClock, from_ms, to_ms
from core.intervals import floor_to_bar, parse_interval
from core.markers import Marker
from scripts.supervisor import Child
from simulator.control import SimControl
from simulator.testing import RawOkx
from trader.clordid import bar_key, is_ours, parse

__all__ = [
    "BAND",
    "ROOT",
    "AccountPlan",
    "CsvBar",
    "FleetProcess",
    "JournalView",
    "MarkerWatch",
    "Snapshot",
    "StrategyPlan",
    "SupervisedFleet",
    "alive",
    "candle_files",
    "check_candles",
    "check_native",
    "check_orders",
    "check_positions",
    "check_signals",
    "child_pids",
    "collect_native",
    "done_cycles",
    "free_port",
    "kill_leftovers",
    "marker_index",
    "native_bars",
    "positions",
    "processes_mentioning",
    "quiet_snapshot",
    "read_csv",
    "read_journal",
    "read_markers",
    "sim_clock",
    "stray_files",
    "wait_for",
    "write_config",
]

ROOT = Path(__file__).resolve().parents[2]
BAND = Decimal("0.1")  # trader.diff.DEFAULT_BAND: a position this close to its size is not re-traded
CSV_COLUMNS = ("candle_begin_time", "open", "high", "low", "close", "volume", "volume_ccy", "volume_quote")


# ---- set-up ----------------------------------------------------------------------------------
def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class StrategyPlan:
    inst_id: str
    name: str = "sma_cross"
    params: Mapping[str, int] = field(default_factory=lambda: {"fast": 2, "slow": 4})
    leverage: int = 2


@dataclass(frozen=True)
class AccountPlan:
    name: str
    interval: str
    strategies: tuple[StrategyPlan, ...]
    order_type: str = "limit"


def write_config(
    directory: Path,
    *,
    port: int,
    accounts: Sequence[AccountPlan],
    history_bars: int = 30,
    marker_deadline_s: float = 50.0,
    order_wait_s: float = 10.0,
    timeout_s: float = 3.0,
    report_every_minutes: int = 1,
    volatility_ratio: str = "0.98",
    order_exp_s: float = 5.0,
) -> Path:
    """``directory/config.py``: simulator mode on ``port``, data under ``directory/data``, the
    default DingTalk robot from ``DINGTALK_WEBHOOK``/``DINGTALK_SECRET`` (keyword ``okxfleet``).

    ``volatility_ratio`` below 1 leaves margin unused, so a duplicate order would fill (and be
    seen) instead of being refused for margin."""
    lines = []
    for acct in accounts:
        strategies = "".join(
            f"        Strategy({s.inst_id!r}, {s.name!r}, params={dict(s.params)!r}, "
            f"leverage={s.leverage}),\n"
            for s in acct.strategies
        )
        lines.append(
            f"    {acct.name!r}: Account(\n"
            f"        credentials={'OKX_E2E_' + acct.name.upper()!r},\n"
            f"        interval={acct.interval!r},\n"
            f"        strategies=[\n{strategies}        ],\n"
            f"        trader=Trader(order_type={acct.order_type!r}),\n"
            "    ),\n"
        )
    text = (
        '"""okxfleet e2e fleet (written by tests/e2e/fleet_harness.py)."""\n'
        "import tests.e2e.fleet_strategy  # noqa: F401  registers e2e_regime\n"
        "from config import Account, Collector, DingTalk, Exchange, Notify, Strategy, Trader\n\n"
        f"EXCHANGE = Exchange(mode='simulator', base_url='http://127.0.0.1:{port}', timeout_s={timeout_s})\n"
        f"DATA_DIR = {str(directory / 'data')!r}\n"
        "MAX_LEVERAGE = 5\n"
        f"COLLECTOR = Collector(history_bars={history_bars})\n"
        f"TRADER = Trader(marker_deadline_s={marker_deadline_s}, order_wait_s={order_wait_s}, "
        f"reprice_attempts=3, slippage='0.002', volatility_ratio={volatility_ratio!r}, "
        f"order_exp_s={order_exp_s})\n"
        "NOTIFY = Notify(\n"
        "    dingtalk=DingTalk(\n"
        "        webhook_env='DINGTALK_WEBHOOK', secret_env='DINGTALK_SECRET', keyword='okxfleet'\n"
        "    ),\n"
        f"    report_every_minutes={report_every_minutes},\n"
        ")\n"
        "ACCOUNTS = {\n" + "".join(lines) + "}\n"
    )
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.py"
    path.write_text(text, encoding="utf-8")
    return path


def wait_for(what: str, pred: Callable[[], Any], timeout_s: float, poll_s: float = 0.2) -> Any:
    """Poll ``pred`` until it returns something truthy (returned); AssertionError on timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = pred()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(poll_s)


# ---- processes -------------------------------------------------------------------------------
def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rfind(")") + 2 :].split()  # after "pid (comm) ": state, ppid, pgrp, ...


def alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def child_pids(parent: int) -> dict[int, str]:
    """``{pid: cmdline}`` of the direct children of ``parent``."""
    out = {}
    for pid in _pids():
        fields = _stat_fields(pid)
        if fields is not None and int(fields[1]) == parent:
            out[pid] = _cmdline(pid)
    return out


def processes_mentioning(text: str) -> dict[int, str]:
    """Live processes (not this one) whose command line contains ``text``."""
    me = os.getpid()
    return {pid: cmd for pid in _pids() if pid != me and text in (cmd := _cmdline(pid)) and alive(pid)}


class FleetProcess:
    """``python -m scripts.fleet --config PATH --with-simulator ...`` in its own process group."""

    def __init__(
        self,
        config: Path,
        out: Path,
        *,
        env: Mapping[str, str],
        speed: float,
        seed: int = 7,
        status_every: float = 2.0,
        extra: Sequence[str] = (),
    ) -> None:
        self.argv = [
            sys.executable, "-m", "scripts.fleet", "--config", str(config), "--with-simulator",
            "--speed", f"{speed:g}", "--seed", str(seed), "--status-every", f"{status_every:g}", *extra,
        ]  # fmt: skip
        self.out_path = out
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.proc: subprocess.Popen[bytes] | None = None
        self._out: IO[bytes] | None = None

    def start(self) -> None:
        self._out = self.out_path.open("wb")
        self.proc = subprocess.Popen(
            self.argv, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=self._out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def output(self) -> str:
        return self.out_path.read_text(encoding="utf-8", errors="replace")

    def children(self) -> dict[int, str]:
        return child_pids(self.pid)

    def stop(self, timeout_s: float = 60.0) -> int:
        """SIGTERM (what Ctrl-C / systemd send) and wait; SIGKILL the whole group on a timeout."""
        assert self.proc is not None
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
                raise AssertionError(f"the fleet did not stop within {timeout_s:.0f}s of SIGTERM") from None
        finally:
            if self._out is not None:
                self._out.close()
                self._out = None

    def kill_everything(self) -> None:
        """Last-resort cleanup: SIGKILL the fleet's process group (its children, each in a group
        of its own, get SIGTERM from the kernel when it dies; :func:`kill_leftovers` does the rest)."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        if self._out is not None:
            self._out.close()
            self._out = None


def kill_leftovers(text: str) -> dict[int, str]:
    """SIGKILL every process whose command line contains ``text``; returns what was found."""
    found = processes_mentioning(text)
    for pid in found:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return found


# ---- what the fleet leaves on disk -------------------------------------------------------------
@dataclass(frozen=True)
class CsvBar:
    ts: datetime  # candle_begin_time, UTC
    text_ts: str
    values: tuple[Decimal, ...]  # open, high, low, close, volume, volume_ccy, volume_quote

    @property
    def close(self) -> Decimal:
        return self.values[3]


def read_csv(path: Path) -> list[CsvBar]:
    """Every row of a candle CSV, parsed strictly (header, 8 fields, offset-aware times)."""
    with path.open(encoding="utf-8", newline="") as fh:
        text = fh.read()
    assert text.endswith("\n"), f"{path.name}: last row is torn"
    rows = list(csv.reader(text.splitlines()))
    assert rows, f"{path.name} is empty"
    assert tuple(rows[0]) == CSV_COLUMNS, f"{path.name}: header {rows[0]}"
    out = []
    for number, row in enumerate(rows[1:], start=2):
        assert len(row) == len(CSV_COLUMNS), f"{path.name}:{number}: {row}"
        ts = datetime.fromisoformat(row[0])
        assert ts.tzinfo is not None, f"{path.name}:{number}: time without offset {row[0]!r}"
        out.append(CsvBar(ts.astimezone(UTC), row[0], tuple(Decimal(v) for v in row[1:])))
    return out


def read_markers(root: Path, interval: str) -> list[Marker]:
    """Every marker of ``interval``, by bar close; each file's name must match its content."""
    folder = root / interval
    out = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        marker = Marker.from_json(path.read_text(encoding="utf-8"))
        assert path.stem == marker.bar_close.strftime("%Y%m%dT%H%M%SZ"), path.name
        assert marker.interval == interval
        out.append(marker)
    return out


def stray_files(folder: Path, suffix: str) -> list[str]:
    """Files in ``folder`` (recursively) not ending in ``suffix``: temp files left behind."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.suffix != suffix)


class MarkerWatch:
    """Records every version of every marker file as it appears (a thread polling every
    ``poll_s``), so a marker the collector rewrote later (a cycle re-run after a restart) is still
    known with the ``created_at`` of its first version."""

    def __init__(self, root: Path, intervals: Sequence[str], poll_s: float = 0.02) -> None:
        self.root = root
        self.intervals = tuple(intervals)
        self.poll_s = poll_s
        self.versions: dict[tuple[str, datetime], list[Marker]] = defaultdict(list)
        self._seen: dict[Path, tuple[int, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="marker-watch", daemon=True)

    def __enter__(self) -> MarkerWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.scan()

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            self.scan()

    def scan(self) -> None:
        for interval in self.intervals:
            folder = self.root / interval
            for path in folder.glob("*.json") if folder.is_dir() else ():
                try:
                    st = path.stat()
                    key = (st.st_ino, st.st_mtime_ns)
                    if self._seen.get(path) == key:
                        continue
                    marker = Marker.from_json(path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue  # replaced while being read: the next scan sees the new one
                self._seen[path] = key
                versions = self.versions[(interval, marker.bar_close)]
                if not versions or versions[-1] != marker:
                    versions.append(marker)

    def first(self, interval: str) -> dict[datetime, Marker]:
        """Each bar's marker as first written."""
        return {close: v[0] for (iv, close), v in self.versions.items() if iv == interval}

    def rewritten(self) -> dict[tuple[str, datetime], list[Marker]]:
        return {k: v for k, v in self.versions.items() if len(v) > 1}


class JournalView:
    """Plain SQL on one trader journal (the schema of trader/journal_schema.py)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(str(path), timeout=10)
        self.db.row_factory = sqlite3.Row

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> JournalView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.execute(sql, params)]

    def cycles(self) -> list[dict[str, Any]]:
        return self.rows("SELECT * FROM cycles ORDER BY bar_close")

    def signals(self) -> list[dict[str, Any]]:
        return self.rows("SELECT * FROM signals ORDER BY bar_close, inst_id")

    def orders(self) -> list[dict[str, Any]]:
        return self.rows("SELECT * FROM orders ORDER BY created_at, cl_ord_id")

    def fills(self) -> list[dict[str, Any]]:
        return self.rows("SELECT * FROM fills ORDER BY ts")

    def targets(self) -> list[dict[str, Any]]:
        return self.rows("SELECT * FROM targets ORDER BY inst_id")


def journal_path(cfg: FleetConfig, account: str) -> Path:
    return cfg.journal_dir / f"{account}.sqlite"


def read_journal(cfg: FleetConfig, account: str, what: str) -> list[dict[str, Any]]:
    """``cycles``/``signals``/``orders``/``fills``/``targets`` of ``account`` ([] while the
    journal is missing)."""
    path = journal_path(cfg, account)
    if not path.is_file():
        return []
    try:
        with JournalView(path) as view:
            rows: list[dict[str, Any]] = getattr(view, what)()
            return rows
    except sqlite3.OperationalError:  # created, not migrated yet
        return []


def done_cycles(cfg: FleetConfig, account: str, after: datetime | None = None) -> list[datetime]:
    out = []
    for row in read_journal(cfg, account, "cycles"):
        close = datetime.fromisoformat(row["bar_close"])
        if row["status"] == "done" and (after is None or close > after):
            out.append(close)
    return out


# ---- the simulator side ----------------------------------------------------------------------
def sim_clock(control: SimControl) -> ScaledClock:
    """The fleet's virtual clock, as the simulator reports it."""
    reply = control.clock()
    assert reply["mode"] == "running", reply
    return ScaledClock(datetime.now(UTC), from_ms(int(reply["now_ms"])), float(reply["speed"]))


_OKX_BAR = {"1m": "1m", "3m": "3m", "5m": "5m", "15m": "15m", "30m": "30m"}


def native_bars(
    base_url: str, inst_id: str, interval: str, start: datetime, end: datetime
) -> dict[datetime, tuple[Decimal, ...]]:
    """Confirmed bars the simulator serves for ``interval`` with open times in [start, end]."""
    out: dict[datetime, tuple[Decimal, ...]] = {}
    after = to_ms(end) + 1
    with requests.Session() as session:
        while True:
            reply = session.get(
                f"{base_url}/api/v5/market/candles",
                params={"instId": inst_id, "bar": _OKX_BAR[interval], "after": str(after), "limit": "300"},
                timeout=10,
            )
            body = reply.json()
            assert body["code"] == "0", body
            rows = body["data"]
            for row in rows:
                ts = from_ms(row[0])
                if start <= ts <= end and row[8] == "1":
                    out[ts] = tuple(Decimal(v) for v in row[1:8])
            if not rows or from_ms(rows[-1][0]) <= start:
                return out
            after = int(rows[-1][0])


def candle_files(cfg: FleetConfig) -> list[tuple[str, str]]:
    """``(inst, interval)`` of every CSV the collector keeps: the base interval of every
    instrument, and each account's interval for its instruments."""
    files = {(inst, cfg.base_interval.name) for inst in cfg.instruments}
    files |= {(s.inst_id, a.interval) for a in cfg.accounts.values() for s in a.strategies}
    return sorted(files)


def collect_native(cfg: FleetConfig) -> dict[tuple[str, str], dict[datetime, tuple[Decimal, ...]]]:
    """For every candle file: the simulator's own bars over the range the file holds right now."""
    out = {}
    for inst, interval in candle_files(cfg):
        rows = read_csv(cfg.candles_dir / f"{inst}_{interval}.csv")
        out[(inst, interval)] = native_bars(cfg.exchange.url, inst, interval, rows[0].ts, rows[-1].ts)
    return out


def positions(base_url: str, account: str) -> dict[str, Decimal]:
    """The account's signed positions per instrument (from ``/api/v5/account/positions``)."""
    creds = simulator_credentials(account)
    raw = RawOkx(base_url, creds.api_key, creds.secret, creds.passphrase)
    try:
        body = raw.get("/api/v5/account/positions").json()
    finally:
        raw.close()
    assert body["code"] == "0", body
    out: dict[str, Decimal] = defaultdict(Decimal)
    for p in body["data"]:
        pos = Decimal(p["pos"])
        out[p["instId"]] += -abs(pos) if p.get("posSide") == "short" else pos
    return dict(out)


@dataclass
class Snapshot:
    """The simulator's view at a moment when no trader was inside a cycle."""

    at: datetime  # virtual time when taken
    orders: list[dict[str, Any]]
    positions: dict[str, dict[str, Decimal]]
    last_cycles: dict[str, datetime]  # account -> the bar whose cycle was the latest done


def quiet_snapshot(
    cfg: FleetConfig, control: SimControl, clock: ScaledClock, *, after: datetime, timeout_s: float
) -> Snapshot:
    """Orders and positions taken between two base closes, once every account has finished the
    cycle of its latest bar (closing after ``after``) and nothing works at the simulator.

    Retried on the next bar if a close passed while it was being taken."""
    base = cfg.base_interval
    tz = cfg.candle_timezone

    def attempt() -> Snapshot | None:
        now = clock.now()
        close = floor_to_bar(now, base.name, tz)
        if now - close > base.delta * 0.6 or now - close < base.delta * 0.15:
            return None  # too close to the next bar or still settling the last one
        last: dict[str, datetime] = {}
        for name, acct in cfg.accounts.items():
            latest = floor_to_bar(now, acct.interval, tz)
            if latest <= after:
                return None
            rows = {r["bar_close"]: r for r in read_journal(cfg, name, "cycles")}
            row = rows.get(latest.isoformat())
            if row is None or row["status"] != "done":
                return None
            last[name] = latest
        orders = control.orders()
        if any(o["state"] in ("live", "partially_filled") for o in orders):
            return None
        pos = {name: positions(cfg.exchange.url, name) for name in cfg.accounts}
        if floor_to_bar(clock.now(), base.name, tz) != close:
            return None  # a bar closed meanwhile: the picture may be torn
        return Snapshot(now, orders, pos, last)

    result: Snapshot = wait_for("a quiet moment between two bars", attempt, timeout_s, poll_s=0.05)
    return result


# ---- invariants --------------------------------------------------------------------------------
def check_candles(bars: Sequence[CsvBar], interval: str, *, name: str, closed_by: datetime) -> None:
    """Ascending, no duplicates, no gaps, aligned, and only bars that had closed by ``closed_by``."""
    iv = parse_interval(interval)
    assert bars, f"{name}: no rows"
    for prev, cur in itertools.pairwise(bars):
        assert cur.ts - prev.ts == iv.delta, (
            f"{name}: {prev.text_ts} -> {cur.text_ts} (gap, duplicate or out of order)"
        )
    for bar in bars:
        assert to_ms(bar.ts) % (iv.seconds * 1000) == 0, f"{name}: {bar.text_ts} is not a bar open"
        o, h, lo, c = bar.values[:4]
        assert lo <= min(o, c), f"{name}: {bar.text_ts}: low above open/close"
        assert h >= max(o, c), f"{name}: {bar.text_ts}: high below open/close"
    assert bars[-1].ts + iv.delta <= closed_by, f"{name}: forming bar {bars[-1].text_ts} written"


def check_native(bars: Sequence[CsvBar], native: Mapping[datetime, tuple[Decimal, ...]], *, name: str) -> int:
    """Every CSV row inside the native range equals the simulator's own bar, field for field."""
    assert native, f"{name}: the simulator served no bars"
    lo, hi = min(native), max(native)
    compared = 0
    for bar in bars:
        if lo <= bar.ts <= hi:
            assert bar.ts in native, f"{name}: {bar.text_ts} unknown to the simulator"
            assert bar.values == native[bar.ts], f"{name}: {bar.text_ts}: {bar.values} != {native[bar.ts]}"
            compared += 1
    return compared


@dataclass
class OrderReport:
    orders: int = 0
    filled: int = 0
    groups: int = 0
    by_account: Counter[str] = field(default_factory=Counter)


def check_orders(
    cfg: FleetConfig,
    sim_orders: Sequence[dict[str, Any]],
    journals: Mapping[str, Sequence[dict[str, Any]]],
    signals: Mapping[str, Sequence[dict[str, Any]]],
    markers: Mapping[str, Mapping[datetime, Marker]],
    candles: Mapping[tuple[str, str], Sequence[CsvBar]],
) -> OrderReport:
    """The order invariants, from the simulator's own order log:

    1. every clOrdId reached the simulator at most once, and every order is ours;
    2. every order is in its account's journal (same instrument, side, size, type, price);
    3. every order's bar had a marker, written before the order reached the simulator, that vouched
       for the instrument (``ok``, last candle = the bar that closed), and the bar's row is in the
       account's CSV with the close the strategy was given as its signal price;
    4. per (account, instrument, bar, leg): what filled over all attempts is at most the leg's size
       as first planned — no duplicate execution.
    """
    report = OrderReport()
    ids = Counter(o["clOrdId"] for o in sim_orders)
    dupes = {cl: n for cl, n in ids.items() if n > 1}
    assert not dupes, f"clOrdIds sent more than once: {dupes}"
    by_cl = {acct: {r["cl_ord_id"]: r for r in rows} for acct, rows in journals.items()}
    sig = {acct: {(r["bar_close"], r["inst_id"]): r for r in rows} for acct, rows in signals.items()}
    groups: dict[tuple[str, str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for o in sim_orders:
        cl, acct = o["clOrdId"], o["account"]
        assert is_ours(cl), f"foreign order at the simulator: {o}"
        assert acct in cfg.accounts, f"order of an unknown account: {o}"
        row = by_cl[acct].get(cl)
        assert row is not None, f"{acct} {cl} is at the simulator but not in the journal"
        req = o["request"]
        assert req["instId"] == row["inst_id"], (o, row)
        assert o["instId"] in (row["inst_id"], ""), (o, row)  # "" when OKX refused it
        assert req["side"] == row["side"], (o, row)
        assert req["ordType"] == row["ord_type"], (o, row)
        assert Decimal(req["sz"]) == Decimal(row["sz"]), (o, row)
        if row["px"] is not None:
            assert Decimal(req["px"]) == Decimal(row["px"]), (o, row)
        bar_close = datetime.fromisoformat(row["bar_close"])
        assert parse(cl).bar_key == bar_key(acct, row["inst_id"], bar_close)
        assert parse(cl).leg == row["leg"], (o, row)
        assert parse(cl).attempt == row["attempt"], (o, row)
        interval = cfg.accounts[acct].interval
        marker = markers[interval].get(bar_close)
        assert marker is not None, f"{acct} {cl}: no {interval} marker for the bar {bar_close}"
        assert marker.is_ready(row["inst_id"]), f"{acct} {cl}: the marker did not vouch for it: {marker}"
        assert to_ms(marker.created_at) <= int(o["ts"]), (
            f"{acct} {cl}: order at {from_ms(o['ts'])} before the marker ({marker.created_at})"
        )
        bars = {b.ts: b for b in candles[(row["inst_id"], interval)]}
        bar = bars.get(marker.bar_open)
        assert bar is not None, f"{acct} {cl}: no CSV row for the bar opening {marker.bar_open}"
        signal_row = sig[acct].get((row["bar_close"], row["inst_id"]))
        assert signal_row is not None, f"{acct} {cl}: no signal row"
        assert Decimal(signal_row["signal_px"]) == bar.close, (
            f"{acct} {cl}: signal price {signal_row['signal_px']} is not the bar's close {bar.close}"
        )
        groups[(acct, row["inst_id"], row["bar_close"], row["leg"])].append(o)
        report.orders += 1
        report.by_account[acct] += 1
        report.filled += o["state"] == "filled"
    for key, orders in groups.items():
        orders.sort(key=lambda o: o["seq"])
        planned = Decimal(orders[0]["request"]["sz"])
        filled = sum((Decimal(o["order"]["accFillSz"]) for o in orders if o["order"]), Decimal(0))
        assert filled <= planned, (
            f"{key}: {filled} filled over {len(orders)} orders, the leg was {planned}: duplicate execution"
        )
    report.groups = len(groups)
    return report


def check_signals(
    cfg: FleetConfig,
    account: str,
    signals: Sequence[dict[str, Any]],
    markers: Mapping[str, Mapping[datetime, Marker]],
    candles: Mapping[tuple[str, str], Sequence[CsvBar]],
) -> int:
    """Every decision a strategy made (a signal that is not ``skipped``) was made on a bar the
    collector's marker vouched for, at that bar's close in the CSV; returns how many."""
    interval = cfg.accounts[account].interval
    rows = {(inst, b.ts): b for (inst, iv), bars in candles.items() if iv == interval for b in bars}
    checked = 0
    for s in signals:
        if s["status"] == "skipped":
            continue
        close = datetime.fromisoformat(s["bar_close"])
        marker = markers[interval].get(close)
        where = f"{account} {s['inst_id']} bar {s['bar_close']}"
        assert marker is not None, f"{where}: decided without a marker"
        assert marker.is_ready(s["inst_id"]), f"{where}: decided on data the marker did not vouch for"
        bar = rows.get((s["inst_id"], marker.bar_open))
        assert bar is not None, f"{where}: no CSV row for the bar"
        assert Decimal(s["signal_px"]) == bar.close, f"{where}: signal price {s['signal_px']} != {bar.close}"
        checked += 1
    return checked


def expected_positions(cfg: FleetConfig, account: str, bar_close: datetime) -> dict[str, tuple[int, Decimal]]:
    """``inst -> (target, desired)`` as the journal stands for the latest target at or before
    ``bar_close`` (a ``None`` target keeps the previous one)."""
    out: dict[str, tuple[int, Decimal]] = {}
    done = {r["bar_close"] for r in read_journal(cfg, account, "cycles") if r["status"] == "done"}
    for row in read_journal(cfg, account, "signals"):
        if row["bar_close"] not in done or datetime.fromisoformat(row["bar_close"]) > bar_close:
            continue
        if row["target"] is None or row["status"] == "skipped":
            continue
        desired = Decimal(row["desired"]) if row["desired"] is not None else Decimal(0)
        out[row["inst_id"]] = (int(row["target"]), desired)
    return out


def check_positions(cfg: FleetConfig, snap: Snapshot) -> dict[str, dict[str, Decimal]]:
    """Each position at the simulator is the journal's latest target × size (within the trader's
    re-trade band); instruments without a target yet hold nothing."""
    seen: dict[str, dict[str, Decimal]] = {}
    for name, acct in cfg.accounts.items():
        want = expected_positions(cfg, name, snap.last_cycles[name])
        held = snap.positions[name]
        extra = set(held) - {s.inst_id for s in acct.strategies}
        assert not extra, f"{name}: positions in unconfigured instruments {extra}"
        for strat in acct.strategies:
            pos = held.get(strat.inst_id, Decimal(0))
            target, desired = want.get(strat.inst_id, (0, Decimal(0)))
            where = f"{name} {strat.inst_id}: holds {pos}, journal target {target} x {desired}"
            if target == 0:
                assert pos == 0, where
            else:
                assert desired > 0, where + " (never sized)"
                assert pos * target > 0, where + " (wrong side)"
                assert abs(abs(pos) - desired) <= BAND * desired, where + " (not the target size)"
            seen.setdefault(name, {})[strat.inst_id] = pos
    return seen


def marker_index(markers: Iterable[Marker]) -> dict[datetime, Marker]:
    return {m.bar_close: m for m in markers}


class SupervisedFleet:
    """The fleet of ``scripts.fleet`` (same children, same environment) under a
    :class:`scripts.supervisor.Supervisor` driven by the test, so it can kill children and watch
    them come back. Restart backoff is shortened to test scale."""

    def __init__(self, config: Path, *, speed: float, env: Mapping[str, str], seed: int = 7) -> None:
        from scripts.fleet import build

        args = argparse.Namespace(
            config=config, with_simulator=True, seed=seed, speed=speed, no_restart=False
        )
        self.sup, self.log_dir = build(args)
        self.sup.backoff_s, self.sup.backoff_max_s, self.sup.stable_s = 0.5, 4.0, 3.0
        self.sup.grace_s = 30.0
        for child in self.sup.children:
            child.env.update(env)
        self.events: list[str] = []
        self.kills: list[tuple[float, str]] = []

    def child(self, name: str) -> Child:
        return next(c for c in self.sup.children if c.name == name)

    def start(self, timeout_s: float = 60.0) -> None:
        from scripts.fleet import _wait_ready

        for child in self.sup.children:
            out = self.log_dir / f"{child.name}.out"
            offset = out.stat().st_size if out.is_file() else 0
            self.sup.spawn(child)
            if child.stop_last:
                assert _wait_ready(out, child, offset, threading.Event(), timeout_s)

    def poll(self) -> None:
        self.events += self.sup.poll()

    def kill(self, name: str) -> bool:
        """SIGKILL ``name``'s process group if it runs; the supervisor restarts it."""
        child = self.child(name)
        if not child.running or child.proc is None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.proc.pid, signal.SIGKILL)
        self.kills.append((time.monotonic(), name))
        return True

    def all_running(self) -> bool:
        self.poll()
        return all(c.running for c in self.sup.children)

    def stop(self) -> dict[str, int | None]:
        """Stop everything as the fleet does; each child's exit code."""
        self.sup.stop_all()
        return {c.name: c.proc.returncode if c.proc else None for c in self.sup.children}
