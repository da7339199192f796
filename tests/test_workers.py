"""`--workers N`: the real command with a supervisor and worker processes on loopback ports.

Workers share the ports (SO_REUSEPORT); /metrics on any of them answers for all of them; signals to the
supervisor reach every worker; start-up failures are one line and exit 2; a worker's death stops them
all (exit 1); with one worker nothing of this machinery runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from proxy import eventloop
from proxy import settings as settings_mod
from tests.conftest import Upstream, wait_until
from tests.reliability.harness import ProxyProcess
from tests.test_config import run_cli

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="SO_REUSEPORT balancing and /proc are Linux's"
)

ROOT = Path(__file__).resolve().parent.parent
SECTION = "5f1b2c3d4e5f6a7b8c9d0e1f"
ASSIGNMENT = "6a1e9f3c-2b7d-4c8e-9f01-23456789abcd"
ONE = f"/v3.1/sections/{SECTION}/assignments/{ASSIGNMENT}"
AUTH = {"Authorization": "Bearer district-token"}

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def gone(pid: int) -> bool:
    """Exited (a zombie left for a reaper counts as exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat[stat.rindex(")") + 2] == "Z"


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def metric_dirs(tmp: Path) -> list[Path]:
    return sorted(tmp.glob("clever-proxy-metrics-*"))


async def scrape(admin_port: int) -> Samples:
    # A new connection each time, so that successive scrapes are answered by any worker.
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as client,
        client.get(f"http://127.0.0.1:{admin_port}/metrics") as resp,
    ):
        assert resp.status == 200
        text = await resp.text()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def total(samples: Samples, name: str, **labels: str) -> float:
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


def value(samples: Samples, name: str) -> float:
    (found,) = [v for (n, _), v in samples.items() if n == name]  # exactly one series, not one per pid
    return found


