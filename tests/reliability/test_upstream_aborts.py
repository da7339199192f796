"""Exchanges the proxy must end early: a framing error in the middle of an upstream answer, a request
that finds every pooled connection busy, and a client that leaves while its upstream exchange runs.

Each would otherwise hold a handler, an in-flight slot and an upstream connection until
`upstream.total_timeout_seconds`; here that timeout is long (5 s) and every test expects its outcome
well before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from proxy.server import RunningProxy
from tests.conftest import ProxyFactory, wait_until
from tests.reliability.harness import (
    GRADE,
    GRADE_BODY,
    TOKEN,
    Conn,
    FaultUpstream,
    SeenRequest,
    metric,
    pool_counts,
    probe,
    proxy_tasks,
    settle,
    status_of,
)

LONG = {"upstream.total_timeout_seconds": 5.0, "upstream.connect_timeout_seconds": 0.5}
# Well under the total timeout: what must happen "at once" happens within this.
PROMPT = 1.5
STREAMED = "/v3.0/uploads"  # not an LMS Connect route: its body is streamed, not buffered
FIRST_CHUNK = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n2\r\nok\r\n"


def _head(method: str, path: str, extra: bytes = b"") -> bytes:
    """A request head with the test token; `extra` adds header lines."""
    start = f"{method} {path} HTTP/1.1\r\nHost: p\r\nAuthorization: Bearer {TOKEN}\r\n"
    return start.encode() + extra + b"\r\n"


async def _held_until_closed(conn: Conn, req: SeenRequest) -> bool:
    """Never answer: hold the connection until the proxy closes it."""
    with contextlib.suppress(ConnectionError):
        await conn.reader.read()
    return False


def _requests(proxy: RunningProxy, outcome: str, status_class: str, method: str = "GET") -> float:
    """Requests counted with this outcome, status class and method, on any route."""
    wanted = {"method": method, "outcome": outcome, "status_class": status_class}
    return sum(
        sample.value
        for family in proxy.state.metrics.registry.collect()
        for sample in family.samples
        if sample.name == "clever_proxy_requests_total" and wanted.items() <= sample.labels.items()
    )


# --- a framing error in the middle of an answer -------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "then_close"),
    [
        (b"ZZ\r\n", False),  # not a chunk size
        (b"5\r\nhelloXX\r\n", False),  # a chunk longer than it said
        (b"ZZ\r\n", True),
        (b"5\r\nhelloXX\r\n", True),
    ],
    ids=["bad-size", "overlong-chunk", "bad-size-then-close", "overlong-chunk-then-close"],
)
async def test_broken_chunked_framing_mid_answer_cuts_the_client_at_once(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory, bad: bytes, then_close: bool
) -> None:
    async def broken(conn: Conn, req: SeenRequest) -> bool:
        await conn.send(FIRST_CHUNK)
        await asyncio.sleep(0.2)
        await conn.send(bad)
        if not then_close:
            await _held_until_closed(conn, req)
        return False

    fault_upstream.behaviours["/v3.0/chunks"] = broken
    proxy = await start_proxy(fault_upstream.url, **LONG)
    baseline = proxy_tasks(fault_upstream)
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    try:
        started = loop.time()
        writer.write(_head("GET", "/v3.0/chunks"))
        reply = await asyncio.wait_for(reader.read(), 4.0)  # until the proxy closes the connection
        elapsed = loop.time() - started
    finally:
        writer.close()
    assert status_of(reply) == 200
    head, _, body = reply.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head
    assert body.startswith(b"2\r\nok\r\n")
    assert not body.endswith(b"0\r\n\r\n"), "a broken answer was passed off as whole"
    assert elapsed < PROMPT, f"the client waited {elapsed:.1f} s for a broken answer to end"
    await settle(proxy, baseline, fault_upstream)  # the upstream connection is closed, not pooled
    assert pool_counts(proxy) == (0, 0)
    assert metric(proxy, "clever_proxy_upstream_errors_total", kind="protocol") == 1
    assert metric(proxy, "clever_proxy_upstream_errors_total", kind="timeout") == 0
    assert _requests(proxy, "upstream_error", "2xx") == 1
    assert (await probe(proxy, fault_upstream)).status == 200
    assert fault_upstream.connections == 2


# --- no free pooled connection --------------------------------------------------------------------


async def test_waiting_for_a_free_pooled_connection_is_bounded_by_the_connect_timeout(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory, caplog: pytest.LogCaptureFixture
) -> None:
    async def stall(conn: Conn, req: SeenRequest) -> bool:
        await asyncio.sleep(2.0)
        await conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlate")
        return True

    fault_upstream.behaviours["/v3.0/stall"] = stall
    settings = {**LONG, "upstream.pool_size": 2, "upstream.connect_timeout_seconds": 0.3}
    proxy = await start_proxy(fault_upstream.url, **settings)
    baseline = proxy_tasks(fault_upstream)
    loop = asyncio.get_running_loop()

    async def get(path: str) -> tuple[bytes, float]:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        started = loop.time()
        try:
            writer.write(_head("GET", path, b"Connection: close\r\n"))
            reply = await asyncio.wait_for(reader.read(), 6.0)
            return reply, loop.time() - started
        finally:
            writer.close()

    stalled = [asyncio.create_task(get("/v3.0/stall")) for _ in range(2)]
    await wait_until(lambda: len(fault_upstream.handled("/v3.0/stall")) == 2)
    assert pool_counts(proxy) == (2, 0)
    with caplog.at_level(logging.WARNING, logger="clever_proxy"):
        reply, elapsed = await get("/v3.0/third")
    assert status_of(reply) == 504, reply[:200]
    assert b"X-Clever-Proxy: error; kind=timeout" in reply
    assert elapsed < 1.0, f"a request waited {elapsed:.1f} s for a pooled connection"
    assert "no free pooled connection in time" in caplog.text
    assert fault_upstream.handled("/v3.0/third") == []
    for reply, _ in await asyncio.gather(*stalled):
        assert status_of(reply) == 200
    assert metric(proxy, "clever_proxy_upstream_errors_total", kind="timeout") == 1
    await settle(proxy, baseline, fault_upstream)


# --- a client that leaves -------------------------------------------------------------------------


def _with_body(method: str, path: str, body: bytes) -> bytes:
    return _head(method, path, b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)) + body


# A request without a body, one whose body is buffered and judged, one whose body is streamed upstream.
LEAVERS = [
    ("GET", "/v3.0/stall", _head("GET", "/v3.0/stall")),
    ("PATCH", GRADE, _with_body("PATCH", GRADE, GRADE_BODY)),
    ("POST", STREAMED, _with_body("POST", STREAMED, b"x" * 70_000)),
]


async def _wait_settled(proxy: RunningProxy, upstream: FaultUpstream, timeout: float) -> None:
    """Nothing in flight, no pooled connection lent out, no upstream connection left open."""
    await wait_until(
        lambda: proxy.state.in_flight == 0 and pool_counts(proxy)[0] == 0 and upstream.open == 0, timeout
    )


@pytest.mark.parametrize(("method", "path", "sent"), LEAVERS, ids=["GET", "PATCH-buffered", "POST-streamed"])
async def test_a_client_leaving_before_the_answer_frees_its_upstream_connection_at_once(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory, method: str, path: str, sent: bytes
) -> None:
    fault_upstream.behaviours[path] = _held_until_closed
    proxy = await start_proxy(fault_upstream.url, **{**LONG, "upstream.pool_size": 3})
    baseline = proxy_tasks(fault_upstream)
    clients = [await asyncio.open_connection("127.0.0.1", proxy.port) for _ in range(3)]
    for _, writer in clients:
        writer.write(sent)
    await wait_until(lambda: len(fault_upstream.handled(path)) == 3)
    assert pool_counts(proxy) == (3, 0)  # the whole pool is held
    loop = asyncio.get_running_loop()
    left = loop.time()
    for _, writer in clients:
        writer.close()
    await _wait_settled(proxy, fault_upstream, PROMPT)
    assert loop.time() - left < PROMPT
    # The pool serves again at once, and nothing was sent twice.
    assert (await asyncio.wait_for(probe(proxy, fault_upstream), PROMPT)).status == 200
    assert len(fault_upstream.handled(path)) == 3
    assert len([r for r in fault_upstream.requests if r.path == path]) == 3
    assert metric(proxy, "clever_proxy_upstream_errors_total", kind="client_gone") == 3
    assert metric(proxy, "clever_proxy_upstream_errors_total", kind="timeout") == 0
    assert _requests(proxy, "proxy_error", "4xx", method) == 3
    await settle(proxy, baseline, fault_upstream)


async def test_clients_that_leave_at_once_never_hold_the_pool(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory
) -> None:
    """Send a request and hang up at once, many times over: the pool stays free for the next client."""
    fault_upstream.behaviours["/v3.0/stall"] = _held_until_closed
    proxy = await start_proxy(fault_upstream.url, **{**LONG, "upstream.pool_size": 5})
    baseline = proxy_tasks(fault_upstream)
    for _ in range(20):
        _, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(_head("GET", "/v3.0/stall"))
        await writer.drain()
        writer.close()
    await _wait_settled(proxy, fault_upstream, PROMPT)
    assert (await asyncio.wait_for(probe(proxy, fault_upstream), PROMPT)).status == 200
    assert metric(proxy, "clever_proxy_upstream_errors_total", kind="client_gone") <= 20
    assert metric(proxy, "clever_proxy_upstream_errors_total", kind="timeout") == 0
    await settle(proxy, baseline, fault_upstream)


async def test_a_client_leaving_while_the_answer_streams_closes_the_upstream_connection(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory
) -> None:
    async def slow(conn: Conn, req: SeenRequest) -> bool:
        await conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"a" * 100)
        await _held_until_closed(conn, req)
        return False

    fault_upstream.behaviours["/v3.0/slow"] = slow
    proxy = await start_proxy(fault_upstream.url, **LONG)
    baseline = proxy_tasks(fault_upstream)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    try:
        writer.write(_head("GET", "/v3.0/slow"))
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), PROMPT)
        assert status_of(head) == 200
        await asyncio.wait_for(reader.readexactly(100), PROMPT)
    finally:
        writer.close()
    await _wait_settled(proxy, fault_upstream, PROMPT)
    assert metric(proxy, "clever_proxy_upstream_errors_total", kind="client_gone") == 1
    assert metric(proxy, "clever_proxy_upstream_errors_total", kind="timeout") == 0
    assert _requests(proxy, "upstream_error", "2xx") == 1  # as a client gone mid-answer always was
    assert len(fault_upstream.handled("/v3.0/slow")) == 1
    await settle(proxy, baseline, fault_upstream)


async def test_a_client_leaving_while_waiting_for_a_pooled_connection_gives_up_its_turn(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory
) -> None:
    fault_upstream.default = _held_until_closed
    settings = {**LONG, "upstream.pool_size": 1, "upstream.connect_timeout_seconds": 3.0}
    proxy = await start_proxy(fault_upstream.url, **settings)
    baseline = proxy_tasks(fault_upstream)
    _, holder = await asyncio.open_connection("127.0.0.1", proxy.port)
    holder.write(_head("GET", "/v3.0/held"))
    await wait_until(lambda: len(fault_upstream.handled("/v3.0/held")) == 1)
    _, waiter = await asyncio.open_connection("127.0.0.1", proxy.port)
    waiter.write(_head("GET", "/v3.0/waiting"))
    await wait_until(lambda: proxy.state.in_flight == 2)
    await asyncio.sleep(0.1)
    waiter.close()
    await wait_until(lambda: proxy.state.in_flight == 1, PROMPT)
    assert fault_upstream.handled("/v3.0/waiting") == []
    assert pool_counts(proxy) == (1, 0)
    holder.close()
    await _wait_settled(proxy, fault_upstream, PROMPT)
    assert metric(proxy, "clever_proxy_upstream_errors_total", kind="client_gone") == 2
    assert _requests(proxy, "proxy_error", "4xx") == 2
    await settle(proxy, baseline, fault_upstream)
