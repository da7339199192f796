"""Forwarding fidelity against a real recording upstream on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import shutil
import socket
import ssl
import subprocess
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from tests.conftest import ProxyFactory, Upstream

SECTION = "5f1b2c3d4e5f6a7b8c9d0e1f"
ASSIGNMENT = "6a1e9f3c-2b7d-4c8e-9f01-23456789abcd"
GRADE_PATH = f"/v3.1/sections/{SECTION}/assignments/{ASSIGNMENT}/submissions/5f1b2c3d4e5f6a7b8c9d0e2a"


async def raw_exchange(port: int, request: bytes, read_timeout: float = 5.0) -> bytes:
    """Send raw bytes and read until the server closes (requests carry Connection: close)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), read_timeout)
    writer.close()
    return data


async def test_method_path_query_and_body_bytes_reach_upstream_unchanged(
    upstream: Upstream, start_proxy: ProxyFactory
) -> None:
    proxy = await start_proxy(upstream.url)
    body = b'{"grade_points": 95.0,\n "grade_comment":"\xe2\x9c\x93 great"}'
    target = GRADE_PATH + "?b=2&a=%41%2f&a=+x"
    async with aiohttp.ClientSession() as client:
        url = URL(f"http://127.0.0.1:{proxy.port}{target}", encoded=True)
        async with client.patch(url, data=body, headers={"Authorization": "Bearer t0k"}) as resp:
            assert resp.status == 200
            assert await resp.read() == b'{"data":{"echo":%d}}' % len(body)
    got = upstream.last
    assert got.method == "PATCH"
    assert got.raw_path == target
    assert got.body == body
    assert got.header("Authorization") == ["Bearer t0k"]


async def test_no_headers_added_and_hop_by_hop_removed(upstream: Upstream, start_proxy: ProxyFactory) -> None:
    proxy = await start_proxy(upstream.url)
    request = (
        b"GET /v3.0/users?limit=2 HTTP/1.1\r\n"
        b"Host: evil.example\r\n"
        b"Authorization: Bearer abc\r\n"
        b"X-Custom: one\r\n"
        b"Connection: close, X-Drop-Me\r\n"
        b"X-Drop-Me: secret-hop\r\n"
        b"Keep-Alive: timeout=5\r\n"
        b"TE: trailers\r\n"
        b"Trailer: X-T\r\n"
        b"Proxy-Authorization: Basic xyz\r\n"
        b"Upgrade: websocket\r\n"
        b"\r\n"
    )
    await raw_exchange(proxy.port, request)
    got = upstream.last
    names = {n.lower() for n in got.header_names()}
    for hop in ("x-drop-me", "keep-alive", "te", "trailer", "proxy-authorization", "upgrade"):
        assert hop not in names, hop
    # aiohttp's client would add these unless told not to: the client sent none of them.
    for added in ("user-agent", "accept-encoding", "accept", "content-type"):
        assert added not in names, added
    assert got.header("Host") == [URL(upstream.url).raw_authority]
    assert got.header("X-Custom") == ["one"]
    assert got.header("X-Forwarded-For") == ["127.0.0.1"]
    assert got.header("X-Forwarded-Proto") == ["http"]


async def test_x_forwarded_appends_and_can_be_switched_off(
    upstream: Upstream, start_proxy: ProxyFactory
) -> None:
    proxy = await start_proxy(upstream.url)
    async with (
        aiohttp.ClientSession() as client,
        client.get(
            f"http://127.0.0.1:{proxy.port}/v3.0/me", headers={"X-Forwarded-For": "203.0.113.9"}
        ) as resp,
    ):
        await resp.read()
    assert upstream.last.header("X-Forwarded-For") == ["203.0.113.9, 127.0.0.1"]
    quiet = await start_proxy(upstream.url, **{"upstream.x_forwarded": False})
    async with aiohttp.ClientSession() as client:
        async with client.get(f"http://127.0.0.1:{quiet.port}/v3.0/me") as resp:
            await resp.read()
    assert upstream.last.header("X-Forwarded-For") == []


