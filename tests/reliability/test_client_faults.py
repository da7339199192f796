"""Client faults: clients that vanish mid-request, trickle bytes, or never finish, against the real proxy.

Nothing a client does may leave a request half-forwarded (the upstream never sees a partial body as a
whole request), tie up the proxy past the configured timeouts, or leave tasks and connections behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import aiohttp
import pytest

from tests.conftest import ProxyFactory, wait_until
from tests.reliability.conftest import SecretsWatch
from tests.reliability.harness import (
    AUTH,
    GRADE,
    TOKEN,
    Conn,
    FaultUpstream,
    SeenRequest,
    big_response,
    body_of,
    header_of,
    metric,
    probe,
    proxy_tasks,
    settle,
    status_of,
)

STREAMED = "/v3.0/uploads"


def _head(method: str, path: str, *lines: str) -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: clever.test\r\nAuthorization: Bearer {TOKEN}\r\n"
        + "".join(f"{line}\r\n" for line in lines)
        + "\r\n"
    ).encode()


async def _open(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


def _no_errors_logged(watch: SecretsWatch) -> None:
    errors = [line for line in watch.handler.lines if line.startswith(("ERROR", "CRITICAL"))]
    assert errors == []


async def test_client_gone_mid_upload_on_a_validated_route(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory, secrets_watch: SecretsWatch
) -> None:
    proxy = await start_proxy(fault_upstream.url)
    baseline = proxy_tasks(fault_upstream)
    _, writer = await _open(proxy.port)
    writer.write(_head("PATCH", GRADE, "Content-Length: 5000") + b'{"grade_points": 1')
    await writer.drain()
    await wait_until(lambda: proxy.state.in_flight == 1)
    writer.close()
    await wait_until(lambda: proxy.state.in_flight == 0)
    assert fault_upstream.connections == 0
    route = "/v3.1/sections/{section_id}/assignments/{assignment_id}/submissions/{user_id}"
    labels = {"route": route, "method": "PATCH", "outcome": "proxy_error", "status_class": "4xx"}
    assert metric(proxy, "clever_proxy_requests_total", **labels) == 1
    _no_errors_logged(secrets_watch)
    await settle(proxy, baseline, fault_upstream)
    assert (await probe(proxy, fault_upstream)).status == 200


async def test_client_gone_mid_upload_of_a_streamed_body_never_completes_upstream(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory, secrets_watch: SecretsWatch
) -> None:
    proxy = await start_proxy(fault_upstream.url)
    baseline = proxy_tasks(fault_upstream)
    for framing in ("Content-Length: 1000000", "Transfer-Encoding: chunked"):
        before = len(fault_upstream.raw)
        _, writer = await _open(proxy.port)
        writer.write(_head("POST", STREAMED, framing))
        piece = b"p" * 100_000
        chunked = framing.startswith("Transfer")
        writer.write((b"%x\r\n" % len(piece) + piece + b"\r\n") if chunked else piece)
        await writer.drain()
        await wait_until(
            lambda b=before: len(fault_upstream.raw) > b and len(fault_upstream.raw[b + 1]) > 50_000
        )
        writer.close()
        await wait_until(lambda: proxy.state.in_flight == 0)
        await wait_until(lambda: len(fault_upstream.requests) == len(fault_upstream.raw))
        seen = fault_upstream.requests[-1]
        assert seen.path == STREAMED and not seen.complete and not seen.handled, framing
        if chunked:
            assert not bytes(fault_upstream.raw[seen.conn]).endswith(b"0\r\n\r\n")
    assert metric(proxy, "clever_proxy_upstream_errors_total", kind="client_gone") == 2
    assert metric(proxy, "clever_proxy_upstream_errors_total", kind="protocol") == 0
    _no_errors_logged(secrets_watch)
    await settle(proxy, baseline, fault_upstream)
    assert (await probe(proxy, fault_upstream)).status == 200


async def test_client_gone_mid_download_closes_the_upstream_connection(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory, secrets_watch: SecretsWatch
) -> None:
    fault_upstream.behaviours["/v3.0/export"] = big_response(50 * 1024 * 1024)
    proxy = await start_proxy(fault_upstream.url)
    baseline = proxy_tasks(fault_upstream)
    reader, writer = await _open(proxy.port)
    writer.write(_head("GET", "/v3.0/export"))
    await writer.drain()
    await reader.readexactly(1 << 20)
    writer.close()
    await wait_until(lambda: proxy.state.in_flight == 0)
    assert metric(proxy, "clever_proxy_upstream_errors_total", kind="client_gone") == 1
    assert metric(proxy, "clever_proxy_upstream_errors_total", kind="protocol") == 0
    _no_errors_logged(secrets_watch)
    await settle(proxy, baseline, fault_upstream)  # the half-read upstream connection was not pooled
    assert (await probe(proxy, fault_upstream)).status == 200


async def test_a_head_sent_a_byte_at_a_time_is_cut_at_the_idle_timeout_and_others_are_served(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory
) -> None:
    proxy = await start_proxy(fault_upstream.url, **{"server.client_idle_timeout_seconds": 1.0})
    baseline = proxy_tasks(fault_upstream)
    reader, writer = await _open(proxy.port)
    started = time.monotonic()
    request = _head("GET", "/v3.0/me") * 3

    async def drip() -> None:
        with contextlib.suppress(ConnectionError):
            for byte in request:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.05)

    dripping = asyncio.create_task(drip())
    # Meanwhile other clients are served at once.
    for _ in range(5):
        t0 = time.monotonic()
        assert (await probe(proxy, fault_upstream)).status == 200
        assert time.monotonic() - t0 < 0.5
    closed = await asyncio.wait_for(reader.read(), 5)
    elapsed = time.monotonic() - started
    dripping.cancel()
    await asyncio.gather(dripping, return_exceptions=True)
    writer.close()
    assert closed == b""  # cut without an answer: no request ever arrived
    assert 0.9 <= elapsed < 2.5, elapsed
    assert [r.path for r in fault_upstream.requests] == ["/v3.0/probe"] * 5
    await settle(proxy, baseline, fault_upstream)


async def test_an_idle_keep_alive_connection_is_closed_at_the_idle_timeout(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory
) -> None:
    proxy = await start_proxy(fault_upstream.url, **{"server.client_idle_timeout_seconds": 0.5})
    baseline = proxy_tasks(fault_upstream)
    reader, writer = await _open(proxy.port)
    writer.write(_head("GET", "/v3.0/me"))
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert status_of(head) == 200
    length = int(header_of(head, "Content-Length") or 0)
    await reader.readexactly(length)
    started = time.monotonic()
    assert await asyncio.wait_for(reader.read(), 5) == b""
    assert 0.4 <= time.monotonic() - started < 2.0
    writer.close()
    await settle(proxy, baseline, fault_upstream)


async def test_a_body_slower_than_the_body_timeout_gets_a_408_on_a_validated_route(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory
) -> None:
    proxy = await start_proxy(fault_upstream.url, **{"server.client_body_timeout_seconds": 0.5})
    baseline = proxy_tasks(fault_upstream)
    reader, writer = await _open(proxy.port)
    writer.write(_head("PATCH", GRADE, "Content-Length: 200"))
    started = time.monotonic()

    async def drip() -> None:
        with contextlib.suppress(ConnectionError):
            for _ in range(200):
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(0.05)

    dripping = asyncio.create_task(drip())
    reply = await asyncio.wait_for(reader.read(), 5)
    dripping.cancel()
    await asyncio.gather(dripping, return_exceptions=True)
    writer.close()
    assert status_of(reply) == 408
    assert header_of(reply, "X-Clever-Proxy") == "error; kind=client_timeout"
    assert b"did not receive the whole request body in time" in body_of(reply)
    assert 0.4 <= time.monotonic() - started < 2.0
    assert fault_upstream.connections == 0
    await settle(proxy, baseline, fault_upstream)


async def test_a_streamed_body_slower_than_the_body_timeout_never_completes_upstream(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory
) -> None:
    proxy = await start_proxy(fault_upstream.url, **{"server.client_body_timeout_seconds": 0.5})
    baseline = proxy_tasks(fault_upstream)
    for framing in ("Content-Length: 200", "Transfer-Encoding: chunked"):
        reader, writer = await _open(proxy.port)
        writer.write(_head("POST", STREAMED, framing))
        chunked = framing.startswith("Transfer")

        async def drip(writer: asyncio.StreamWriter = writer, chunked: bool = chunked) -> None:
            with contextlib.suppress(ConnectionError):
                for _ in range(200):
                    writer.write(b"1\r\nx\r\n" if chunked else b"x")
                    await writer.drain()
                    await asyncio.sleep(0.05)

        dripping = asyncio.create_task(drip())
        reply = await asyncio.wait_for(reader.read(), 5)
        dripping.cancel()
        await asyncio.gather(dripping, return_exceptions=True)
        writer.close()
        assert status_of(reply) == 408, framing
        assert header_of(reply, "X-Clever-Proxy") == "error; kind=client_timeout"
        await wait_until(lambda: len(fault_upstream.requests) == len(fault_upstream.raw))
        seen = fault_upstream.requests[-1]
        assert not seen.complete and not seen.handled
    await settle(proxy, baseline, fault_upstream)
    assert (await probe(proxy, fault_upstream)).status == 200


async def test_many_sequential_disconnects_leave_nothing_behind(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory
) -> None:
    """Every way of hanging up, 30 times each, interleaved with good requests."""
    proxy = await start_proxy(fault_upstream.url)
    baseline = proxy_tasks(fault_upstream)
    shapes = [
        b"GET /v3.0/me HTT",
        _head("PATCH", GRADE, "Content-Length: 100")[:-10],
        _head("PATCH", GRADE, "Content-Length: 100") + b"{",
        _head("POST", STREAMED, "Transfer-Encoding: chunked") + b"5\r\nab",
        _head("GET", "/v3.0/me"),  # gone before the answer
    ]
    async with aiohttp.ClientSession() as client:
        for _ in range(30):
            for shape in shapes:
                _, writer = await _open(proxy.port)
                writer.write(shape)
                await writer.drain()
                writer.transport.abort()
            async with client.get(f"http://127.0.0.1:{proxy.port}/v3.0/ok", headers=AUTH) as resp:
                assert resp.status == 200
    await wait_until(lambda: proxy.state.in_flight == 0)
    assert all(not r.handled or r.path in ("/v3.0/ok", "/v3.0/me") for r in fault_upstream.requests)
    await settle(proxy, baseline, fault_upstream)


_EARLY_ANSWERS = {
    # The upstream's answer head (and a first piece of its body) before the request body has ended.
    "length": b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"a" * 10,
    "chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n" + b"a" * 10 + b"\r\n",
    "until_close": b"HTTP/1.1 200 OK\r\n\r\n" + b"a" * 10,
}


@pytest.mark.parametrize("framing", sorted(_EARLY_ANSWERS))
@pytest.mark.parametrize("failure", ["bad_body", "too_large", "too_slow", "gone"])
async def test_a_body_failing_after_the_upstream_began_answering_cuts_the_answer(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory, framing: str, failure: str
) -> None:
    """The upstream answers before the client's body has ended, then the body fails: the answer
    cannot be finished, so the client connection is cut at once (never left hanging, never ended
    as if whole) and the upstream connection is dropped, not pooled."""
    head_sent = asyncio.Event()

    async def answer_early(conn: Conn) -> bool:
        await conn.reader.readuntil(b"\r\n\r\n")
        await conn.send(_EARLY_ANSWERS[framing])
        head_sent.set()
        with contextlib.suppress(Exception):
            await conn.reader.read()
        return False

    fault_upstream.on_connect = answer_early
    proxy = await start_proxy(
        fault_upstream.url,
        **{
            "upstream.total_timeout_seconds": 10.0,
            "server.client_body_timeout_seconds": 0.5,
            "limits.max_streamed_body_bytes": 1000,
        },
    )
    baseline = proxy_tasks(fault_upstream)
    loop = asyncio.get_running_loop()
    reader, writer = await _open(proxy.port)
    writer.write(_head("POST", STREAMED, "Transfer-Encoding: chunked") + b"5\r\nhello\r\n")
    await asyncio.wait_for(head_sent.wait(), 5)
    started = loop.time()
    if failure == "bad_body":
        writer.write(b"zz-not-a-chunk-size\r\n\r\n")
    elif failure == "too_large":
        writer.write(b"800\r\n" + b"x" * 0x800 + b"\r\n")
    elif failure == "gone":
        writer.transport.abort()
    if failure != "gone":
        received = b""
        with contextlib.suppress(ConnectionError):
            while chunk := await asyncio.wait_for(reader.read(65536), 5):
                received += chunk
        writer.close()
        assert loop.time() - started < 3, "the client was left waiting"
        assert received.startswith(b"HTTP/1.1 200 OK\r\n")
        assert not received.endswith(b"0\r\n\r\n"), "a cut answer was ended as if whole"
        if framing == "length":
            assert len(body_of(received)) < 1000
    await settle(proxy, baseline, fault_upstream)
    assert proxy.state.forwarder.pool is not None and proxy.state.forwarder.pool.counts() == (0, 0)


async def _read_until_closed(reader: asyncio.StreamReader, limit: float) -> bytes:
    received = b""
    with contextlib.suppress(ConnectionError):
        while chunk := await asyncio.wait_for(reader.read(65536), limit):
            received += chunk
    return received


@pytest.mark.parametrize("path", [STREAMED, GRADE])
async def test_broken_chunked_framing_after_the_head_is_a_400_at_once(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory, path: str
) -> None:
    """A bad chunk that arrives after the request head (its own segment) ends the body at once, on a
    streamed route and on a validated one: not a 408 once the body timeout has run out."""
    proxy = await start_proxy(fault_upstream.url, **{"server.client_body_timeout_seconds": 10.0})
    baseline = proxy_tasks(fault_upstream)
    reader, writer = await _open(proxy.port)
    writer.write(_head("PATCH", path, "Transfer-Encoding: chunked") + b"5\r\nhello\r\n")
    await writer.drain()
    await asyncio.sleep(0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    writer.write(b"zz\r\nbroken\r\n")
    received = await _read_until_closed(reader, 5)
    writer.close()
    assert loop.time() - started < 2
    assert status_of(received) == 400
    assert header_of(received, "X-Clever-Proxy") == "error; kind=bad_body"
    assert [r for r in fault_upstream.requests if r.handled] == []  # nothing reached it whole
    await settle(proxy, baseline, fault_upstream)


async def test_a_local_answer_to_a_client_awaiting_100_continue_closes_the_connection(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory
) -> None:
    """No 100 went out (a 401 needs no body), so the body may never come: the connection closes after
    the answer, as Go's does, instead of reading the next request's bytes as this one's body."""
    proxy = await start_proxy(fault_upstream.url)
    reader, writer = await _open(proxy.port)
    writer.write(
        f"PATCH {GRADE} HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\nExpect: 100-continue\r\n\r\n".encode()
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
    assert head.startswith(b"HTTP/1.1 401 ")
    assert b"\r\nConnection: close\r\n" in head
    writer.write(b"GET /v3.0/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer abc\r\n\r\n")
    rest = await _read_until_closed(reader, 3)
    writer.close()
    assert b"HTTP/1." not in rest  # the next request was neither answered nor mistaken for a body
    assert fault_upstream.requests == []


async def test_an_unframed_answer_to_an_http_1_0_client_ends_with_the_connection(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory
) -> None:
    """HTTP/1.0 has no chunked encoding: an answer without a length can only end with a close, even
    when the client asked to keep the connection alive."""

    async def chunked(conn: Conn, req: SeenRequest) -> bool:
        await conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        return True

    fault_upstream.default = chunked
    proxy = await start_proxy(fault_upstream.url, **{"server.client_idle_timeout_seconds": 30})
    reader, writer = await _open(proxy.port)
    loop = asyncio.get_running_loop()
    started = loop.time()
    writer.write(b"GET /v3.0/me HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    received = await _read_until_closed(reader, 5)
    writer.close()
    assert loop.time() - started < 2
    assert received.startswith(b"HTTP/1.0 200 OK\r\n") and received.endswith(b"\r\n\r\nabc")
