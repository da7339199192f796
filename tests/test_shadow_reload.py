"""Shadow mode against a Clever stand-in, missed rejections, and configuration reload."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from proxy import accesslog
from proxy import contract as contract_mod
from proxy import server as server_mod
from proxy.sandbox import DEFAULT_TOKEN, Sandbox
from proxy.server import reload
from tests.conftest import ProxyFactory, Upstream
from tests.test_quick_answers import read_answer

SECTION = "5f1b2c3d4e5f6a7b8c9d0e1f"
CREATE = f"/v3.1/sections/{SECTION}/assignments"
AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}


@pytest.fixture
async def clever_stand_in() -> str:
    runner = web.AppRunner(Sandbox(contract_mod.load()).app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"  # type: ignore[misc]
    await runner.cleanup()


def sample(proxy, name: str, **labels: str) -> float:
    return proxy.state.metrics.registry.get_sample_value(name, labels) or 0.0


async def test_shadow_mode_forwards_and_counts_agreement(
    clever_stand_in: str, start_proxy: ProxyFactory
) -> None:
    proxy = await start_proxy(clever_stand_in, **{"rules.mode": "shadow"})
    async with aiohttp.ClientSession() as client:
        base = f"http://127.0.0.1:{proxy.port}"
        for body in (b"{", b'{"title":5}', b'{"points_possible":1}'):
            async with client.post(
                base + CREATE, data=body, headers={**AUTH, "Accept-Encoding": "gzip"}
            ) as resp:
                assert resp.status == 400
                assert "X-Clever-Proxy" not in resp.headers  # Clever's (the stand-in's) own answer
        async with client.put(base + CREATE + "/6a1e9f3c-2b7d-4c8e-9f01-23456789abcd", headers=AUTH) as resp:
            assert resp.status == 405
    assert sample(proxy, "clever_proxy_shadow_verdicts_total", rule="json", result="agree") == 2
    assert sample(proxy, "clever_proxy_shadow_verdicts_total", rule="required_fields", result="agree") == 1
    assert sample(proxy, "clever_proxy_shadow_verdicts_total", rule="method", result="agree") == 1
    assert sample(proxy, "clever_proxy_local_rejections_total", rule="json") == 0


async def test_disagreement_and_missed_rejections_are_counted(
    upstream: Upstream, start_proxy: ProxyFactory, caplog: pytest.LogCaptureFixture, access_lines: list[str]
) -> None:
    async def clever_disagrees(request: web.BaseRequest, body: bytes) -> web.Response:
        return web.Response(
            status=400,
            body=b'{"message":"title must not be empty"}\n',
            headers={"Content-Type": "text/plain; charset=utf-8"},
        )

    upstream.behaviours[CREATE] = clever_disagrees
    proxy = await start_proxy(upstream.url, **{"rules.json": "shadow"})
    caplog.set_level("WARNING", logger="clever_proxy.shadow")
    async with aiohttp.ClientSession() as client:
        base = f"http://127.0.0.1:{proxy.port}"
        # Predicted: a date error quoting the client's value, which must stay out of the log.
        async with client.post(base + CREATE, data=b'{"due_date":"SECRET-VALUE"}', headers=AUTH) as resp:
            assert resp.status == 400
        # Passes every check, so no rule predicted Clever's 400: a missed rejection.
        async with client.post(
            base + CREATE,
            data=b'{"title":"t","description":"d","due_date":"2099-01-01T00:00:00Z"}',
            headers=AUTH,
        ) as resp:
            assert resp.status == 400
    assert sample(proxy, "clever_proxy_shadow_verdicts_total", rule="json", result="disagree") == 1
    assert sample(proxy, "clever_proxy_missed_rejections_total", message_class="other") == 1
    lines = [r.getMessage() for r in caplog.records if r.name == "clever_proxy.shadow"]
    assert len(lines) == 1
    disagreement = json.loads(lines[0])
    assert disagreement["rule"] == "json"
    assert (disagreement["predicted_status"], disagreement["actual_status"]) == (400, 400)
    assert disagreement["actual_message_class"] == "other"
    for secret in (DEFAULT_TOKEN, "SECRET-VALUE", "title must not be empty", SECTION):
        assert secret not in caplog.text
    # The disagreement names its request, whose access line names the rule that predicted it.
    accesslog.access.flush()
    shadowed, missed = (json.loads(line) for line in access_lines)
    assert disagreement["request_id"] == shadowed["request_id"] != missed["request_id"]
    assert (shadowed["outcome"], shadowed["rule"]) == ("forwarded", "json")
    assert shadowed["route"] == "/v3.1/sections/{section_id}/assignments"
    assert (missed["outcome"], missed["rule"]) == ("forwarded", None)


async def _reloadable_proxy(start_proxy: ProxyFactory, upstream: Upstream, cfg: Path, text: str):  # type: ignore[no-untyped-def]
    """A proxy in front of `upstream` whose reloads read `cfg` (written with `text`)."""
    cfg.write_text(text)
    proxy = await start_proxy(upstream.url)
    proxy.state.config_path = str(cfg)
    proxy.state.overrides = {"listen.port": 0, "admin.port": 0, "upstream.url": upstream.url}
    return proxy


async def test_reload_swaps_rule_modes_and_refuses_a_bad_file(
    upstream: Upstream, start_proxy: ProxyFactory, tmp_path: Path
) -> None:
    cfg = tmp_path / "proxy.toml"
    proxy = await _reloadable_proxy(start_proxy, upstream, cfg, '[rules]\njson = "enforce"\n')
    async with aiohttp.ClientSession() as client:
        url = f"http://127.0.0.1:{proxy.port}{CREATE}"

        async def answer() -> str:
            async with client.post(url, data=b"{", headers=AUTH) as resp:
                return resp.headers.get("X-Clever-Proxy", "forwarded")

        in_flight = asyncio.gather(*(answer() for _ in range(200)))
        cfg.write_text('[rules]\njson = "off"\n')
        await asyncio.sleep(0)
        assert reload(proxy.state) is True
        answers = await in_flight
        assert len(answers) == 200  # none dropped: each got the old or the new configuration's answer
        assert await answer() == "forwarded"
        cfg.write_text('[rules]\njson = "sometimes"\n')
        assert reload(proxy.state) is False
        assert await answer() == "forwarded"  # the last good configuration stays
    assert sample(proxy, "clever_proxy_config_generation") == 2
    assert sample(proxy, "clever_proxy_config_last_reload_success") == 0


async def test_a_reload_that_fails_unexpectedly_changes_nothing_and_counts_as_refused(
    upstream: Upstream,
    start_proxy: ProxyFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    proxy = await _reloadable_proxy(start_proxy, upstream, tmp_path / "proxy.toml", '[rules]\njson = "off"\n')
    running = (proxy.state.settings, proxy.state.pipeline, proxy.state.responder)

    def broken(settings: object) -> None:
        raise OverflowError("a bug while building the new configuration")

    monkeypatch.setattr(server_mod, "policy_of", broken)  # an injected fault: no valid file triggers one
    assert reload(proxy.state) is False
    assert (proxy.state.settings, proxy.state.pipeline, proxy.state.responder) == running
    assert sample(proxy, "clever_proxy_config_last_reload_success") == 0
    assert sample(proxy, "clever_proxy_config_generation") == 1
    assert "configuration reload failed (OverflowError); the running configuration stays" in caplog.text
    async with aiohttp.ClientSession() as client:
        async with client.post(f"http://127.0.0.1:{proxy.port}{CREATE}", data=b"{", headers=AUTH) as resp:
            assert resp.headers["X-Clever-Proxy"] == "local; rule=json"  # the old rules still answer


async def test_shadow_agreement_against_the_go_reference(clever_reference, start_proxy: ProxyFactory) -> None:
    """Predictions on certain rows agree with the Go reference; uncertain rows carry no prediction."""
    proxy = await start_proxy(
        clever_reference.url,
        **{"rules.mode": "shadow", "checks.due_date_skew_seconds": clever_reference.skew_seconds},
    )
    auth = {"Authorization": "Bearer district-token"}
    rows = [
        ("POST", CREATE, b'{"assignee_mode": ,}', "json"),
        ("POST", CREATE, b'{"points_possible":"100"}', "json"),
        ("POST", CREATE, b'{"submission_types":["essay"],"title":"t"}', "schema"),
        ("POST", CREATE, b'{"points_possible":10}', "required_fields"),
        ("POST", CREATE, b'{"title":"q","description":"d","due_date":"2020-01-01T00:00:00Z"}', "due_date"),
        ("GET", "/v3.1/sections/abc/assignments/6a1e9f3c-2b7d-4c8e-9f01-23456789abcd", None, "path_format"),
        ("GET", f"{CREATE}/quiz-1", None, "assignment_id"),
    ]
    async with aiohttp.ClientSession() as client:
        base = f"http://127.0.0.1:{proxy.port}"
        for method, path, body, _ in rows:
            async with client.request(method, base + path, data=body, headers=auth) as resp:
                assert resp.status == 400 and resp.headers.get("X-Clever-Reference") == "1"
        # uncertain for the reference (attachment type): forwarded with no prediction, no disagreement
        async with client.patch(
            f"{base}{CREATE}/6a1e9f3c-2b7d-4c8e-9f01-23456789abcd",
            data=b'{"attachments":[{"type":"link"}]}',
            headers=auth,
        ) as resp:
            assert resp.headers.get("X-Reference-Uncertain") == "schema"
    for _, _, _, rule in rows:
        assert sample(proxy, "clever_proxy_shadow_verdicts_total", rule=rule, result="agree") >= 1, rule
    assert (
        sum(sample(proxy, "clever_proxy_shadow_verdicts_total", rule=r, result="disagree") for *_, r in rows)
        == 0
    )
    assert sample(proxy, "clever_proxy_missed_rejections_total", message_class="other") == 0


def test_sighup_reloads_the_running_command(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    cfg = tmp_path / "proxy.toml"
    cfg.write_text('[listen]\nport = 0\n[admin]\nport = 0\n[upstream]\nurl = "http://127.0.0.1:9"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEVER_PROXY_")}
    root = Path(__file__).resolve().parent.parent
    with subprocess.Popen(
        [sys.executable, "-m", "proxy", "--config", str(cfg)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        cwd=root,
        env=env,
    ) as proc:
        assert proc.stderr is not None
        deadline = time.time() + 20
        line = ""
        while time.time() < deadline and "listening on" not in line:
            line = proc.stderr.readline()
        cfg.write_text(cfg.read_text() + '[rules]\nmode = "shadow"\n')
        proc.send_signal(signal.SIGHUP)
        while time.time() < deadline and "reload" not in line:
            line = proc.stderr.readline()
        assert "configuration reloaded (generation 2)" in line
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0


async def test_reload_applies_marker_and_streamed_limit_and_keeps_listener_settings(
    upstream: Upstream, start_proxy: ProxyFactory, tmp_path: Path
) -> None:
    """What a reload can change takes effect for the next request (the marker on the proxy's own
    answers to malformed HTTP too, the streamed-body limit); what is fixed when a connection opens
    (parser limits, the idle timeout) or at start (the event loop) is kept, and the log says so."""
    cfg = tmp_path / "proxy.toml"
    cfg.write_text("[limits]\nmax_streamed_body_bytes = 1000000\n")
    proxy = await start_proxy(upstream.url, **{"server.client_idle_timeout_seconds": 30})
    proxy.state.config_path = str(cfg)
    proxy.state.overrides = {"listen.port": 0, "admin.port": 0, "upstream.url": upstream.url}
    assert reload(proxy.state) is True
    cfg.write_text(
        '[server]\nmarker_header = "X-Edge"\nclient_idle_timeout_seconds = 0.2\nevent_loop = "asyncio"\n'
        "shutdown_grace_seconds = 3\n[limits]\nmax_streamed_body_bytes = 10\nmax_headers = 5\n"
    )
    warnings: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: warnings.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("clever_proxy").addHandler(handler)  # the proxy's logger does not propagate
    try:
        assert reload(proxy.state) is True
    finally:
        logging.getLogger("clever_proxy").removeHandler(handler)
    kept = [message for message in warnings if "only with a restart" in message]
    assert len(kept) == 1
    for key in (
        "server.client_idle_timeout_seconds",
        "server.event_loop",
        "server.shutdown_grace_seconds",  # the supervisor of --workers keeps its own at start
        "limits.max_headers",
    ):
        assert key in kept[0]
    assert proxy.state.settings.client_idle_timeout == 30
    assert proxy.state.settings.shutdown_grace_seconds == 25

    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    writer.close()
    assert b" 400 Bad Request\r\n" in head and b"\r\nX-Edge: error; kind=bad_request\r\n" in head

    async with aiohttp.ClientSession() as client:
        url = f"http://127.0.0.1:{proxy.port}/v3.1/some/streamed/route"
        async with client.put(url, data=b"x" * 11, headers=AUTH) as resp:
            assert resp.status == 413  # the new streamed-body limit
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"GET /v3.1/unrouted HTTP/1.1\r\nHost: x\r\n\r\n")
        await read_answer(reader)
        await asyncio.sleep(0.5)  # past the refused 0.2 s idle timeout: still open
        writer.write(b"GET /v3.1/unrouted HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await read_answer(reader)).startswith(b"HTTP/1.1 200 ")
        writer.close()