async def test_absolute_form_and_foreign_host_never_leave_the_upstream(
    upstream: Upstream, start_proxy: ProxyFactory
) -> None:
    # A second server stands for "somewhere else": it must never be contacted.
    other_hits: list[str] = []

    async def other(request: web.BaseRequest) -> web.Response:
        other_hits.append(request.path)
        return web.Response(text="other")

    runner = web.ServerRunner(web.Server(other))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    other_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        proxy = await start_proxy(upstream.url)
        await raw_exchange(
            proxy.port,
            f"GET http://127.0.0.1:{other_port}/steal?x=1 HTTP/1.1\r\nHost: 127.0.0.1:{other_port}\r\n"
            f"Connection: close\r\n\r\n".encode(),
        )
        await raw_exchange(
            proxy.port,
            f"GET /v3.0/me HTTP/1.1\r\nHost: 127.0.0.1:{other_port}\r\nConnection: close\r\n\r\n".encode(),
        )
    finally:
        await runner.cleanup()
    assert other_hits == []
    assert [r.raw_path for r in upstream.received] == ["/steal?x=1", "/v3.0/me"]


async def test_streamed_20_mib_body_arrives_whole(upstream: Upstream, start_proxy: ProxyFactory) -> None:
    proxy = await start_proxy(upstream.url)
    chunk = bytes(range(256)) * 4096  # 1 MiB

    async def body():
        for _ in range(20):
            yield chunk

    async with aiohttp.ClientSession() as client:
        # Not a validated route: the proxy streams it without buffering or a size limit of its own.
        async with client.post(f"http://127.0.0.1:{proxy.port}/v3.0/uploads", data=body()) as resp:
            assert resp.status == 200
    got = upstream.last
    assert len(got.body) == 20 * len(chunk)
    assert hashlib.sha256(got.body).digest() == hashlib.sha256(chunk * 20).digest()


async def test_response_passthrough_keeps_status_headers_and_gzip_bytes(
    upstream: Upstream, start_proxy: ProxyFactory
) -> None:
    payload = gzip.compress(b'{"data":[]}' * 100, mtime=0)

    async def gz(request: web.BaseRequest, body: bytes) -> web.Response:
        return web.Response(
            status=207,
            body=payload,
            headers={
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
                "X-RateLimit-Remaining": "1187",
                "Connection": "keep-alive, X-Secret-Hop",
                "X-Secret-Hop": "1",
            },
        )

    upstream.behaviours["/v3.0/gz"] = gz
    proxy = await start_proxy(upstream.url)
    async with (
        aiohttp.ClientSession(auto_decompress=False) as client,
        client.get(f"http://127.0.0.1:{proxy.port}/v3.0/gz", headers={"Accept-Encoding": "gzip"}) as resp,
    ):
        raw = await resp.read()
        assert resp.status == 207
        assert resp.headers["Content-Encoding"] == "gzip"
        assert resp.headers["X-RateLimit-Remaining"] == "1187"
        assert "X-Secret-Hop" not in resp.headers
    assert raw == payload
    assert upstream.last.header("Accept-Encoding") == ["gzip"]


async def test_empty_delete_answer_stays_empty_without_content_type(
    upstream: Upstream, start_proxy: ProxyFactory
) -> None:
    async def deleted(request: web.BaseRequest, body: bytes) -> web.Response:
        return web.Response(status=200)

    path = f"/v3.1/sections/{SECTION}/assignments/{ASSIGNMENT}"
    upstream.behaviours[path] = deleted
    proxy = await start_proxy(upstream.url)
    async with (
        aiohttp.ClientSession() as client,
        client.delete(
            f"http://127.0.0.1:{proxy.port}{path}",
            headers={"Authorization": "Bearer t", "Content-Type": "application/json"},
        ) as resp,
    ):
        assert resp.status == 200
        assert await resp.read() == b""
        assert "Content-Type" not in resp.headers


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _upstream_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("upstream ")]


async def test_unreachable_upstream_is_a_marked_502(
    start_proxy: ProxyFactory, caplog: pytest.LogCaptureFixture
) -> None:
    proxy = await start_proxy(f"http://127.0.0.1:{_free_port()}")
    async with aiohttp.ClientSession() as client:
        async with client.get(f"http://127.0.0.1:{proxy.port}/v3.0/me") as resp:
            assert resp.status == 502
            assert resp.headers["X-Clever-Proxy"] == "error; kind=connect"
            body = await resp.json()
    assert "could not reach Clever" in body["message"]
    errors = proxy.state.metrics.registry.get_sample_value(
        "clever_proxy_upstream_errors_total", {"kind": "connect"}
    )
    assert errors == 1
    # The operator's log says why, in the system's words.
    assert _upstream_warnings(caplog) == [
        "upstream connect failure for GET (not a contract route) (Connection refused)"
    ]


