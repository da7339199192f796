"""Metrics, health, access log and graceful shutdown of a running proxy."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from proxy import accesslog
from tests.conftest import ProxyFactory, Upstream, exchange_raw, wait_until

ROOT = Path(__file__).resolve().parent.parent
SECTION = "5f1b2c3d4e5f6a7b8c9d0e1f"
ASSIGNMENT = "6a1e9f3c-2b7d-4c8e-9f01-23456789abcd"
ONE = f"/v3.1/sections/{SECTION}/assignments/{ASSIGNMENT}"
TOKEN = "Bearer sk-live-7f3a9c-secret-token"


async def scrape(admin_port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with aiohttp.ClientSession() as client:
        async with client.get(f"http://127.0.0.1:{admin_port}/metrics") as resp:
            assert resp.status == 200
            text = await resp.text()
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


async def test_metrics_after_traffic_have_bounded_labels(
    upstream: Upstream, start_proxy: ProxyFactory
) -> None:
    proxy = await start_proxy(upstream.url)
    async with aiohttp.ClientSession() as client:
        base = f"http://127.0.0.1:{proxy.port}"
        await (await client.get(base + ONE, headers={"Authorization": TOKEN})).read()  # forwarded
        await (await client.get(base + ONE)).read()  # 401 local
        await (await client.put(base + ONE, headers={"Authorization": TOKEN})).read()  # 405 local
        await (await client.get(base + "/v3.0/users/5f1b2c3d4e5f6a7b8c9d0e1f?x=1")).read()  # not a route
    samples = await scrape(proxy.admin_port)
    route = "/v3.1/sections/{section_id}/assignments/{assignment_id}"
    key = (
        "clever_proxy_requests_total",
        (("method", "GET"), ("outcome", "forwarded"), ("route", route), ("status_class", "2xx")),
    )
    assert samples[key] == 1
    assert samples[("clever_proxy_local_rejections_total", (("rule", "auth"),))] == 1
    assert samples[("clever_proxy_local_rejections_total", (("rule", "method"),))] == 1
    assert samples[("clever_proxy_upstream_calls_saved_total", ())] == 2
    other = (
        "clever_proxy_requests_total",
        (("method", "GET"), ("outcome", "forwarded"), ("route", "other"), ("status_class", "2xx")),
    )
    assert samples[other] == 1
    assert samples[("clever_proxy_forwards_total", (("reason", "not_a_route"), ("stage", "method")))] == 1
    assert samples[("clever_proxy_in_flight_requests", ())] == 0
    assert samples[("clever_proxy_ready", ())] == 1
    hist = ("clever_proxy_request_duration_seconds_count", (("outcome", "rejected"), ("route", route)))
    assert samples[hist] == 2
    assert samples[("clever_proxy_upstream_duration_seconds_count", (("route", route),))] == 1
    # No raw path, id or token ever becomes a label value.
    values = {v for (_, labels) in samples for _, v in labels}
    assert not any(SECTION in v or "secret" in v or "users" in v for v in values)


async def test_health_and_readiness(upstream: Upstream, start_proxy: ProxyFactory) -> None:
    proxy = await start_proxy(upstream.url)
    async with aiohttp.ClientSession() as client:
        admin = f"http://127.0.0.1:{proxy.admin_port}"
        async with client.get(admin + "/healthz") as resp:
            assert resp.status == 200
        async with client.get(admin + "/readyz") as resp:
            assert resp.status == 200
        proxy.state.draining = True
        async with client.get(admin + "/readyz") as resp:
            assert resp.status == 503
            assert (await resp.json())["status"] == "draining"
        proxy.state.draining = False
        # The admin paths are not shadowed on the API listener: they go upstream like any path.
        async with client.get(f"http://127.0.0.1:{proxy.port}/metrics") as resp:
            assert resp.headers.get("X-Upstream") == "recorder"


async def test_access_log_is_one_json_line_without_secrets(
    upstream: Upstream, start_proxy: ProxyFactory, access_lines: list[str]
) -> None:
    proxy = await start_proxy(upstream.url)
    async with aiohttp.ClientSession() as client:
        body = b'{"grade_comment":"sk-live-7f3a9c-secret-token in a body"'  # truncated JSON: local 400
        async with client.patch(
            f"http://127.0.0.1:{proxy.port}{ONE}/submissions/{SECTION}",
            data=body,
            headers={"Authorization": TOKEN},
        ) as resp:
            assert resp.status == 400
    accesslog.access.flush()
    assert len(access_lines) == 1
    record = json.loads(access_lines[0])
    assert record["status"] == 400 and record["outcome"] == "rejected" and record["rule"] == "json"
    assert record["route"] == "/v3.1/sections/{section_id}/assignments/{assignment_id}/submissions/{user_id}"
    assert set(record) == {
        "time",
        "request_id",
        "method",
        "route",
        "status",
        "outcome",
        "rule",
        "duration_ms",
        "upstream_ms",
    }
    assert "secret" not in access_lines[0] and SECTION not in access_lines[0]
    assert TOKEN.rsplit(maxsplit=1)[-1] not in access_lines[0]


async def test_access_lines_are_buffered_into_whole_pipe_writes(
    upstream: Upstream, start_proxy: ProxyFactory
) -> None:
    """Many requests: every write holds whole lines and fits a pipe's atomic write size, and a line is
    written within the flush delay even when no further request comes."""
    writes: list[bytes] = []
    saved = accesslog.access.sink
    accesslog.access.flush()
    accesslog.access.sink = writes.append
    try:
        proxy = await start_proxy(upstream.url)
        async with aiohttp.ClientSession() as client:
            for _ in range(60):
                async with client.get(f"http://127.0.0.1:{proxy.port}{ONE}") as resp:
                    assert resp.status == 401  # no token: answered locally
            await wait_until(lambda: sum(w.count(b"\n") for w in writes) == 60, 5 * accesslog.FLUSH_SECONDS)
    finally:
        accesslog.access.flush()
        accesslog.access.sink = saved
    assert len(writes) > 1
    for data in writes:
        assert len(data) <= accesslog.FLUSH_BYTES and data.endswith(b"\n")
        for line in data.splitlines():
            assert json.loads(line)["status"] == 401


async def test_drain_lets_in_flight_requests_finish(upstream: Upstream, start_proxy: ProxyFactory) -> None:
    async def slow(request: web.BaseRequest, body: bytes) -> web.Response:
        await asyncio.sleep(0.5)
        return web.Response(text="done")

    upstream.behaviours["/v3.0/slow"] = slow
    proxy = await start_proxy(upstream.url, **{"server.shutdown_grace_seconds": 5})
    async with aiohttp.ClientSession() as client:
        tasks = [
            asyncio.create_task(client.get(f"http://127.0.0.1:{proxy.port}/v3.0/slow")) for _ in range(20)
        ]
        await wait_until(lambda: proxy.state.in_flight == 20)
        assert (await scrape(proxy.admin_port))[("clever_proxy_in_flight_requests", ())] == 20
        await proxy.stop()
        responses = await asyncio.gather(*tasks)
        assert [r.status for r in responses] == [200] * 20
        assert [await r.text() for r in responses] == ["done"] * 20
        with pytest.raises(aiohttp.ClientConnectionError):
            await client.get(f"http://127.0.0.1:{proxy.port}/v3.0/slow")


def test_sigterm_drains_and_exits_zero() -> None:
    """The real command: SIGTERM -> readiness off, listeners closed, exit status 0."""
    env = {**os.environ, "CLEVER_PROXY_LISTEN_PORT": "0", "CLEVER_PROXY_ADMIN_PORT": "0"}
    with subprocess.Popen(
        [sys.executable, "-m", "proxy", "--upstream", "http://127.0.0.1:9"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        env=env,
    ) as proc:
        deadline = time.time() + 20
        line = ""
        while time.time() < deadline and "listening on" not in line:
            line = proc.stderr.readline() if proc.stderr else ""
        assert "listening on" in line
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
        rest = proc.stderr.read() if proc.stderr else ""
        assert "draining" in rest and "stopped" in rest
        assert "Traceback" not in rest


async def test_malformed_requests_are_counted_and_logged(
    upstream: Upstream, start_proxy: ProxyFactory, access_lines: list[str]
) -> None:
    """A request aiohttp cannot parse never reaches a handler; the proxy's 400 for it still shows in
    the request metrics and the access log (method and route unknown), without the request's bytes."""
    proxy = await start_proxy(upstream.url)
    request = f"GET {ONE} HTTP/1.1\r\nHost: x\r\nAuthorization: {TOKEN}\r\nno colon here\r\n\r\n"
    reply = await exchange_raw(proxy.port, request.encode())
    assert reply.startswith(b"HTTP/1.0 400 ")
    accesslog.access.flush()
    assert len(access_lines) == 1
    record = json.loads(access_lines[0])
    assert (record["method"], record["route"], record["status"], record["outcome"]) == (
        "other",
        "other",
        400,
        "proxy_error",
    )
    assert TOKEN.rsplit(maxsplit=1)[-1] not in access_lines[0]
    count = proxy.state.metrics.registry.get_sample_value(
        "clever_proxy_requests_total",
        {"route": "other", "method": "other", "outcome": "proxy_error", "status_class": "4xx"},
    )
    assert count == 1
    assert not upstream.received
