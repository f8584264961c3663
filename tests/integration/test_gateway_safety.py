"""Safety: secrets never logged, loopback by default, TLS verified, demo header, parallel serving."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from aiohttp import ClientSession, web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from core.logs import setup_logging
from gateway.__main__ import parse_args
from simulator.server import RunningSimulator
from tests.integration.test_gateway_support import FmzDocker, gateway_for, register_vector_account

SENTINEL_AK = "AK_SENTINEL_51d7e0"
SENTINEL_SK = "SENTINEL_9f3a1c"
SENTINEL_PP = "PP_SENTINEL"
SENTINELS = (SENTINEL_AK, SENTINEL_SK, SENTINEL_PP)


def session_of_requests(docker: FmzDocker) -> None:
    """Every method, success and failure, plus bodies that carry the secrets in odd places."""
    calls: list[tuple[str, Any]] = [
        ("ticker", {"symbol": "BTC_USDT"}), ("depth", {"symbol": "BTC_USDT"}),
        ("trades", {"symbol": "BTC_USDT"}), ("records", {"symbol": "BTC_USDT", "period": "1", "limit": "3"}),
        ("accounts", {}), ("assets", {}), ("orders", {"symbol": "BTC_USDT"}),
        ("historyorders", {"symbol": "BTC_USDT"}), ("positions", {}),
        ("fundings", {"symbol": "BTC_USDT.swap"}),
        ("marginlevel", {"symbol": "BTC_USDT.swap", "marginLevel": "5"}),
        ("order", {"id": "BTC-USDT,1", "symbol": "BTC_USDT"}), ("cancel", {"id": "x", "symbol": "BTC_USDT"}),
        ("trade", {"symbol": "BTC_USDT", "type": "buy", "price": "1000000", "amount": "50"}),
        ("foo", {}), ("ticker", {"symbol": SENTINEL_SK}), ("ticker", {"symbol": "NOPE_XXX"}),
    ]  # fmt: skip
    for method, params in calls:
        docker.call(method, params)
    oid = docker.data("trade", {"symbol": "BTC_USDT", "type": "buy", "price": "1000", "amount": "0.001"})[
        "id"
    ]
    docker.data("order", {"id": oid, "symbol": "BTC_USDT"})
    docker.data("cancel", {"id": oid, "symbol": "BTC_USDT"})
    docker.call("__api_/api/v5/account/balance", {"ccy": "USDT"}, http_method="GET")
    docker.call("__api_/api/v5/trade/order", {"instId": "BTC-USDT", "ordId": "1"}, http_method="GET")
    body = f'{{"access_key": "{SENTINEL_AK}", "secret_key": "{SENTINEL_SK},{SENTINEL_PP}", oops}}'
    assert docker.post_raw(body.encode()) == {"error": "invalid JSON"}  # never echoed
    docker.post_raw(b'{"access_key": "' + SENTINEL_AK.encode() + b'", "method": "ticker"}')
    FmzDocker(docker.url, secret_key=f"{SENTINEL_SK},wrong_pass").call("accounts", {})
    FmzDocker(docker.url, secret_key=f"{SENTINEL_SK}").call("accounts", {})


def test_secrets_never_reach_any_log(
    sim_module: RunningSimulator,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """SEC-secret-not-logged: raw log records (before redaction), the log file and stdout/stderr."""
    sim_module.control.add_account(SENTINEL_AK, SENTINEL_SK, SENTINEL_PP, name="sentinel")
    noisy = ("urllib3", "httpx", "httpcore", "ccxt", "apscheduler", "hpack", "asyncio")
    saved = {name: logging.getLogger(name).level for name in (*noisy, "")}
    root = setup_logging("gateway", tmp_path, level=logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    try:
        with gateway_for(sim_module.base_url) as gw:
            docker = FmzDocker(gw.url, access_key=SENTINEL_AK, secret_key=f"{SENTINEL_SK},{SENTINEL_PP}")
            assert "data" in docker.call("accounts", {})
            session_of_requests(docker)
    finally:
        for handler in list(root.handlers):
            if getattr(handler, "_okxfleet", False):
                root.removeHandler(handler)
                handler.close()
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)
    ours = [r for r in caplog.records if not r.name.startswith("simulator")]
    raw_text = "\n".join(r.getMessage() + (str(r.exc_info) if r.exc_info else "") for r in ours)
    file_text = (tmp_path / "gateway.log").read_text(encoding="utf-8")
    out, err = capfd.readouterr()
    assert "gateway.server" in file_text
    assert len(ours) > 25
    for secret in SENTINELS:
        assert secret not in raw_text, secret
        assert secret not in file_text, secret
        assert secret not in out + err, secret


def test_one_log_line_per_request(sim_module: RunningSimulator, caplog: pytest.LogCaptureFixture) -> None:
    """Logged: FMZ method, symbol, latency, outcome."""
    register_vector_account(sim_module)
    caplog.set_level(logging.INFO, logger="gateway.server")
    with gateway_for(sim_module.base_url) as gw:
        docker = FmzDocker(gw.url)
        docker.call("ticker", {"symbol": "BTC_USDT"})
        docker.call("ticker", {"symbol": "NOPE_XXX"})
        docker.post_raw(b"{bad")
    lines = [r.getMessage() for r in caplog.records if r.name == "gateway.server"]
    assert len(lines) == 3
    assert lines[0].startswith("ticker BTC_USDT ")
    assert lines[0].endswith("ms ok")
    assert lines[1].startswith("ticker NOPE_XXX ")
    assert "ms error: " in lines[1]
    assert "51001" in lines[1]
    assert lines[2].startswith("- - ")
    assert lines[2].endswith("ms error: invalid JSON")


# ---- loopback --------------------------------------------------------------------------------


def _non_loopback_ip() -> str | None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))
            ip = s.getsockname()[0]
    except OSError:
        return None
    return None if ip.startswith("127.") else str(ip)


def test_binds_loopback_by_default(sim_module: RunningSimulator) -> None:
    """SEC-bind-loopback."""
    assert parse_args([]).host == "127.0.0.1"
    with gateway_for(sim_module.base_url) as gw:
        runner = gw.server._runner
        assert runner is not None
        assert [a[0] for a in runner.addresses] == ["127.0.0.1"]
        ip = _non_loopback_ip()
        if ip is not None:
            with (
                pytest.raises((ConnectionRefusedError, TimeoutError)),
                socket.create_connection((ip, gw.port), timeout=1),
            ):
                pass


# ---- TLS -------------------------------------------------------------------------------------


def _self_signed(tmp_path: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return ctx


class LoopServer:
    """An aiohttp app on its own loop thread (the HTTPS impostor, the recording proxy)."""

    def __init__(self, app: web.Application, ssl_context: ssl.SSLContext | None = None) -> None:
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(app, access_log=None)
        self.ssl_context = ssl_context
        self.port = 0
        started = threading.Event()

        def run() -> None:
            self.loop.run_until_complete(self._start())
            started.set()
            self.loop.run_forever()
            self.loop.close()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        started.wait(10)

    async def _start(self) -> None:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0, ssl_context=self.ssl_context)
        await site.start()
        self.port = self.runner.addresses[0][1]

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def test_tls_is_verified(tmp_path: Path) -> None:
    """SEC-tls-verify: an upstream with a self-signed certificate is refused (public and private)."""
    served: list[str] = []

    async def okx(request: web.Request) -> web.Response:
        served.append(request.path)
        return web.json_response({"code": "0", "msg": "", "data": [{"ts": "1700000000000"}]})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", okx)
    impostor = LoopServer(app, _self_signed(tmp_path))
    try:
        url = f"https://127.0.0.1:{impostor.port}"
        # control: the impostor serves whoever trusts its certificate
        assert requests.get(url + "/api/v5/public/time", verify=str(tmp_path / "cert.pem"), timeout=5).ok
        served.clear()
        with gateway_for(url, mode="live", timeout_s=2) as gw:
            docker = FmzDocker(gw.url)
            public = docker.error("ticker", {"symbol": "BTC_USDT"})
            private = docker.error("accounts", {})
        assert "no reply" in public or "cannot reach" in public
        assert "cannot reach OKX" in private
        assert served == []
    finally:
        impostor.stop()


# ---- demo header (recording proxy) ---------------------------------------------------------


@pytest.fixture
def proxy(sim_module: RunningSimulator) -> Iterator[tuple[LoopServer, list[tuple[str, str, str]]]]:
    """A proxy in front of the simulator recording (method, path, x-simulated-trading)."""
    seen: list[tuple[str, str, str]] = []

    async def forward(request: web.Request) -> web.Response:
        seen.append((request.method, request.path_qs, request.headers.get("x-simulated-trading", "")))
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with (
            ClientSession() as session,
            session.request(
                request.method, sim_module.base_url + request.path_qs, data=body or None, headers=headers
            ) as upstream,
        ):
            payload = await upstream.read()
            return web.Response(body=payload, status=upstream.status, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    server = LoopServer(app)
    yield server, seen
    server.stop()


def test_simulate_flag_sends_the_demo_header(
    sim_module: RunningSimulator, proxy: tuple[LoopServer, list[tuple[str, str, str]]]
) -> None:
    """PASSPHRASE-simulate (11.7): ``,simulate`` -> ``x-simulated-trading: 1``; without it, never 1."""
    register_vector_account(sim_module)
    server, seen = proxy
    with gateway_for(f"http://127.0.0.1:{server.port}", mode="live") as gw:
        FmzDocker(gw.url, secret_key="sk_test,pp_test,simulate").data("accounts", {})
        demo = [h for _, path, h in seen if path.startswith("/api/v5/account/balance")]
        seen.clear()
        FmzDocker(gw.url, secret_key="sk_test,pp_test").data("accounts", {})
        live = [h for _, path, h in seen if path.startswith("/api/v5/account/balance")]
        seen.clear()
        FmzDocker(gw.url, secret_key="sk_test,pp_test,simulate").data("ticker", {"symbol": "BTC_USDT"})
        public_demo = [h for _, path, h in seen if path.startswith("/api/v5/market/ticker")]
    assert demo == ["1"]
    assert live
    assert all(h != "1" for h in live)
    assert public_demo == ["1"]


# ---- concurrency -----------------------------------------------------------------------------


def test_parallel_requests_take_about_one_latency(sim_module: RunningSimulator) -> None:
    """CONC-parallel: N requests against a slow upstream finish in about one latency, not N."""
    register_vector_account(sim_module)
    latency_s, n = 0.4, 8
    with gateway_for(sim_module.base_url) as gw:
        docker = FmzDocker(gw.url)
        docker.data("orders", {"symbol": "BTC_USDT"})  # warm: client built, server time measured
        docker.data("ticker", {"symbol": "BTC_USDT"})
        sim_module.control.set_latency(int(latency_s * 1000))
        try:
            calls = [("orders", {"symbol": "BTC_USDT"})] * (n - 2) + [("ticker", {"symbol": "BTC_USDT"})] * 2
            with ThreadPoolExecutor(n) as pool:
                started = time.monotonic()
                replies = list(pool.map(lambda c: FmzDocker(gw.url).call(*c), calls))
                elapsed = time.monotonic() - started
        finally:
            sim_module.control.set_latency(0)
    assert all("data" in r for r in replies), replies
    assert elapsed < n * latency_s / 2, (
        f"{n} requests took {elapsed:.2f}s (serial would be {n * latency_s:.1f}s)"
    )
