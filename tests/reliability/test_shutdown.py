"""Shutdown and start-up of the real command (`python -m proxy`), as a subprocess at debug log level.

SIGTERM under load: readiness turns 503 at once, the listener stops accepting, every request that got
in is answered in full within the grace period, exit 0, no traceback. A second signal, or the end of
the grace period, cancels what is left promptly and still exits 0 without a traceback. An upstream
that is down at start does not keep the proxy from starting and being ready.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import time

import aiohttp

from tests.conftest import wait_until
from tests.reliability.conftest import SecretsWatch
from tests.reliability.harness import (
    AUTH,
    GRADE,
    GRADE_BODY,
    TOKEN,
    TOKEN_IN_QUERY,
    Conn,
    FaultUpstream,
    ProxyProcess,
    SeenRequest,
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
