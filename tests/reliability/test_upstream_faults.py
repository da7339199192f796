"""Upstream faults: every way Clever (or the network to it) can fail, against the real proxy.

For each fault: the client gets a clear answer (the upstream's own, the proxy's marked 502/504, or a
cut connection once headers went out); the upstream's application saw each write at most once; and
afterwards the proxy serves again with nothing in flight, no pooled connection lent out, no task left
over and no more upstream connections open than its pool keeps idle.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import time

import aiohttp
import pytest

from proxy.server import RunningProxy
from proxy.upstream import Pool, UpstreamFailure
from tests.conftest import ProxyFactory
from tests.reliability.harness import (
    AUTH,
    CREATE,
    GRADE,
    GRADE_BODY,
    ONE,
    TOKEN_IN_QUERY,
    Behaviour,
    Conn,
    FaultUpstream,
    SeenRequest,
    answer,
    big_response,
    metric,
    pool_counts,
    probe,
    proxy_tasks,
    reset_after_request,
    reset_mid_response,
    settle,
    slow_body,
    slow_first_byte,
    truncated,
)

FAST = {"upstream.total_timeout_seconds": 1.0, "upstream.connect_timeout_seconds": 0.5}
CREATE_BODY = b'{"title":"Lab","description":"Leaf disks","due_date":"2099-05-01T17:00:00Z"}'
STREAMED = "/v3.0/uploads"  # not an LMS Connect route: its body is streamed, not buffered


async def _send(
    client: aiohttp.ClientSession, port: int, method: str, path: str, body: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    async with client.request(method, f"http://127.0.0.1:{port}{path}", data=body, headers=AUTH) as resp:
        return resp.status, dict(resp.headers), await resp.read()


WRITES = [("PATCH", GRADE, GRADE_BODY), ("POST", CREATE, CREATE_BODY), ("POST", STREAMED, b"x" * 70_000)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_connection_refused_is_a_marked_502_then_recovers(start_proxy: ProxyFactory) -> None:
    port = _free_port()
    proxy = await start_proxy(f"http://127.0.0.1:{port}", **FAST)
    baseline = proxy_tasks()
    async with aiohttp.ClientSession() as client:
        for method, path, body in [*WRITES, ("GET", ONE, None)]:
            status, headers, raw = await _send(client, proxy.port, method, path, body)
            assert status == 502, (method, path)
            assert headers["X-Clever-Proxy"] == "error; kind=connect"
            assert b"could not reach Clever (connection failed)" in raw
    assert metric(proxy, "clever_proxy_upstream_errors_total", kind="connect") == 4
    await settle(proxy, baseline)
    # The same port comes up: the proxy serves without a restart.
    upstream = FaultUpstream()
    server = await asyncio.start_server(upstream._serve, "127.0.0.1", port)
    try:
        upstream.port = port
        assert (await probe(proxy, upstream)).status == 200
    finally:
        server.close()
        await upstream.close()
        await server.wait_closed()


async def test_reset_before_the_request_is_read(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory
) -> None:
    async def reset_at_once(conn: Conn) -> bool:
        conn.reset()
        return False

    fault_upstream.on_connect = reset_at_once
    proxy = await start_proxy(fault_upstream.url, **FAST)
    baseline = proxy_tasks(fault_upstream)
    async with aiohttp.ClientSession() as client:
        for method, path, body in WRITES:
            before = fault_upstream.connections
            status, headers, raw = await _send(client, proxy.port, method, path, body)
            assert status == 502 and headers["X-Clever-Proxy"].startswith("error; kind=")
            assert b"could not reach Clever" in raw
            assert fault_upstream.connections - before == 1, "a write was tried on a second connection"
        before = fault_upstream.connections
        status, _, _ = await _send(client, proxy.port, "GET", ONE)
        assert status == 502
        assert fault_upstream.connections - before <= 2  # a safe method may be tried once more
    assert fault_upstream.requests == []
    await settle(proxy, baseline, fault_upstream)
    fault_upstream.on_connect = None
    assert (await probe(proxy, fault_upstream)).status == 200
    await settle(proxy, baseline, fault_upstream)


async def test_reset_after_the_request_was_read_never_resends_a_write(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory
) -> None:
    for _, path, _ in WRITES:
        fault_upstream.behaviours[path] = reset_after_request
    fault_upstream.behaviours[ONE] = reset_after_request
    proxy = await start_proxy(fault_upstream.url, **FAST)
    baseline = proxy_tasks(fault_upstream)
    async with aiohttp.ClientSession() as client:
        for method, path, body in WRITES:
            status, headers, _ = await _send(client, proxy.port, method, path, body)
            assert status == 502
            assert headers["X-Clever-Proxy"] == "error; kind=protocol"
            seen = fault_upstream.handled(path)
            assert len(seen) == 1, f"{method} {path} reached the upstream {len(seen)} times"
            assert seen[0].body == body
        status, _, _ = await _send(client, proxy.port, "GET", ONE)
        assert status == 502
        assert 1 <= len(fault_upstream.handled(ONE)) <= 2  # safe: one retry allowed
    assert metric(proxy, "clever_proxy_upstream_errors_total", kind="protocol") == 4
    await settle(proxy, baseline, fault_upstream)
    assert (await probe(proxy, fault_upstream)).status == 200


async def test_reset_mid_response_cuts_the_client_connection(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory
) -> None:
    fault_upstream.behaviours[GRADE] = reset_mid_response()
    proxy = await start_proxy(fault_upstream.url, **FAST)
    baseline = proxy_tasks(fault_upstream)
    async with aiohttp.ClientSession() as client:
        async with client.patch(
            f"http://127.0.0.1:{proxy.port}{GRADE}", data=GRADE_BODY, headers=AUTH
        ) as resp:
            assert resp.status == 200  # the upstream's head went out before it failed
            with pytest.raises(aiohttp.ClientPayloadError):
                await resp.read()
    assert len(fault_upstream.handled(GRADE)) == 1
    await settle(proxy, baseline, fault_upstream)
    assert metric(proxy, "clever_proxy_upstream_errors_total", kind="protocol") == 1
    assert (await probe(proxy, fault_upstream)).status == 200


async def test_no_first_byte_in_time_is_a_marked_504_sent_once(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory
) -> None:
    for _, path, _ in WRITES:
        fault_upstream.behaviours[path] = slow_first_byte(2.0)
    proxy = await start_proxy(fault_upstream.url, **FAST)
    baseline = proxy_tasks(fault_upstream)
    async with aiohttp.ClientSession() as client:
        results = await asyncio.gather(*(_send(client, proxy.port, m, p, b) for m, p, b in WRITES))
    for (method, path, _), (status, headers, raw) in zip(WRITES, results, strict=True):
        assert status == 504, (method, path)
        assert headers["X-Clever-Proxy"] == "error; kind=timeout"
        assert b"could not reach Clever (no answer in time)" in raw
        assert len(fault_upstream.handled(path)) == 1
    await settle(proxy, baseline, fault_upstream)
    assert (await probe(proxy, fault_upstream)).status == 200


async def test_a_body_slower_than_the_timeout_cuts_the_client_connection(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory
) -> None:
    fault_upstream.behaviours[GRADE] = slow_body(pieces=30, pause=0.1)
    proxy = await start_proxy(fault_upstream.url, **FAST)
    baseline = proxy_tasks(fault_upstream)
    async with aiohttp.ClientSession() as client:
        async with client.patch(
            f"http://127.0.0.1:{proxy.port}{GRADE}", data=GRADE_BODY, headers=AUTH
        ) as resp:
            assert resp.status == 200
            with pytest.raises(aiohttp.ClientPayloadError):
                await resp.read()
    assert len(fault_upstream.handled(GRADE)) == 1
    await settle(proxy, baseline, fault_upstream)
    assert metric(proxy, "clever_proxy_upstream_errors_total", kind="timeout") == 1
    assert (await probe(proxy, fault_upstream)).status == 200


async def test_a_truncated_body_cuts_the_client_connection(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory
) -> None:
    fault_upstream.behaviours[GRADE] = truncated(declared=10_000, sent=4_000)
    proxy = await start_proxy(fault_upstream.url, **FAST)
    baseline = proxy_tasks(fault_upstream)
    async with aiohttp.ClientSession() as client:
        async with client.patch(
            f"http://127.0.0.1:{proxy.port}{GRADE}", data=GRADE_BODY, headers=AUTH
        ) as resp:
            assert resp.status == 200 and resp.headers["Content-Length"] == "10000"
            with pytest.raises(aiohttp.ClientPayloadError):
                await resp.read()
    assert len(fault_upstream.handled(GRADE)) == 1
    await settle(proxy, baseline, fault_upstream)
    assert metric(proxy, "clever_proxy_upstream_errors_total", kind="protocol") == 1
    assert (await probe(proxy, fault_upstream)).status == 200


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_upstream_5xx_is_passed_through_untouched_and_not_retried(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory, status: int
) -> None:
    body = b'{"message":"lms unavailable"}'
    for path in (GRADE, ONE):
        fault_upstream.behaviours[path] = answer(status, body, ("Retry-After", "7"))
    proxy = await start_proxy(fault_upstream.url, **FAST)
    baseline = proxy_tasks(fault_upstream)
    async with aiohttp.ClientSession() as client:
        for method, path, data in (("PATCH", GRADE, GRADE_BODY), ("GET", ONE, None)):
            got, headers, raw = await _send(client, proxy.port, method, path, data)
            assert (got, raw) == (status, body)
            assert headers["Retry-After"] == "7"
            assert "X-Clever-Proxy" not in headers
            assert len(fault_upstream.handled(path)) == 1
    assert metric(proxy, "clever_proxy_upstream_errors_total", kind="protocol") == 0
    await settle(proxy, baseline, fault_upstream)


async def test_a_50_mib_response_streams_with_backpressure(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory
) -> None:
    size = 50 * 1024 * 1024
    sent = 0
    inner = big_response(size)

    async def counting(conn: Conn, req: SeenRequest) -> bool:
        nonlocal sent
        original = conn.send

        async def send(data: bytes) -> None:
            nonlocal sent
            await original(data)
            sent += len(data)

        conn.send = send  # type: ignore[method-assign]
        return await inner(conn, req)

    fault_upstream.behaviours["/v3.0/export"] = counting
    proxy = await start_proxy(fault_upstream.url, **{"upstream.total_timeout_seconds": 30.0})
    baseline = proxy_tasks(fault_upstream)
    digest = hashlib.sha256()
    expected = hashlib.sha256()
    block = bytes(range(256)) * 4096
    for _ in range(50):
        expected.update(block)
    got = 0
    async with aiohttp.ClientSession(auto_decompress=False) as client:
        async with client.get(f"http://127.0.0.1:{proxy.port}/v3.0/export", headers=AUTH) as resp:
            assert resp.status == 200 and resp.headers["Content-Length"] == str(size)
            first = await resp.content.readexactly(1 << 20)
            digest.update(first)
            got += len(first)
            await asyncio.sleep(0.5)
            # The client is not reading: the proxy must not have pulled the whole answer in meanwhile.
            assert sent < 24 * 1024 * 1024, f"{sent} bytes left the upstream while the client paused"
            async for chunk in resp.content.iter_chunked(1 << 20):
                digest.update(chunk)
                got += len(chunk)
    assert got == size and digest.digest() == expected.digest()
    await settle(proxy, baseline, fault_upstream)


@pytest.mark.parametrize("closing", ["fin", "rst"])
async def test_an_idle_pooled_connection_closed_by_the_upstream_is_not_reused(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory, closing: str
) -> None:
    async def answer_then_close(conn: Conn, req: SeenRequest) -> bool:
        await conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")  # keep-alive, as HTTP/1.1 implies
        await asyncio.sleep(0.1)
        if closing == "rst":
            conn.reset()
        return False

    fault_upstream.behaviours["/v3.0/first"] = answer_then_close
    proxy = await start_proxy(fault_upstream.url, **FAST)
    baseline = proxy_tasks(fault_upstream)
    async with aiohttp.ClientSession() as client:
        assert (await _send(client, proxy.port, "GET", "/v3.0/first"))[0] == 200
        await asyncio.sleep(0.3)  # the upstream has closed the pooled connection by now
        status, _, _ = await _send(client, proxy.port, "PATCH", GRADE, GRADE_BODY)
        assert status == 200
    assert len(fault_upstream.handled(GRADE)) == 1
    assert fault_upstream.handled(GRADE)[0].conn == 2  # a fresh connection
    await settle(proxy, baseline, fault_upstream)


async def test_a_pooled_connection_dropped_as_a_request_arrives_retries_only_safe_methods(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory
) -> None:
    """The keep-alive race: the upstream gives up an idle connection just as a request is sent on it.
    The proxy cannot know whether the request was read; only safe methods are tried again."""
    fault_upstream.drop_reused = True
    proxy = await start_proxy(fault_upstream.url, **FAST)
    baseline = proxy_tasks(fault_upstream)
    async with aiohttp.ClientSession() as client:
        for method, path, body in [*WRITES, ("DELETE", ONE, None)]:
            assert (await _send(client, proxy.port, "GET", "/v3.0/warm"))[0] == 200  # leaves one pooled
            assert pool_counts(proxy)[1] >= 1
            arrivals = len([r for r in fault_upstream.requests if r.path == path])
            status, headers, _ = await _send(client, proxy.port, method, path, body)
            assert status == 502, (method, path)
            assert headers["X-Clever-Proxy"] == "error; kind=protocol"
            sent = [r for r in fault_upstream.requests if r.path == path][arrivals:]
            assert len(sent) == 1, f"{method} {path} was sent {len(sent)} times"
            assert not sent[0].handled
        # A safe method on the same race is retried once, on a new connection, and succeeds.
        assert (await _send(client, proxy.port, "GET", "/v3.0/warm"))[0] == 200
        status, _, _ = await _send(client, proxy.port, "GET", f"/v3.0/me?token={TOKEN_IN_QUERY}")
        assert status == 200
    me = [r for r in fault_upstream.requests if r.path == "/v3.0/me"]
    assert [r.handled for r in me] == [False, True]
    await settle(proxy, baseline, fault_upstream)


async def test_an_answer_whose_connection_header_names_its_length_is_still_framed(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory
) -> None:
    """`Connection: Content-Length` makes the upstream's length hop-by-hop: the proxy frames the body
    itself, so two answers on one kept-alive client connection stay two answers."""

    async def listed(conn: Conn, req: SeenRequest) -> bool:
        await conn.send(b"HTTP/1.1 200 OK\r\nConnection: Content-Length\r\nContent-Length: 5\r\n\r\nhello")
        return True

    fault_upstream.default = listed
    proxy = await start_proxy(fault_upstream.url, **FAST)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    replies = []
    for _ in range(2):
        writer.write(b"GET /v3.0/x HTTP/1.1\r\nHost: p\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert b"\r\nContent-Length: 5\r\n" in head
        replies.append(await asyncio.wait_for(reader.readexactly(5), 5))
    writer.close()
    assert replies == [b"hello", b"hello"]


async def _borrow_and_return(pool: Pool, deadline: float) -> str:
    try:
        connection = await pool._borrow(deadline, fresh=False)
    except UpstreamFailure as failure:
        return failure.kind
    pool.give_back(connection)
    return "served"


async def test_a_wake_up_is_never_lost_when_a_waiter_gives_up(fault_upstream: FaultUpstream) -> None:
    """A waiter woken for a returned connection whose own deadline passes before it runs passes its
    turn on: the next waiter gets the connection at once instead of timing out beside an idle one."""
    loop = asyncio.get_running_loop()
    pool = Pool(fault_upstream.url, limit=1, connect_timeout=1.0)
    now = loop.time()
    held = await pool._borrow(now + 10, fresh=False)
    first = asyncio.create_task(_borrow_and_return(pool, now + 0.3))
    second = asyncio.create_task(_borrow_and_return(pool, now + 3.0))
    await asyncio.sleep(0)
    # One slow loop iteration, after which the connection's return and the first waiter's deadline
    # fall due together: the waiter is woken and cancelled before it can run.
    loop.call_at(now + 0.25, time.sleep, 0.1)
    loop.call_at(now + 0.29, pool.give_back, held)
    assert await first == "timeout"
    assert await second == "served"
    assert loop.time() - now < 1.0
    await pool.close()


async def test_closing_the_pool_releases_every_waiter(fault_upstream: FaultUpstream) -> None:
    loop = asyncio.get_running_loop()
    pool = Pool(fault_upstream.url, limit=1, connect_timeout=1.0)
    held = await pool._borrow(loop.time() + 10, fresh=False)
    waiters = [asyncio.create_task(_borrow_and_return(pool, loop.time() + 5.0)) for _ in range(3)]
    await asyncio.sleep(0.05)
    await pool.close()
    assert await asyncio.wait_for(asyncio.gather(*waiters), 1.0) == ["connect"] * 3
    pool.discard(held)


async def _patch_grade(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory, behaviour: Behaviour
) -> tuple[RunningProxy, int, tuple[int, dict[str, str], bytes], float]:
    """One grade PATCH through a proxy (5 s total timeout) to an upstream answering with `behaviour`:
    the proxy, its task baseline, the answer, and the seconds it took."""
    fault_upstream.behaviours[GRADE] = behaviour
    proxy = await start_proxy(fault_upstream.url, **{**FAST, "upstream.total_timeout_seconds": 5.0})
    baseline = proxy_tasks(fault_upstream)
    started = time.monotonic()
    async with aiohttp.ClientSession() as client:
        answer = await _send(client, proxy.port, "PATCH", GRADE, GRADE_BODY)
    return proxy, baseline, answer, time.monotonic() - started


async def test_an_unrequested_101_is_a_protocol_error(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory
) -> None:
    """The proxy never forwards Upgrade, so a 101 answers nothing it asked: passing it on would leave
    the client on a connection with no protocol (it got a bare 101 and then waited for the idle timeout)."""

    async def switches(conn: Conn, req: SeenRequest) -> bool:
        await conn.send(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\nfoo-bytes"
        )
        await asyncio.sleep(3)  # keeps the connection, as a switched protocol would
        return False

    proxy, baseline, (status, headers, raw), seconds = await _patch_grade(
        fault_upstream, start_proxy, switches
    )
    assert seconds < 1.5
    assert status == 502 and headers["X-Clever-Proxy"] == "error; kind=protocol"
    assert b"foo-bytes" not in raw
    assert len(fault_upstream.handled(GRADE)) == 1
    assert metric(proxy, "clever_proxy_upstream_errors_total", kind="protocol") == 1
    await settle(proxy, baseline, fault_upstream)


@pytest.mark.parametrize(("interim", "status"), [(2, 200), (5, 200), (6, 502), (100_000, 502)])
async def test_interim_answers_are_skipped_up_to_a_bound(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory, interim: int, status: int
) -> None:
    """A few 1xx answers before the real one are skipped; a flood is a broken upstream (it held the
    event loop for seconds while every parsed interim answer was read)."""
    hint = b"HTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n"

    async def hints_first(conn: Conn, req: SeenRequest) -> bool:
        await conn.send(hint * interim + b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        return False

    proxy, baseline, (got, headers, raw), seconds = await _patch_grade(
        fault_upstream, start_proxy, hints_first
    )
    assert seconds < 2.0
    assert got == status
    if status == 200:
        assert raw == b"ok" and "X-Clever-Proxy" not in headers
    else:
        assert headers["X-Clever-Proxy"] == "error; kind=protocol"
        assert metric(proxy, "clever_proxy_upstream_errors_total", kind="protocol") == 1
    await settle(proxy, baseline, fault_upstream)
