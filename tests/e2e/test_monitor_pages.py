"""The monitor's pages in a real Chromium over a fleet directory with known problems (written by
the project's own writers, see ``monitor_rig``): what is wrong is red, absent tables say "n/a",
the token login works in a browser. Screenshots go to ``test-artefacts/monitor/``."""

from __future__ import annotations

from pathlib import Path

from core.clock import FakeClock
from tests.e2e.browser import ARTEFACTS, chromium, page_errors
from tests.integration.monitor_rig import (
    NOW,
    MonitorServer,
    fleet_config,
    fleet_files,
    write_journal,
    write_marker,
)

RED = "rgb(61, 18, 20)"  # --badbg


def test_problems_are_red_and_missing_tables_say_na(tmp_path: Path) -> None:
    cfg = fleet_config(tmp_path)
    fleet_files(cfg, new_tables=False)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    with MonitorServer(cfg, FakeClock(NOW)).running() as srv, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 800})
        errors = page_errors(page)
        page.goto(srv.url + "/")
        page.wait_for_function("() => window.__okxfleet?.renders > 0")
        assert page.locator("#overall .badge.bad").inner_text() == "PROBLEM"
        beta = page.locator("#traders tbody tr", has_text="beta")
        assert "bad" in (beta.get_attribute("class") or "")
        # painted red (checked in one go in the page: a refresh may replace the table at any time)
        page.wait_for_function(
            """red => [...document.querySelectorAll('#traders tbody tr')].some(r =>
                r.textContent.includes('beta') && getComputedStyle(r.cells[0]).backgroundColor === red)""",
            arg=RED,
            timeout=5_000,
        )
        assert "no marker before the deadline" in beta.inner_text()
        alpha = page.locator("#traders tbody tr", has_text="alpha")
        assert alpha.get_attribute("class") == "ok"
        five = page.locator("#collector tbody tr", has_text="5m")
        assert five.get_attribute("class") == "bad"
        assert "BTC-USDT-SWAP: gap in history" in five.inner_text()
        assert "n/a" in page.locator("#alerts").inner_text()
        page.screenshot(path=str(ARTEFACTS / "fleet-problems.png"))

        # the next cycle succeeds: the row turns back without a reload (pushed, not polled)
        page.evaluate("() => { window.__sameDocument = true; }")
        renders = page.evaluate("() => window.__okxfleet.renders")
        closes = [NOW.replace(second=0)]
        write_journal(cfg, "beta", closes)  # the same bar, now done
        write_marker(cfg, "5m", closes[0])
        page.wait_for_function(
            f"() => window.__okxfleet.renders > {renders}", timeout=4_000
        )  # < the 5 s timer
        page.wait_for_function(
            "() => document.querySelector('#traders tbody tr:nth-child(2)').className === 'ok'", timeout=4_000
        )
        assert page.evaluate("() => window.__sameDocument") is True

        page.goto(srv.url + "/account/alpha")
        page.wait_for_function("() => window.__okxfleet?.renders > 0")
        assert "n/a" in page.locator("#targets").inner_text()
        assert page.evaluate("() => window.__okxfleet.equityPoints") == 6
        assert "1.25" in page.locator("#pnl").inner_text()
        page.screenshot(path=str(ARTEFACTS / "account-alpha.png"), full_page=True)
        assert errors == []


def test_login_with_the_token_in_a_browser(tmp_path: Path) -> None:
    cfg = fleet_config(tmp_path)
    fleet_files(cfg, new_tables=True)
    token = "browser-token-0123456789"
    with MonitorServer(cfg, FakeClock(NOW), token=token).running() as srv, chromium() as browser:
        page = browser.new_page()
        page.goto(srv.url + "/")
        assert page.url == srv.url + "/login"
        page.fill("input[name=token]", "wrong-token-xxxxxxxx")
        page.click("button")
        assert "wrong token" in page.content()
        page.fill("input[name=token]", token)
        page.click("button")
        page.wait_for_function("() => window.__okxfleet?.renders > 0")
        page.wait_for_selector("#live.on")  # the event stream is authorised by the cookie too
        assert page.locator("#alerts").inner_text().count("51008 insufficient margin") == 1
        cookie = next(c for c in page.context.cookies() if c["name"] == "okxfleet_token")
        assert cookie["httpOnly"] is True
