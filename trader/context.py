"""Everything one trader process works with, wired once (by :mod:`trader.service` or a test)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal

from bus.sources import BarSource, MarkerSource, TraderSources
from config.schema import AccountSettings, FleetConfig, TraderSettings
from core.clock import Clock
from core.markers import MarkerStore
from core.store import CandleStore
from exchange.records import Instrument
from trader.alerts import Alerter
from trader.diff import Mode
from trader.execution import Executor
from trader.journal import Journal
from trader.journal_clock import record_clock
from trader.ports import AccountPort, NotifierPort, PublicPort
from trader.targets import TargetBook
from trader.tracking import OrderTracker

__all__ = ["TraderContext", "build_context"]


@dataclass
class TraderContext:
    cfg: FleetConfig
    account: AccountSettings
    client: AccountPort
    public: PublicPort
    journal: Journal
    clock: Clock
    notifier: NotifierPort
    store: BarSource  # bus hook (#17): CSVs, or a Redis stream
    markers: MarkerSource
    tracker: OrderTracker
    executor: Executor
    stop: threading.Event
    pool: ThreadPoolExecutor
    alert: Alerter
    targets: TargetBook
    # filled in by preflight
    instruments: dict[str, Instrument] = field(default_factory=dict)
    pos_mode: Mode = "net"
    leverage: dict[str, Decimal] = field(default_factory=dict)  # what sizing may use, per instrument
    equity_ccy: str = "USDT"

    @property
    def name(self) -> str:
        return self.account.name

    @property
    def process(self) -> str:
        return f"trader-{self.account.name}"

    @property
    def settings(self) -> TraderSettings:
        return self.account.trader

    def mode_for(self, inst_id: str) -> Mode:
        inst = self.instruments[inst_id]
        return self.pos_mode if inst.is_contract else "spot"

    def td_mode_for(self, inst_id: str) -> str:
        return self.settings.margin_mode if self.instruments[inst_id].is_contract else "cash"

    def close(self) -> None:
        self.pool.shutdown(wait=False)
        self.journal.close()


def build_context(
    cfg: FleetConfig,
    account_name: str,
    *,
    client: AccountPort,
    public: PublicPort,
    clock: Clock,
    notifier: NotifierPort,
    journal: Journal | None = None,
    stop: threading.Event | None = None,
    batch: bool = True,
    poll_s: float = 0.25,
    sources: TraderSources | None = None,
) -> TraderContext:
    account = cfg.account(account_name)
    stop = stop or threading.Event()
    journal = journal or Journal(cfg.journal_dir / f"{account_name}.sqlite")
    record_clock(journal, clock)  # --set-target from a shell stamps this clock's time
    tracker = OrderTracker(client, journal, clock, poll_s=poll_s, stop=stop)
    alert = Alerter(account_name, journal, notifier, clock)
    executor = Executor(
        account=account_name,
        client=client,
        public=public,
        journal=journal,
        tracker=tracker,
        settings=account.trader,
        notifier=notifier,
        batch=batch,
        alert=alert,
    )
    return TraderContext(
        cfg=cfg,
        account=account,
        client=client,
        public=public,
        journal=journal,
        clock=clock,
        notifier=notifier,
        store=sources.bars if sources else CandleStore(cfg.candles_dir, cfg.candle_timezone),
        markers=sources.markers if sources else MarkerStore(cfg.markers_dir),
        tracker=tracker,
        executor=executor,
        stop=stop,
        pool=ThreadPoolExecutor(max_workers=4, thread_name_prefix=f"trader-{account_name}"),
        alert=alert,
        targets=TargetBook(journal),
    )
