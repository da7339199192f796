"""Shutdown and start-up of the real command (`python -m proxy`), as a subprocess at debug log level,
and of a proxy in the test's own process (`RunningProxy.stop`, what SIGTERM runs) where its access
lines and metrics are read directly.

SIGTERM under load: readiness turns 503 at once, the listener stops accepting, every request that got
in is answered in full within the grace period, exit 0, no traceback. That includes a request whose
body is still arriving and whole requests pipelined behind one being handled. A second signal, or the
end of the grace period, cancels what is left promptly, records it as 503 proxy_error, and still exits
0 without a traceback. An upstream that is down at start does not keep the proxy from starting and
being ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import time

import aiohttp
from aiohttp import web

from proxy import accesslog
from proxy.server import RunningProxy
from tests.conftest import Behaviour, ProxyFactory, Upstream, wait_until
from tests.reliability.conftest import SecretsWatch
from tests.reliability.harness import (
    AUTH,
    CREATE,
    GRADE,
    GRADE_BODY,
    TOKEN,
    TOKEN_IN_QUERY,
    Conn,
    FaultUpstream,
    ProxyProcess,
    SeenRequest,
    header_of,
    raw_request,
    slow_first_byte,
    status_of,
)

SLOW_ANSWER = b'{"data":{"slow":true}}'


def _slow(seconds: float) -> object:
    async def behaviour(conn: Conn, req: SeenRequest) -> bool:
        await asyncio.sleep(seconds)
        head = (
            f"HTTP/1.1 200 OK\r\nContent-Length: {len(SLOW_ANSWER)}\r\nContent-Type: application/json\r\n\r\n"
        )
        await conn.send(head.encode() + SLOW_ANSWER)
        return True

    return behaviour


async def _status(client: aiohttp.ClientSession, url: str) -> int:
    async with client.get(url) as resp:
        await resp.read()
        return resp.status


def _clean_exit(proxy: ProxyProcess, code: int, watch: SecretsWatch) -> None:
    output = proxy.output()
    watch.extra.append(output)
    assert code == 0, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert "stopped" in output


async def test_sigterm_under_load_answers_every_request_that_got_in(
    fault_upstream: FaultUpstream, secrets_watch: SecretsWatch
) -> None:
    fault_upstream.behaviours["/v3.0/slow"] = _slow(1.5)  # type: ignore[assignment]
    fault_upstream.behaviours[GRADE] = _slow(1.5)  # type: ignore[assignment]
    proxy = await ProxyProcess.start(
        fault_upstream.url,
        "--log-level",
        "debug",
        server_shutdown_grace_seconds="10",
        upstream_pool_size="400",
    )
    base = f"http://127.0.0.1:{proxy.port}"
    admin = f"http://127.0.0.1:{proxy.admin_port}"
    slow_count = 300
    try:
        connector = aiohttp.TCPConnector(limit=0, force_close=True)
        async with aiohttp.ClientSession(connector=connector) as client:
            # A malformed request carrying a token, and a token in a query: nothing may log either.
            await raw_request(
                proxy.port,
                f"GET /v3.0/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\x01\r\n\r\n".encode(),
            )
            await _status(client, f"{base}/v3.0/me?access_token={TOKEN_IN_QUERY}")

            async def slow_one(i: int) -> tuple[int, bytes]:
                if i % 2:
                    request = client.patch(base + GRADE, data=GRADE_BODY, headers=AUTH)
                else:
                    request = client.get(f"{base}/v3.0/slow?i={i}", headers=AUTH)
                async with request as resp:
                    return resp.status, await resp.read()

            stop_load = asyncio.Event()
            fast: list[tuple[float, int | str]] = []  # (start time, status or error)

            async def steady() -> None:
                while not stop_load.is_set():
                    started = time.monotonic()
                    try:
                        fast.append((started, await _status(client, f"{base}/v3.0/fast")))
                    except aiohttp.ClientError as exc:
                        fast.append((started, type(exc).__name__))
                        await asyncio.sleep(0.01)

            load = [asyncio.create_task(steady()) for _ in range(4)]
            slow = [asyncio.create_task(slow_one(i)) for i in range(slow_count)]
            deadline = time.monotonic() + 20
            while len([r for r in fault_upstream.requests if r.path in ("/v3.0/slow", GRADE)]) < slow_count:
                assert time.monotonic() < deadline, "the slow requests did not all reach the upstream"
                await asyncio.sleep(0.02)
            metrics = await client.get(f"{admin}/metrics")
            secrets_watch.extra.append(await metrics.text())

            signalled = time.monotonic()
            proxy.signal(signal.SIGTERM)
            # Readiness turns first, while every slow request is still in flight.
            while await _status(client, f"{admin}/readyz") != 503:
                assert time.monotonic() - signalled < 1.0
                await asyncio.sleep(0.01)
            assert time.monotonic() - signalled < 1.0
            drain_metrics = await client.get(f"{admin}/metrics")
            text = await drain_metrics.text()
            secrets_watch.extra.append(text)
            assert "clever_proxy_ready 0.0" in text
            await asyncio.sleep(0.3)
            stop_load.set()
            await asyncio.gather(*load)
            results = await asyncio.gather(*slow, return_exceptions=True)
            code = await proxy.wait(15)
            elapsed = time.monotonic() - signalled
    finally:
        await proxy.kill()
    _clean_exit(proxy, code, secrets_watch)
    dropped = [r for r in results if not (isinstance(r, tuple) and r[0] == 200)]
    assert dropped == [], dropped[:5]
    assert {body for _, body in results} == {SLOW_ANSWER}  # type: ignore[misc]
    assert elapsed < 5.0  # the slow answers took 1.5 s; nothing waited for the 10 s grace
    # Each write reached the upstream once.
    assert len(fault_upstream.handled(GRADE)) == slow_count // 2
    # Steady load: before the signal everything was answered; after it, new connections were refused
    # (never an error answer).
    before = [status for started, status in fast if started < signalled - 0.05]
    assert before and set(before) == {200}
    # (On a starved machine the steady clients may start nothing after the signal; what did start must
    # have been refused, never answered with an error.)
    after = {status for started, status in fast if started > signalled + 0.05}
    assert after <= {"ClientConnectorError", "ServerDisconnectedError", "ClientOSError"}, [
        (round(t - signalled, 3), s) for t, s in fast[-12:]
    ]
    assert "draining" in proxy.output()


async def test_a_second_sigterm_cancels_the_drain_promptly(
    fault_upstream: FaultUpstream, secrets_watch: SecretsWatch
) -> None:
    fault_upstream.behaviours["/v3.0/stuck"] = slow_first_byte(60)
    proxy = await ProxyProcess.start(
        fault_upstream.url, "--log-level", "debug", server_shutdown_grace_seconds="30"
    )
    try:
        async with aiohttp.ClientSession() as client:
            stuck = [
                asyncio.create_task(_status(client, f"http://127.0.0.1:{proxy.port}/v3.0/stuck"))
                for _ in range(20)
            ]
            await wait_until(lambda: len(fault_upstream.requests) >= 20, timeout=15)
            proxy.signal(signal.SIGTERM)
            await asyncio.sleep(0.3)
            signalled = time.monotonic()
            proxy.signal(signal.SIGTERM)
            code = await proxy.wait(10)
            elapsed = time.monotonic() - signalled
            results = await asyncio.gather(*stuck, return_exceptions=True)
    finally:
        await proxy.kill()
    _clean_exit(proxy, code, secrets_watch)
    assert elapsed < 3.0
    assert "cancelling 20 request(s) still in flight" in proxy.output()
    # The clients were cut off: no made-up answer.
    assert all(isinstance(r, aiohttp.ClientError) for r in results), results


async def test_the_end_of_the_grace_period_cancels_what_is_left(
    fault_upstream: FaultUpstream, secrets_watch: SecretsWatch
) -> None:
    fault_upstream.behaviours["/v3.0/stuck"] = slow_first_byte(60)
    proxy = await ProxyProcess.start(fault_upstream.url, server_shutdown_grace_seconds="1.5")
    try:
        async with aiohttp.ClientSession() as client:
            stuck = [
                asyncio.create_task(_status(client, f"http://127.0.0.1:{proxy.port}/v3.0/stuck"))
                for _ in range(10)
            ]
            await wait_until(lambda: len(fault_upstream.requests) >= 10, timeout=15)
            signalled = time.monotonic()
            proxy.signal(signal.SIGTERM)
            code = await proxy.wait(10)
            elapsed = time.monotonic() - signalled
            await asyncio.gather(*stuck, return_exceptions=True)
    finally:
        await proxy.kill()
    _clean_exit(proxy, code, secrets_watch)
    assert 1.4 <= elapsed < 3.5, elapsed  # the grace period, not twice it
    assert "cancelling 10 request(s) still in flight" in proxy.output()


async def test_an_upstream_down_at_start_does_not_keep_the_proxy_from_starting(
    secrets_watch: SecretsWatch,
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proxy = await ProxyProcess.start(
        f"http://127.0.0.1:{port}",
        "--log-level",
        "debug",
        upstream_connect_timeout_seconds="1",
        upstream_total_timeout_seconds="2",
    )
    upstream = FaultUpstream()
    server = None
    try:
        async with aiohttp.ClientSession() as client:
            assert await _status(client, f"http://127.0.0.1:{proxy.admin_port}/readyz") == 200
            async with client.get(f"http://127.0.0.1:{proxy.port}/v3.0/me", headers=AUTH) as resp:
                assert resp.status == 502
                assert resp.headers["X-Clever-Proxy"] == "error; kind=connect"
            server = await asyncio.start_server(upstream._serve, "127.0.0.1", port)
            upstream.port = port
            async with client.get(f"http://127.0.0.1:{proxy.port}/v3.0/me", headers=AUTH) as resp:
                assert resp.status == 200
            reply = await raw_request(
                proxy.port,
                f"GET /v3.0/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
                "Connection: close\r\n\r\n".encode(),
            )
            assert status_of(reply) == 200
        proxy.signal(signal.SIGTERM)
        code = await proxy.wait(10)
    finally:
        await proxy.kill()
        if server is not None:
            server.close()
        await upstream.close()
    _clean_exit(proxy, code, secrets_watch)


BIG_PATH = "/v3.0/big"
BIG_BODY = bytes(range(256)) * (48 * 1024)  # 12 MiB, more than the kernel's socket buffers hold


async def _big(conn: Conn, req: SeenRequest) -> bool:
    await conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BIG_BODY) + BIG_BODY)
    return True


async def _ask_for_big(fault_upstream: FaultUpstream, port: int) -> socket.socket:
    """A client that asks for the big answer and has read none of it once the upstream has sent it."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", port))
    await loop.sock_sendall(sock, f"GET {BIG_PATH} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    await wait_until(lambda: fault_upstream.handled(BIG_PATH), timeout=15)
    await asyncio.sleep(0.5)
    return sock


async def test_sigterm_delivers_answers_a_slow_reader_has_not_read_yet(
    fault_upstream: FaultUpstream, secrets_watch: SecretsWatch
) -> None:
    """An answer already handled but still buffered for a client that reads slowly reaches it whole:
    the proxy exits only once it is written out (within the grace period)."""
    fault_upstream.behaviours[BIG_PATH] = _big  # type: ignore[assignment]
    proxy = await ProxyProcess.start(fault_upstream.url, server_shutdown_grace_seconds="20")
    try:
        sock = await _ask_for_big(fault_upstream, proxy.port)
        proxy.signal(signal.SIGTERM)
        loop = asyncio.get_running_loop()
        received = bytearray()
        while True:  # about 2 s for the whole answer, long after the handler finished
            chunk = await asyncio.wait_for(loop.sock_recv(sock, 65536), 15)
            if not chunk:
                break
            received += chunk
            await asyncio.sleep(0.005)
        sock.close()
        code = await proxy.wait(15)
    finally:
        await proxy.kill()
    _clean_exit(proxy, code, secrets_watch)
    head, _, got = bytes(received).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert len(got) == len(BIG_BODY) and got == BIG_BODY
    assert "cut" not in proxy.output()


async def test_a_client_that_never_reads_is_cut_at_the_end_of_the_grace_period(
    fault_upstream: FaultUpstream, secrets_watch: SecretsWatch
) -> None:
    fault_upstream.behaviours[BIG_PATH] = _big  # type: ignore[assignment]
    proxy = await ProxyProcess.start(fault_upstream.url, server_shutdown_grace_seconds="2")
    try:
        sock = await _ask_for_big(fault_upstream, proxy.port)
        signalled = time.monotonic()
        proxy.signal(signal.SIGTERM)
        code = await proxy.wait(15)
        elapsed = time.monotonic() - signalled
        sock.close()
    finally:
        await proxy.kill()
    _clean_exit(proxy, code, secrets_watch)
    assert 1.5 < elapsed < 6, elapsed
    assert "cut 1 client connection(s) whose answers were not yet read" in proxy.output()


# --- requests that got in before the signal ------------------------------------------------------
#
# A request got in once its request line and headers arrived. Its body may still be on its way, and a
# client may have pipelined more whole requests behind one being handled: all of them are answered,
# the last with Connection: close, and the connection then closes. A request that starts after the
# signal is not read.

CREATE_BODY = b'{"title":"Q1","description":"Ch3","due_date":"2099-05-01T17:00:00Z"}'
DRIP = b'{"data":{"drip":"' + b"d" * 64 + b'"}}'
LATE = b"GET /late HTTP/1.1\r\nHost: x\r\n\r\n"
CREATE_TEMPLATE = "/v3.1/sections/{section_id}/assignments"


def _create_head(length: int) -> bytes:
    return (
        f"POST {CREATE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def _echo(body: bytes) -> bytes:
    return b'{"data":{"echo":' + str(len(body)).encode() + b"}}"


async def _slowdrip(request: web.BaseRequest, body: bytes) -> web.StreamResponse:
    """An answer that takes about 1.2 s, its body in pieces."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.content_length = len(DRIP)
    await response.prepare(request)
    for i in range(0, len(DRIP), 22):
        await asyncio.sleep(0.3)
        await response.write(DRIP[i : i + 22])
    await response.write_eof()
    return response


def _held(release: asyncio.Event) -> Behaviour:
    async def behaviour(request: web.BaseRequest, body: bytes) -> web.StreamResponse:
        await asyncio.wait_for(release.wait(), 20)
        return web.Response(body=b'{"data":{}}')

    return behaviour


async def _connect(port: int, data: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    return reader, writer


async def _read_to_end(reader: asyncio.StreamReader, timeout: float) -> bytes:
    """Everything the proxy sends until it closes the connection (or resets it); TimeoutError if it
    has not closed it within `timeout`."""
    received = bytearray()
    with contextlib.suppress(ConnectionError):
        async with asyncio.timeout(timeout):
            while chunk := await reader.read(65536):
                received += chunk
    return bytes(received)


def _answers(data: bytes) -> list[tuple[bytes, bytes]]:
    """The answers in `data`, each (head, body), framed by Content-Length; nothing may be left over."""
    answers = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, data[:200]
        length = header_of(head + sep, "Content-Length")
        size = int(length) if length is not None else 0
        assert len(rest) >= size, (head, rest)
        answers.append((head, rest[:size]))
        data = rest[size:]
    return answers


def _closes(head: bytes) -> bool:
    return (header_of(head + b"\r\n\r\n", "Connection") or "").lower() == "close"


def _access_records(watch: SecretsWatch) -> list[dict[str, object]]:
    accesslog.access.flush()
    lines = [line for line in watch.handler.lines if line.startswith('{"time"')]
    return [json.loads(line) for line in lines]


def _requests_total(proxy: RunningProxy, outcome: str, status_class: str) -> float:
    registry = proxy.state.metrics.registry
    return sum(
        sample.value
        for family in registry.collect()
        if family.name == "clever_proxy_requests"
        for sample in family.samples
        if sample.name == "clever_proxy_requests_total"
        and sample.labels["outcome"] == outcome
        and sample.labels["status_class"] == status_class
    )


async def test_a_body_still_arriving_at_shutdown_is_read_and_its_request_answered(
    upstream: Upstream, start_proxy: ProxyFactory, secrets_watch: SecretsWatch
) -> None:
    """Bodies of a checked route (read whole, then judged) and of a route the proxy streams upstream,
    both only begun when the drain starts: the rest is read, both are answered with Connection: close
    long before the grace period ends. A request sent after the body is not read. An idle keep-alive
    connection is closed at once."""
    proxy = await start_proxy(upstream.url, **{"server.shutdown_grace_seconds": 8})
    echo_body = bytes(range(256)) * 3 + b"e" * 232  # 1000 bytes
    checked = await _connect(proxy.port, _create_head(len(CREATE_BODY)) + CREATE_BODY[:10])
    streamed = await _connect(
        proxy.port, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + echo_body[:100]
    )
    idle = await _connect(proxy.port, b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
    assert _answers(await idle[0].readuntil(b'{"data":{"echo":0}}'))[0][0].startswith(b"HTTP/1.1 200")
    await wait_until(lambda: proxy.state.in_flight == 2)

    loop = asyncio.get_running_loop()
    signalled = loop.time()
    stopping = asyncio.create_task(proxy.stop())
    assert await _read_to_end(idle[0], 2) == b""  # an idle connection is closed, not waited for
    await asyncio.sleep(1.0)
    assert not stopping.done()
    checked[1].write(CREATE_BODY[10:] + LATE)
    streamed[1].write(echo_body[100:])
    checked_reply, streamed_reply = await asyncio.gather(
        _read_to_end(checked[0], 5), _read_to_end(streamed[0], 5)
    )
    await asyncio.wait_for(stopping, 5)
    elapsed = loop.time() - signalled
    for _, writer in (checked, streamed, idle):
        writer.close()

    [(head, body)] = _answers(checked_reply)  # one answer: the request after the body was not read
    assert head.startswith(b"HTTP/1.1 200 ") and body == _echo(CREATE_BODY) and _closes(head), head
    [(head, body)] = _answers(streamed_reply)
    assert head.startswith(b"HTTP/1.1 200 ") and body == _echo(echo_body) and _closes(head), head
    posted = {r.raw_path: r.body for r in upstream.received if r.method == "POST"}
    assert posted == {CREATE: CREATE_BODY, "/echo": echo_body}
    assert "/late" not in [r.raw_path for r in upstream.received]
    assert elapsed < 4.0, elapsed  # the bodies came 1 s after the drain began; nothing waited for 8 s
    posts = [r for r in _access_records(secrets_watch) if r["method"] == "POST"]
    assert sorted((r["status"], r["outcome"]) for r in posts) == [(200, "forwarded")] * 2
    assert _requests_total(proxy, "proxy_error", "5xx") == 0
    assert not any("cancelling" in line for line in secrets_watch.handler.lines)


async def test_whole_requests_pipelined_behind_one_in_flight_are_answered_at_shutdown(
    upstream: Upstream, start_proxy: ProxyFactory, secrets_watch: SecretsWatch
) -> None:
    """A POST that arrived whole behind a slow GET on the same connection got in: after the GET's
    answer it is forwarded and answered too, with Connection: close; a request sent after the
    drain began is not read."""
    upstream.behaviours["/slowdrip"] = _slowdrip
    proxy = await start_proxy(upstream.url, **{"server.shutdown_grace_seconds": 8})
    reader, writer = await _connect(
        proxy.port,
        b"GET /slowdrip HTTP/1.1\r\nHost: x\r\n\r\n"
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nping",
    )
    await wait_until(lambda: [r.raw_path for r in upstream.received] == ["/slowdrip"])
    loop = asyncio.get_running_loop()
    signalled = loop.time()
    stopping = asyncio.create_task(proxy.stop())
    await asyncio.sleep(0.2)
    writer.write(LATE)
    reply = await _read_to_end(reader, 6)
    await asyncio.wait_for(stopping, 5)
    elapsed = loop.time() - signalled
    writer.close()

    answers = _answers(reply)
    assert [(head.split(b"\r\n")[0], body) for head, body in answers] == [
        (b"HTTP/1.1 200 OK", DRIP),
        (b"HTTP/1.1 200 OK", _echo(b"ping")),
    ]
    assert not _closes(answers[0][0]) and _closes(answers[1][0])
    assert [(r.raw_path, r.body) for r in upstream.received] == [("/slowdrip", b""), ("/echo", b"ping")]
    assert elapsed < 4.0, elapsed
    records = _access_records(secrets_watch)
    assert [(r["method"], r["status"], r["outcome"]) for r in records[-2:]] == [
        ("GET", 200, "forwarded"),
        ("POST", 200, "forwarded"),
    ]
    assert _requests_total(proxy, "forwarded", "2xx") == 2


async def test_what_is_left_at_the_end_of_the_grace_period_is_cut_and_recorded(
    upstream: Upstream, start_proxy: ProxyFactory, secrets_watch: SecretsWatch
) -> None:
    """At the end of the grace period, a request whose upstream has not answered, one whose body never
    finished, and one still queued behind the first are all cut: no answer, each recorded as a 503
    proxy_error (access line and metrics); the queued one never reaches the upstream."""
    release = asyncio.Event()
    upstream.behaviours["/held"] = _held(release)
    proxy = await start_proxy(upstream.url, **{"server.shutdown_grace_seconds": 1.5})
    try:
        held = await _connect(
            proxy.port,
            b"GET /held HTTP/1.1\r\nHost: x\r\n\r\n"
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nping",
        )
        stalled = await _connect(proxy.port, _create_head(len(CREATE_BODY)) + CREATE_BODY[:10])
        await wait_until(lambda: proxy.state.in_flight == 2 and len(upstream.received) == 1)
        loop = asyncio.get_running_loop()
        signalled = loop.time()
        await asyncio.wait_for(proxy.stop(), 6)
        elapsed = loop.time() - signalled
        replies = [await _read_to_end(reader, 2) for reader, _ in (held, stalled)]
        for _, writer in (held, stalled):
            writer.close()
    finally:
        release.set()
    assert replies == [b"", b""]
    assert 1.4 <= elapsed < 3.5, elapsed
    assert [r.raw_path for r in upstream.received] == ["/held"]
    records = _access_records(secrets_watch)
    assert sorted((r["method"], r["status"], r["outcome"]) for r in records) == [
        ("GET", 503, "proxy_error"),
        ("POST", 503, "proxy_error"),
        ("POST", 503, "proxy_error"),
    ]
    assert {r["route"] for r in records} == {"other", CREATE_TEMPLATE}
    assert _requests_total(proxy, "proxy_error", "5xx") == 3


async def test_sigterm_answers_a_body_still_arriving_and_a_pipelined_request(
    upstream: Upstream, secrets_watch: SecretsWatch
) -> None:
    """The real command: SIGTERM while one request's body is still arriving and another whole request
    waits behind a slow one on the same connection. Both, and the slow one, are answered; the proxy
    exits 0 as soon as they are, well within its grace period."""
    upstream.behaviours["/slowdrip"] = _slowdrip
    proxy = await ProxyProcess.start(upstream.url, "--log-level", "debug", server_shutdown_grace_seconds="10")
    try:
        checked = await _connect(proxy.port, _create_head(len(CREATE_BODY)) + CREATE_BODY[:10])
        piped = await _connect(
            proxy.port,
            b"GET /slowdrip HTTP/1.1\r\nHost: x\r\n\r\n"
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nping",
        )
        async with aiohttp.ClientSession() as client:
            deadline = time.monotonic() + 10
            while True:
                async with client.get(f"http://127.0.0.1:{proxy.admin_port}/metrics") as resp:
                    text = await resp.text()
                if "clever_proxy_in_flight_requests 2.0" in text:
                    break
                assert time.monotonic() < deadline, "the two requests did not get in"
                await asyncio.sleep(0.02)
        signalled = time.monotonic()
        proxy.signal(signal.SIGTERM)
        await asyncio.sleep(1.0)
        checked[1].write(CREATE_BODY[10:])
        checked_reply, piped_reply = await asyncio.gather(
            _read_to_end(checked[0], 6), _read_to_end(piped[0], 6)
        )
        code = await proxy.wait(8)
        elapsed = time.monotonic() - signalled
        for _, writer in (checked, piped):
            writer.close()
    finally:
        await proxy.kill()
    _clean_exit(proxy, code, secrets_watch)
    [(head, body)] = _answers(checked_reply)
    assert head.startswith(b"HTTP/1.1 200 ") and body == _echo(CREATE_BODY) and _closes(head)
    assert [body for _, body in _answers(piped_reply)] == [DRIP, _echo(b"ping")]
    assert elapsed < 5.0, elapsed
    assert sorted(r.raw_path for r in upstream.received) == sorted([CREATE, "/slowdrip", "/echo"])
    lines = [json.loads(line) for line in bytes(proxy.stdout).decode().splitlines() if line.startswith("{")]
    assert sorted((r["method"], r["status"], r["outcome"]) for r in lines) == [
        ("GET", 200, "forwarded"),
        ("POST", 200, "forwarded"),
        ("POST", 200, "forwarded"),
    ]
    assert "cancelling" not in proxy.output()