async def test_slow_upstream_is_a_marked_504_and_the_write_is_sent_once(
    upstream: Upstream, start_proxy: ProxyFactory, caplog: pytest.LogCaptureFixture
) -> None:
    async def slow(request: web.BaseRequest, body: bytes) -> web.Response:
        await asyncio.sleep(2)
        return web.Response(text="late")

    upstream.behaviours[GRADE_PATH] = slow
    proxy = await start_proxy(
        upstream.url, **{"upstream.total_timeout_seconds": 0.3, "upstream.connect_timeout_seconds": 0.3}
    )
    async with (
        aiohttp.ClientSession() as client,
        client.patch(
            f"http://127.0.0.1:{proxy.port}{GRADE_PATH}",
            data=b'{"grade_points":1}',
            headers={"Authorization": "Bearer t"},
        ) as resp,
    ):
        assert resp.status == 504
        assert resp.headers["X-Clever-Proxy"] == "error; kind=timeout"
        assert "could not reach Clever" in (await resp.json())["message"]
    await asyncio.sleep(0.2)
    assert [r.method for r in upstream.received] == ["PATCH"]
    assert _upstream_warnings(caplog) == [
        "upstream timeout failure for PATCH /v3.1/sections/{section_id}/assignments/{assignment_id}"
        "/submissions/{user_id} (no answer within the total timeout)"
    ]


async def test_body_over_the_limit_is_a_413_and_never_forwarded(
    upstream: Upstream, start_proxy: ProxyFactory
) -> None:
    proxy = await start_proxy(upstream.url, **{"limits.max_body_bytes": 1000})
    async with (
        aiohttp.ClientSession() as client,
        client.patch(
            f"http://127.0.0.1:{proxy.port}{GRADE_PATH}",
            data=b'{"grade_comment":"' + b"x" * 2000 + b'"}',
            headers={"Authorization": "Bearer t"},
        ) as resp,
    ):
        assert resp.status == 413
        assert resp.headers["X-Clever-Proxy"] == "error; kind=body_too_large"
        assert "1000 bytes" in (await resp.json())["message"]
    assert upstream.received == []


