"""Size limits: bodies on validated and streamed routes, request line and header limits.

A request over a limit gets a clear, marked answer from the proxy and nothing of it is forwarded as a
whole request; the answer never quotes the request (whose bytes may hold a token).
"""

from __future__ import annotations

import asyncio
import gzip
import io

import aiohttp
import pytest

from tests.conftest import ProxyFactory, wait_until
from tests.reliability.harness import (
    AUTH,
    GRADE,
    TOKEN,
    FaultUpstream,
    body_of,
    header_of,
    probe,
    proxy_tasks,
    raw_request,
    settle,
    status_of,
)

STREAMED = "/v3.0/uploads"
LIMIT = {"limits.max_body_bytes": 4096, "limits.max_streamed_body_bytes": 65536}


def _head(method: str, path: str, *lines: str) -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: clever.test\r\nAuthorization: Bearer {TOKEN}\r\n"
        + "".join(f"{line}\r\n" for line in lines)
        + "\r\n"
    ).encode()


def _chunked(data: bytes, size: int = 1000) -> bytes:
    pieces = [data[i : i + size] for i in range(0, len(data), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def _assert_413(status: int, headers: dict[str, str] | None, body: bytes, limit: int) -> None:
    assert status == 413
    if headers is not None:
        assert headers["X-Clever-Proxy"] == "error; kind=body_too_large"
        assert headers["Content-Type"] == "application/json"
    assert f"larger than {limit} bytes".encode() in body


@pytest.mark.parametrize("size", [4097, 5 * 1024 * 1024])
async def test_a_validated_body_over_the_limit_is_a_clean_413(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory, size: int
) -> None:
    proxy = await start_proxy(fault_upstream.url, **LIMIT)
    baseline = proxy_tasks(fault_upstream)
    body = b'{"grade_comment":"' + b"x" * (size - 20) + b'"}'
    async with aiohttp.ClientSession() as client:
        # The client sends the whole body before it reads: it must still get the 413, not a reset.
        async with client.patch(
            f"http://127.0.0.1:{proxy.port}{GRADE}", data=io.BytesIO(body), headers=AUTH
        ) as resp:
            _assert_413(resp.status, dict(resp.headers), await resp.read(), 4096)

        async def chunks():  # chunked: no Content-Length to refuse up front
            for i in range(0, len(body), 1000):
                yield body[i : i + 1000]

        async with client.patch(f"http://127.0.0.1:{proxy.port}{GRADE}", data=chunks(), headers=AUTH) as resp:
            assert resp.request_info.headers.get("Transfer-Encoding") == "chunked"
            _assert_413(resp.status, dict(resp.headers), await resp.read(), 4096)
    assert fault_upstream.connections == 0
    await settle(proxy, baseline, fault_upstream)
    assert (await probe(proxy, fault_upstream)).status == 200


async def test_a_content_length_shorter_than_the_body_forwards_exactly_the_declared_bytes(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory
) -> None:
    """The bytes after the declared length are the next request to the proxy too; here garbage that
    the parser refuses. The upstream sees the same boundary: the declared bytes, once."""
    proxy = await start_proxy(fault_upstream.url, **LIMIT)
    declared = b'{"grade_points": 3}'
    first = _head("PATCH", GRADE, f"Content-Length: {len(declared)}") + declared
    rest = b"x" * 8000 + b"\r\n\r\n"
    # In one segment, aiohttp's parser refuses the lot: nothing is forwarded.
    reply = await raw_request(proxy.port, first + rest)
    assert status_of(reply) == 400 and TOKEN.encode() not in reply
    assert fault_upstream.handled() == []
    # Apart, the declared request goes through once; the leftover is refused as a request of its own.
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(first)
    await wait_until(lambda: len(fault_upstream.handled()) == 1)
    writer.write(rest)
    reply = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    assert status_of(reply) == 200
    assert b"HTTP/1.0 400" in reply and TOKEN.encode() not in reply
    assert [(r.path, r.body) for r in fault_upstream.handled()] == [(GRADE, declared)]


async def test_a_content_length_longer_than_the_body_is_a_408_after_the_body_timeout(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory
) -> None:
    proxy = await start_proxy(fault_upstream.url, **LIMIT, **{"server.client_body_timeout_seconds": 0.5})
    reply = await raw_request(
        proxy.port, _head("PATCH", GRADE, "Content-Length: 4000") + b'{"grade_points": 3}'
    )
    assert status_of(reply) == 408
    assert header_of(reply, "X-Clever-Proxy") == "error; kind=client_timeout"
    assert fault_upstream.connections == 0


async def test_a_streamed_body_over_its_limit_is_refused_or_cut_before_its_end(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory
) -> None:
    proxy = await start_proxy(fault_upstream.url, **LIMIT)
    baseline = proxy_tasks(fault_upstream)
    body = bytes(range(256)) * 400  # 102400 bytes > 65536
    async with aiohttp.ClientSession() as client:
        # Declared too large: refused before anything is sent upstream.
        async with client.post(f"http://127.0.0.1:{proxy.port}{STREAMED}", data=body, headers=AUTH) as resp:
            _assert_413(resp.status, dict(resp.headers), await resp.read(), 65536)
        assert fault_upstream.connections == 0

        async def chunks():
            for i in range(0, len(body), 4096):
                yield body[i : i + 4096]
                await asyncio.sleep(0.01)

        # Chunked: streamed until it passes the limit, then cut; the upstream never sees its end.
        async with client.post(
            f"http://127.0.0.1:{proxy.port}{STREAMED}", data=chunks(), headers=AUTH
        ) as resp:
            _assert_413(resp.status, dict(resp.headers), await resp.read(), 65536)
    await wait_until(lambda: len(fault_upstream.requests) == 1)
    seen = fault_upstream.requests[0]
    assert not seen.complete and not seen.handled
    assert len(seen.body) <= 65536
    assert not bytes(fault_upstream.raw[seen.conn]).endswith(b"0\r\n\r\n")
    await settle(proxy, baseline, fault_upstream)
    # Within the limit, both framings stream through whole.
    small = body[:60000]
    async with aiohttp.ClientSession() as client:
        async with client.post(f"http://127.0.0.1:{proxy.port}{STREAMED}", data=small, headers=AUTH) as resp:
            assert resp.status == 200
    assert fault_upstream.handled(STREAMED)[-1].body == small


@pytest.mark.parametrize("path", [GRADE, STREAMED])
async def test_broken_chunked_framing_is_a_400_and_never_completes_upstream(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory, path: str
) -> None:
    proxy = await start_proxy(fault_upstream.url, **LIMIT)
    baseline = proxy_tasks(fault_upstream)
    broken = b'5\r\n{"gra\r\nzz\r\nxx\r\n0\r\n\r\n'  # "zz" is no chunk size
    reply = await raw_request(
        proxy.port, _head("PATCH" if path == GRADE else "POST", path, "Transfer-Encoding: chunked") + broken
    )
    assert status_of(reply) == 400
    assert header_of(reply, "X-Clever-Proxy") in ("error; kind=bad_body", "error; kind=bad_request")
    await wait_until(lambda: proxy.state.in_flight == 0)
    assert fault_upstream.handled() == []
    await settle(proxy, baseline, fault_upstream)


async def test_a_compressed_request_body_is_forwarded_as_sent(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory
) -> None:
    proxy = await start_proxy(fault_upstream.url, **LIMIT)
    payload = gzip.compress(b'{"data":"' + b"z" * 3000 + b'"}', mtime=0)
    headers = {**AUTH, "Content-Encoding": "gzip", "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as client:
        async with client.post(
            f"http://127.0.0.1:{proxy.port}{STREAMED}", data=payload, headers=headers
        ) as resp:
            assert resp.status == 200
    seen = fault_upstream.handled(STREAMED)[0]
    assert seen.body == payload
    assert seen.header("Content-Encoding") == ["gzip"]
    assert seen.header("Content-Length") == [str(len(payload))]


@pytest.mark.parametrize(
    ("what", "request_bytes"),
    [
        ("request line", f"GET /v3.0/me?q={'a' * 1100} HTTP/1.1\r\nHost: x\r\n\r\n".encode()),
        (
            "header value",
            f"GET /v3.0/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}{'a' * 1100}\r\n\r\n".encode(),
        ),
        ("header name", f"GET /v3.0/me HTTP/1.1\r\nHost: x\r\nX-{'n' * 1100}: {TOKEN}\r\n\r\n".encode()),
        (
            "header count",
            b"GET /v3.0/me HTTP/1.1\r\nHost: x\r\n"
            + b"".join(b"X-H%d: %s\r\n" % (i, TOKEN.encode()) for i in range(40))
            + b"\r\n",
        ),
    ],
)
async def test_request_line_and_header_limits_are_enforced_and_configurable(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory, what: str, request_bytes: bytes
) -> None:
    limits = {
        "limits.max_request_line_bytes": 1024,
        "limits.max_header_bytes": 1024,
        "limits.max_headers": 32,
    }
    proxy = await start_proxy(fault_upstream.url, **limits)
    baseline = proxy_tasks(fault_upstream)
    reply = await raw_request(proxy.port, request_bytes)
    assert status_of(reply) == 400, what
    assert header_of(reply, "X-Clever-Proxy") == "error; kind=bad_request"
    assert body_of(reply) == b'{"message":"clever-proxy could not parse the request (malformed HTTP)"}'
    assert fault_upstream.connections == 0
    # Just within the limits, the same shapes pass.
    ok = (
        f"GET /v3.0/me?q={'a' * 900} HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {'a' * 900}\r\nX-{'n' * 900}: 1\r\n"
        + "".join(f"X-H{i}: 1\r\n" for i in range(28))
        + "Connection: close\r\n\r\n"
    ).encode()
    assert status_of(await raw_request(proxy.port, ok)) == 200
    await settle(proxy, baseline, fault_upstream)


async def test_default_header_limits(fault_upstream: FaultUpstream, start_proxy: ProxyFactory) -> None:
    proxy = await start_proxy(fault_upstream.url)
    many = (
        b"GET /v3.0/me HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: 1\r\n" % i for i in range(101)) + b"\r\n"
    )
    assert status_of(await raw_request(proxy.port, many)) == 400
    long_value = f"GET /v3.0/me HTTP/1.1\r\nHost: x\r\nX-A: {'v' * 8191}\r\n\r\n".encode()
    assert status_of(await raw_request(proxy.port, long_value)) == 400
    fine = f"GET /v3.0/me HTTP/1.1\r\nHost: x\r\nX-A: {'v' * 8000}\r\nConnection: close\r\n\r\n".encode()
    assert status_of(await raw_request(proxy.port, fine)) == 200
    assert len(fault_upstream.handled()) == 1