@pytest.fixture
def tmpdir_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """TMPDIR of the proxies started by the test: where the supervisor makes its metrics directory."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    return tmp


@pytest.fixture
async def proxies() -> AsyncIterator[list[ProxyProcess]]:
    """Proxies started by the test; whatever is left of them (workers included) is killed after it."""
    started: list[ProxyProcess] = []
    yield started
    for proxy in started:
        pids = children(proxy.proc.pid) if proxy.proc.returncode is None else []
        await proxy.kill()
        for pid in pids:
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)


async def start(proxies: list[ProxyProcess], upstream: Upstream, *args: str, **settings: str) -> ProxyProcess:
    proxy = await ProxyProcess.start(upstream.url, *args, **settings)
    proxies.append(proxy)
    return proxy


async def send_mix(port: int, forwarded: int, rejected: int) -> None:
    """`forwarded` valid GETs and `rejected` ones without Authorization (401, answered locally), each on
    a new connection so that the kernel spreads them across the workers."""
    connector = aiohttp.TCPConnector(force_close=True, limit=16)
    async with aiohttp.ClientSession(connector=connector) as client:

        async def one(headers: dict[str, str], status: int) -> None:
            async with client.get(f"http://127.0.0.1:{port}{ONE}", headers=headers) as resp:
                await resp.read()
                assert resp.status == status

        await asyncio.gather(
            *(one(AUTH, 200) for _ in range(forwarded)), *(one({}, 401) for _ in range(rejected))
        )


async def test_workers_share_the_port_and_metrics_add_up(
    upstream: Upstream, proxies: list[ProxyProcess], tmpdir_env: Path
) -> None:
    proxy = await start(proxies, upstream, "--workers", "2")
    workers = children(proxy.proc.pid)
    assert len(workers) == 2
    assert all(environ_of(pid).get("PROMETHEUS_MULTIPROC_DIR") for pid in workers)
    assert len(metric_dirs(tmpdir_env)) == 1

    await send_mix(proxy.port, forwarded=120, rejected=80)
    assert len(upstream.received) == 120

    # One access line per request, each whole (no two workers' lines mixed), from more than one worker.
    await wait_until(lambda: bytes(proxy.stdout).count(b"\n") >= 200, timeout=10)
    lines = bytes(proxy.stdout).decode().splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 200
    served_by = {int(r["request_id"].split("-")[0], 16) for r in records}
    assert served_by == set(workers), "both workers served requests"
    assert sorted(r["status"] for r in records).count(401) == 80

    # Every scrape, whichever worker answers it, has the sum of both workers.
    for _ in range(6):
        samples = await scrape(proxy.admin_port)
        assert total(samples, "clever_proxy_requests_total") == 200
        assert total(samples, "clever_proxy_requests_total", outcome="forwarded") == 120
        assert total(samples, "clever_proxy_requests_total", outcome="rejected") == 80
        assert total(samples, "clever_proxy_local_rejections_total") == 80
        assert total(samples, "clever_proxy_local_rejections_total", rule="auth") == 80
        assert value(samples, "clever_proxy_upstream_calls_saved_total") == 80
        assert total(samples, "clever_proxy_request_duration_seconds_count") == 200
        assert value(samples, "clever_proxy_in_flight_requests") == 0
        assert value(samples, "clever_proxy_ready") == 1
        assert value(samples, "clever_proxy_config_generation") == 1
        assert value(samples, "clever_proxy_build_info") == 1

    # SIGTERM to the supervisor: every worker drains and exits, the metrics directory goes, exit 0.
    proxy.signal(signal.SIGTERM)
    assert await proxy.wait(30) == 0
    assert all(gone(pid) for pid in workers)
    assert metric_dirs(tmpdir_env) == []
    output = bytes(proxy.stderr).decode()
    assert output.count("listening on") == 1  # the supervisor's line, not one per worker
    assert f"event loop {eventloop.chosen('auto')}, 2 workers" in output  # the loop the workers run
    assert output.count("draining") == 2 and "Traceback" not in output


async def test_sighup_and_post_reload_reach_every_worker(
    upstream: Upstream, proxies: list[ProxyProcess], tmpdir_env: Path, tmp_path: Path
) -> None:
    config = tmp_path / "site.toml"
    config.write_text("[admin]\nreload_endpoint = true\n")
    proxy = await start(proxies, upstream, "--workers", "2", "--config", str(config))
    admin = proxy.admin_port

    # The generation gauge is the lowest of the live workers': 2 means every worker reloaded.
    proxy.signal(signal.SIGHUP)
    await wait_until(lambda: b"reloaded by all 2 workers" in proxy.stderr, timeout=10)
    for _ in range(4):
        samples = await scrape(admin)
        assert value(samples, "clever_proxy_config_generation") == 2
        assert value(samples, "clever_proxy_config_last_reload_success") == 1

    # POST /-/reload on whichever worker: all of them reload, and the answer counts them.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as client:
        async with client.post(f"http://127.0.0.1:{admin}/-/reload") as resp:
            assert resp.status == 200
            assert await resp.json() == {
                "reloaded": True,
                "workers": 2,
                "workers_reloaded": 2,
                "workers_refused": 0,
            }
        assert value(await scrape(admin), "clever_proxy_config_generation") == 3

        # An invalid file is refused by every worker: 422, the running configuration stays.
        config.write_text("[admin]\nreload_endpoint = true\n[listen]\nprot = 1\n")
        async with client.post(f"http://127.0.0.1:{admin}/-/reload") as resp:
            assert resp.status == 422
            body = await resp.json()
            assert body["reloaded"] is False and body["workers_refused"] == 2
    # Each worker's refusal names it.
    for pid in children(proxy.proc.pid):
        await wait_until(
            lambda pid=pid: f"worker {pid}: configuration reload refused".encode() in proxy.stderr, timeout=10
        )
    samples = await scrape(admin)
    assert value(samples, "clever_proxy_config_generation") == 3
    assert value(samples, "clever_proxy_config_last_reload_success") == 0
    proxy.signal(signal.SIGTERM)
    assert await proxy.wait(30) == 0


async def test_a_dead_worker_stops_the_others_and_the_supervisor_exits_1(
    upstream: Upstream, proxies: list[ProxyProcess], tmpdir_env: Path
) -> None:
    proxy = await start(proxies, upstream, "--workers", "3", server_shutdown_grace_seconds="2")
    workers = children(proxy.proc.pid)
    assert len(workers) == 3
    os.kill(workers[0], signal.SIGKILL)
    assert await proxy.wait(20) == 1
    assert all(gone(pid) for pid in workers)
    assert metric_dirs(tmpdir_env) == []
    output = bytes(proxy.stderr).decode()
    assert f"(pid {workers[0]}) was killed by SIGKILL; stopping the other workers" in output
    assert output.count("draining") == 2 and "Traceback" not in output


async def test_workers_drain_when_the_supervisor_is_killed(
    upstream: Upstream, proxies: list[ProxyProcess], tmpdir_env: Path
) -> None:
    proxy = await start(proxies, upstream, "--workers", "2")
    workers = children(proxy.proc.pid)
    proxy.proc.kill()
    # The workers hold the stderr pipe too: the wait ends once they are gone as well.
    await asyncio.wait_for(proxy.wait(10), 20)
    deadline = time.monotonic() + 10
    while not all(gone(pid) for pid in workers):
        assert time.monotonic() < deadline, "workers outlived their supervisor"
        await asyncio.sleep(0.05)
    assert bytes(proxy.stderr).count(b"the supervisor is gone: draining") == 2


async def test_one_worker_runs_in_process_without_a_metrics_directory(
    upstream: Upstream, proxies: list[ProxyProcess], tmpdir_env: Path
) -> None:
    proxy = await start(proxies, upstream, server_workers="1")
    assert children(proxy.proc.pid) == []
    assert "PROMETHEUS_MULTIPROC_DIR" not in environ_of(proxy.proc.pid)
    assert list(tmpdir_env.iterdir()) == []
    await send_mix(proxy.port, forwarded=3, rejected=2)
    samples = await scrape(proxy.admin_port)
    assert total(samples, "clever_proxy_requests_total") == 5
    # A single process exports counters' _created samples; the multiprocess collector does not.
    assert any(name == "clever_proxy_requests_created" for name, _ in samples)
    proxy.signal(signal.SIGTERM)
    assert await proxy.wait(30) == 0


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (("--workers", "0"), {}, "server.workers: expected 1 to 64 worker processes, got 0"),
        (("--workers", "two"), {}, "argument --workers: invalid int value: 'two'"),
        ((), {"CLEVER_PROXY_SERVER_WORKERS": "65"}, "got 65 (from CLEVER_PROXY_SERVER_WORKERS)"),
        ((), {"CLEVER_PROXY_SERVER_WORKERS": "1.5"}, "expected an integer, got '1.5'"),
    ],
)
def test_a_bad_workers_value_is_one_line_and_exit_2(
    args: tuple[str, ...], env: dict[str, str], needle: str
) -> None:
    result = run_cli("serve", "--upstream", "http://127.0.0.1:9", *args, env=env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and needle in result.stderr, result.stderr


def test_a_port_in_use_is_one_line_and_exit_2_with_workers_too(tmpdir_env: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        base = ("serve", "--upstream", "http://127.0.0.1:9", "--port", port, "--admin-port")
        alone = run_cli(*base, str(free_port()))
        started = time.monotonic()
        workers = run_cli(*base, str(free_port()), "--workers", "3")
        assert time.monotonic() - started < 30
        admin = run_cli(
            "serve", "--upstream", "http://127.0.0.1:9", "--port", str(free_port()), "--admin-port", port
        )
    assert alone.returncode == workers.returncode == 2
    assert workers.stderr.count("\n") == 1, workers.stderr
    assert workers.stderr.startswith("clever-proxy: error: cannot listen:")
    assert f"127.0.0.1:{port} (listen.host, listen.port): Address already in use" in workers.stderr
    assert workers.stderr == alone.stderr  # the same line as without workers
    assert admin.returncode == 2 and f"127.0.0.1:{port} (admin.host, admin.port):" in admin.stderr
    assert metric_dirs(tmpdir_env) == []


def test_the_setting_is_layered_and_shown_by_check_config(tmp_path: Path) -> None:
    assert settings_mod.load(environ={}).workers == 1
    cfg = tmp_path / "site.toml"
    cfg.write_text("[server]\nworkers = 2\n")
    assert settings_mod.load(cfg, environ={}).workers == 2
    assert settings_mod.load(cfg, environ={"CLEVER_PROXY_SERVER_WORKERS": "3"}).workers == 3
    assert settings_mod.load(cfg, {"server.workers": 4}, {"CLEVER_PROXY_SERVER_WORKERS": "3"}).workers == 4
    shown = run_cli("check-config", "--workers", "4")
    assert shown.returncode == 0
    server = shown.stdout.split("[server]", 1)[1]
    assert "workers = 4  # command line" in server
    assert "workers = 1  # defaults" in run_cli("check-config").stdout