async def test_a_raw_hash_in_the_target_is_refused_not_cut(
    upstream: Upstream, start_proxy: ProxyFactory
) -> None:
    # HTTP allows no "#" in a request target; forwarding would silently drop what follows it.
    proxy = await start_proxy(upstream.url)
    path = f"/v3.1/sections/{SECTION}/assignments/{ASSIGNMENT}"
    answer = await raw_exchange(
        proxy.port, f"GET {path}#frag HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    )
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"X-Clever-Proxy: error; kind=bad_target" in answer
    assert upstream.received == []


async def test_absolute_form_query_is_not_mistaken_for_the_path(
    upstream: Upstream, start_proxy: ProxyFactory
) -> None:
    proxy = await start_proxy(upstream.url)
    target = f"http://api.clever.com?next=/v3.1/sections/{SECTION}/assignments/{ASSIGNMENT}"
    await raw_exchange(
        proxy.port, f"DELETE {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    )
    assert upstream.last.raw_path == f"/?next=/v3.1/sections/{SECTION}/assignments/{ASSIGNMENT}"


async def test_transfer_codings_the_proxy_cannot_pass_on_are_refused(
    upstream: Upstream, start_proxy: ProxyFactory
) -> None:
    proxy = await start_proxy(upstream.url)
    create = f"/v3.1/sections/{SECTION}/assignments"
    for version, coding in (("1.1", "gzip, chunked"), ("1.0", "chunked")):
        answer = await raw_exchange(
            proxy.port,
            f"POST {create} HTTP/{version}\r\nHost: x\r\nAuthorization: Bearer t\r\n"
            f"Transfer-Encoding: {coding}\r\nConnection: close\r\n\r\n1\r\n{{\r\n0\r\n\r\n".encode(),
        )
        assert answer.split(b"\r\n", 1)[0].endswith(b"501 Not Implemented"), answer[:80]
        assert b"X-Clever-Proxy: error; kind=bad_framing" in answer
    assert upstream.received == []


async def test_without_a_token_the_body_is_not_read_first(
    upstream: Upstream, start_proxy: ProxyFactory
) -> None:
    proxy = await start_proxy(upstream.url, **{"limits.max_body_bytes": 1000})
    async with aiohttp.ClientSession() as client:
        async with client.post(
            f"http://127.0.0.1:{proxy.port}/v3.1/sections/{SECTION}/assignments", data=b"x" * 5000
        ) as resp:
            assert resp.status == 401  # Clever's gateway answers before any body: not a 413


async def test_bodies_over_the_judging_limit_are_forwarded_unjudged(
    upstream: Upstream, start_proxy: ProxyFactory
) -> None:
    proxy = await start_proxy(upstream.url, **{"checks.max_judged_body_bytes": 100})
    body = b'{"title":5,"description":"' + b"d" * 200 + b'"}'  # a certain type error, but too big to judge
    async with aiohttp.ClientSession() as client:
        async with client.post(
            f"http://127.0.0.1:{proxy.port}/v3.1/sections/{SECTION}/assignments",
            data=body,
            headers={"Authorization": "Bearer t"},
        ) as resp:
            assert resp.headers.get("X-Upstream") == "recorder"
    assert upstream.last.body == body


async def test_requests_beyond_the_pool_size_wait_and_all_succeed(
    upstream: Upstream, start_proxy: ProxyFactory
) -> None:
    """upstream.pool_size bounds the connections to Clever: the rest wait for one, none fails."""
    busy = 0
    most = 0
    peers: set[tuple[str, int]] = set()

    async def slow(request: web.BaseRequest, body: bytes) -> web.StreamResponse:
        nonlocal busy, most
        peers.add(request.transport.get_extra_info("peername"))  # type: ignore[union-attr]
        busy += 1
        most = max(most, busy)
        await asyncio.sleep(0.05)
        busy -= 1
        return web.Response(body=b'{"data":{}}', content_type="application/json")

    upstream.behaviours["/v3.0/slow"] = slow
    proxy = await start_proxy(upstream.url, **{"upstream.pool_size": 2})
    async with aiohttp.ClientSession() as client:

        async def one(i: int) -> int:
            async with client.get(f"http://127.0.0.1:{proxy.port}/v3.0/slow?i={i}") as resp:
                await resp.read()
                return resp.status

        statuses = await asyncio.gather(*(one(i) for i in range(12)))
    assert statuses == [200] * 12
    assert most == 2  # never more at once than the pool allows, and the pool was used in full
    assert len(peers) == 2  # the same two connections carried all twelve
    assert sorted(r.raw_path for r in upstream.received) == sorted(f"/v3.0/slow?i={i}" for i in range(12))
    assert proxy.state.forwarder.pool is not None
    assert proxy.state.forwarder.pool.counts() == (0, 2)


async def test_an_upstream_named_by_host_name_is_resolved(
    upstream: Upstream, start_proxy: ProxyFactory
) -> None:
    port = URL(upstream.url).port
    proxy = await start_proxy(f"http://localhost:{port}")
    async with aiohttp.ClientSession() as client:
        async with client.get(f"http://127.0.0.1:{proxy.port}/v3.0/me") as resp:
            assert resp.status == 200
            await resp.read()
    assert upstream.last.header("Host") == [f"localhost:{port}"]


async def test_interim_answers_are_skipped_and_the_final_one_passed_on(start_proxy: ProxyFactory) -> None:
    """A 100 Continue or 103 Early Hints before the real answer is the upstream's business with the
    proxy; the client gets the final answer."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nX-Final: yes\r\n\r\nok"
            )
            await writer.drain()
            await reader.read()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        proxy = await start_proxy(f"http://127.0.0.1:{port}")
        reply = await raw_exchange(
            proxy.port, b"GET /v3.0/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
    finally:
        server.close()
    assert reply.startswith(b"HTTP/1.1 201 Created\r\n")
    assert b"X-Final: yes\r\n" in reply and b"Link:" not in reply
    assert reply.endswith(b"\r\n\r\nok")


def _self_signed(where: Path) -> tuple[Path, Path]:
    """A certificate for localhost (and 127.0.0.1) signed by itself, made with the openssl command."""
    cert, key = where / "cert.pem", where / "key.pem"
    argv = [
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=localhost",
    ]
    argv += ["-keyout", str(key), "-out", str(cert), "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]
    subprocess.run(
        argv,
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
async def test_an_https_upstream_is_verified_and_used(
    tmp_path: Path,
    start_proxy: ProxyFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Clever is reached over TLS: the certificate is verified against the trusted roots (here, the
    test's own, through SSL_CERT_FILE, which OpenSSL's default paths honour) and the host name."""
    cert, key = _self_signed(tmp_path)
    seen: list[str] = []

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        seen.append(request.headers.get("Host", ""))
        return web.Response(body=b'{"data":{}}', content_type="application/json")

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    runner = web.ServerRunner(web.Server(handler), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        untrusted = await start_proxy(f"https://localhost:{port}")
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        trusted = await start_proxy(f"https://localhost:{port}")
        async with aiohttp.ClientSession() as client:
            async with client.get(f"http://127.0.0.1:{trusted.port}/v3.0/me") as resp:
                assert resp.status == 200
                assert await resp.read() == b'{"data":{}}'
            async with client.get(f"http://127.0.0.1:{untrusted.port}/v3.0/me") as resp:
                assert resp.status == 502  # an unverifiable certificate: not Clever
                assert resp.headers["X-Clever-Proxy"] == "error; kind=connect"
    finally:
        await runner.cleanup()
    assert seen == [f"localhost:{port}"]
    (warning,) = _upstream_warnings(caplog)
    assert warning.startswith("upstream connect failure for GET (not a contract route) (TLS certificate: ")
    assert "self-signed certificate" in warning


async def test_an_empty_query_keeps_its_question_mark(upstream: Upstream, start_proxy: ProxyFactory) -> None:
    proxy = await start_proxy(upstream.url)
    await raw_exchange(proxy.port, b"GET /v3.0/me? HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    await raw_exchange(proxy.port, b"GET http://h/v3.0/me? HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert [r.raw_path for r in upstream.received] == ["/v3.0/me?", "/v3.0/me?"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (GRADE_PATH, b'{"grade_points": 9.5}'),  # validated: the proxy reads the body itself
        ("/v3.0/uploads", b"x" * 200_000),  # not a contract route: the body streams upstream
    ],
)
async def test_expect_100_continue_is_answered_when_the_body_is_wanted(
    upstream: Upstream, start_proxy: ProxyFactory, path: str, body: bytes
) -> None:
    proxy = await start_proxy(upstream.url)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(
        f"PATCH {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t0k\r\nContent-Length: {len(body)}\r\n"
        "Expect: 100-continue\r\nConnection: close\r\n\r\n".encode()
    )
    interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)  # not the client's own timeout
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    writer.write(body)
    reply = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
    assert upstream.last.body == body
    assert upstream.last.header("Expect") == []


async def test_expect_100_continue_gets_the_final_answer_when_no_body_is_needed(
    upstream: Upstream, start_proxy: ProxyFactory
) -> None:
    """Without a token Clever's gateway answers 401 before any body: no 100, the body is never sent."""
    proxy = await start_proxy(upstream.url)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(
        f"PATCH {GRADE_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n"
        "Expect: 100-continue\r\n\r\n".encode()
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
    writer.close()
    assert head.startswith(b"HTTP/1.1 401 ")  # the final answer first, no 100 before it
    assert upstream.received == []


@pytest.mark.parametrize("framing", ["whole", "chunked", "head"])
async def test_header_bytes_that_are_not_utf8_pass_through_unchanged(
    start_proxy: ProxyFactory, framing: str
) -> None:
    """obs-text (bytes 0x80-0xFF) is legal in a field value and a reason phrase: whether the answer
    arrives whole, is streamed in chunks, or is the head of a HEAD, the client gets the bytes the
    upstream sent."""
    odd_lines = b"X-Latin1: caf\xe9\r\nX-Mixed: \xff\xfe \xc3\xa9 ok\r\n"
    body = b"chunk one, chunk two"
    if framing == "chunked":
        framed = b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    else:
        framed = b"Content-Length: %d\r\n\r\n" % len(body) + (b"" if framing == "head" else body)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 \xe7a va\r\n" + odd_lines + framed)
            await writer.drain()
            await reader.read()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    method = b"HEAD" if framing == "head" else b"GET"
    try:
        proxy = await start_proxy(f"http://127.0.0.1:{port}")
        reply = await raw_exchange(
            proxy.port, method + b" /v3.0/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
    finally:
        server.close()
    head, _, rest = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 \xe7a va\r\n")
    assert odd_lines in head + b"\r\n"
    if framing == "chunked":
        assert rest == b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    elif framing == "whole":
        assert rest == body
    else:
        assert rest == b""
