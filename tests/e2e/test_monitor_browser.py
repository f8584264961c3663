"""The monitor in a real Chromium, over a real fleet: simulator + collector + a trader (under
``python -m scripts.fleet --with-simulator --with-monitor``) on an accelerated clock.

Opens the fleet page, then a chart: the candles drawn equal the CSV's rows, a new bar appears
without a reload, a buy/sell marker appears for the account's fills. Screenshots go to
``test-artefacts/monitor/``.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from config import load_config
from tests.e2e.browser import ARTEFACTS, chromium, page_errors
from tests.e2e.fleet_harness import (
    AccountPlan,
    FleetProcess,
    StrategyPlan,
    free_port,
    kill_leftovers,
    read_csv,
    wait_for,
    write_config,
)
from tests.e2e.fleet_strategy import REGIME

SPEED = 30  # a 1m bar every 2 s of wall time
BTC, ETH = "BTC-USDT-SWAP", "ETH-USDT-SWAP"
ACCOUNTS = (
    AccountPlan("alpha", "1m", (StrategyPlan(BTC, REGIME, {"fast": 2, "slow": 4}),
                                StrategyPlan(ETH, "bollinger", {"n": 20, "m": 2}))),
)  # fmt: skip


def _state(page: Page) -> dict[str, Any]:
    return dict(page.evaluate("() => ({...window.__okxfleet, data: undefined})"))


def _fills(db: Path, inst_id: str) -> int:
    if not db.is_file():
        return 0
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(con.execute("SELECT COUNT(*) FROM fills WHERE inst_id = ?", (inst_id,)).fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()


def test_monitor_in_chromium(tmp_path: Path) -> None:
    config = write_config(tmp_path, port=free_port(), accounts=ACCOUNTS, history_bars=120)
    cfg = load_config(config, environ={}, env_file=tmp_path / "absent.env")
    fleet = FleetProcess(config, tmp_path / "fleet.out", env={}, speed=SPEED,
                         extra=["--with-monitor", "--monitor-port", "0"])  # fmt: skip
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    journal = cfg.journal_dir / "alpha.sqlite"
    try:
        fleet.start()
        url = wait_for("the monitor", lambda: re.search(r"monitor ready: (http://\S+)", fleet.output()), 90)[
            1
        ]
        wait_for("a first fill", lambda: _fills(journal, BTC) > 0, 90)
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1400, "height": 800})
            errors = page_errors(page)

            # ---- the fleet page ----------------------------------------------------------------
            page.goto(url)
            page.wait_for_function(
                "() => window.__okxfleet.renders > 0 && window.__okxfleet.data", timeout=20_000
            )
            fleet_data = page.evaluate("() => window.__okxfleet.data")
            assert [t["account"] for t in fleet_data["traders"]] == ["alpha"]
            assert page.locator("#collector tbody tr").count() == 1
            assert page.locator("#traders tbody tr").count() == 1
            page.wait_for_selector("#live.on", timeout=10_000)
            page.screenshot(path=str(ARTEFACTS / "fleet.png"))

            # ---- a chart: every CSV row is a candle ------------------------------------------
            page.click(f"#charts a:text('{BTC}')")
            page.wait_for_function("() => window.__okxfleet?.ready === true", timeout=20_000)
            state = _state(page)
            assert state["error"] is None
            rows = [
                b
                for b in read_csv(cfg.candles_dir / f"{BTC}_1m.csv")
                if b.ts.timestamp() <= state["lastTime"]
            ]
            assert state["bars"] == len(rows) >= 120
            assert rows[-1].ts.timestamp() == state["lastTime"]
            assert set(state["lines"]) == set()  # e2e_regime declares no lines

            # ---- live: a new bar and fills, without a reload ---------------------------------
            page.evaluate("() => { window.__sameDocument = true; }")
            before = state["bars"]
            page.wait_for_function(f"() => window.__okxfleet.bars > {before}", timeout=20_000)
            wait_for("a fill marker", lambda: _state(page)["fills"] >= 1, 20)
            wait_for("every fill drawn", lambda: _state(page)["fills"] == _fills(journal, BTC), 20)
            after = _state(page)
            assert page.evaluate("() => window.__sameDocument") is True  # no reload happened
            assert after["updates"] >= 1
            rows = [
                b
                for b in read_csv(cfg.candles_dir / f"{BTC}_1m.csv")
                if b.ts.timestamp() <= after["lastTime"]
            ]
            assert after["bars"] == len(rows)
            page.screenshot(path=str(ARTEFACTS / "chart.png"))

            # ---- the strategy's own lines and the account page --------------------------------
            page.goto(f"{url}chart?inst={ETH}&interval=1m&account=alpha")
            page.wait_for_function("() => window.__okxfleet?.ready === true", timeout=20_000)
            eth = _state(page)
            assert set(eth["lines"]) == {"median", "upper", "lower"}
            assert eth["lines"]["median"] == eth["bars"]
            page.screenshot(path=str(ARTEFACTS / "chart-bollinger.png"))
            page.goto(f"{url}account/alpha")
            page.wait_for_function("() => window.__okxfleet?.renders > 0", timeout=20_000)
            assert _state(page)["equityPoints"] >= 1
            page.screenshot(path=str(ARTEFACTS / "account.png"), full_page=True)
            assert errors == []
        code = fleet.stop(timeout_s=60)
    finally:
        fleet.kill_everything()
        leftovers = kill_leftovers(str(config))
    assert code == 0, fleet.output()[-3000:]
    assert not leftovers
