"""The only owner of the upstream connection pool: sends a request to Clever and streams the answer back.

Rules: only the configured upstream origin is ever contacted (the request target contributes its path
and query, never a host); bytes are passed through untouched (no decompression, no re-encoding of the
path); hop-by-hop headers are dropped both ways; the proxy adds no header the client did not send
except Host and X-Forwarded-*. Library exceptions become the proxy's 502/504 here and nowhere else. A
request that may have reached the upstream is never sent again: writes (POST, PATCH, DELETE, PUT) go
through a session whose connection-retry is off.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from proxy.request import ParsedRequest
from proxy.respond import ExactResponse, ExactStreamResponse

log = logging.getLogger("clever_proxy")

# RFC 9110 §7.6.1 connection-specific fields, plus the de-facto Proxy-Connection and Keep-Alive.
HOP_BY_HOP = frozenset(
    ("connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade")
)
# Request fields aiohttp's server already acted on or that the client session sets itself.
_DROP_REQUEST = HOP_BY_HOP | {"host", "content-length", "expect"}
_DROP_RESPONSE = HOP_BY_HOP
# Methods that RFC 9110 calls safe: a stale pooled connection may be retried for them.
SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS", "TRACE"))
_SKIP_AUTO = frozenset(("User-Agent", "Accept", "Accept-Encoding", "Content-Type"))
_CHUNK = 64 * 1024


@dataclass(slots=True)
class Exchange:
    """What the server needs to know about one upstream exchange for metrics and the access log."""

    status: int = 0
    outcome: str = "forwarded"  # or upstream_error
    error_kind: str = ""
    upstream_seconds: float = 0.0
    capture: bool = False  # keep a 4xx answer's body (shadow comparison, missed rejections)
    captured: bytes | None = None
    content_encoding: str | None = None


class UpstreamFailure(Exception):
    """The upstream could not be reached or did not answer in time; kind is connect/timeout/protocol."""

    def __init__(self, kind: str, status: int) -> None:
        super().__init__(kind)
        self.kind = kind
        self.status = status


class ClientFailure(Exception):
    """The client, not the upstream, ended the exchange: kind is body_too_large (413), client_timeout
    (408), bad_body (400, malformed chunked framing), bad_target (400, a raw "#" in the target),
    client_gone (499: no one is left to answer) or not_proxied (405, CONNECT). A request body cut
    short this way never reaches the upstream whole."""

    def __init__(self, kind: str, status: int, limit: int = 0) -> None:
        super().__init__(kind)
        self.kind = kind
        self.status = status
        self.limit = limit  # the size limit a body_too_large exceeded


class _Upload:
    """A request body on its way upstream, read from the client under a deadline and a size limit.

    An exception here stops aiohttp's writer before the body's end (no last chunk, fewer bytes than
    Content-Length) and the upstream connection is closed, so the upstream never sees the request
    whole; `failure` tells the caller it was the client's doing."""

    __slots__ = ("_content", "_deadline", "_limit", "failure")

    def __init__(self, content: web.StreamReader, limit: int, deadline: float) -> None:
        self._content = content
        self._limit = limit
        self._deadline = deadline
        self.failure: ClientFailure | None = None

    async def chunks(self) -> AsyncIterator[bytes]:
        size = 0
        while True:
            try:
                async with asyncio.timeout_at(self._deadline):
                    chunk = await self._content.readany()
            except TimeoutError:
                self.failure = ClientFailure("client_timeout", 408)
                raise self.failure from None
            except OSError:  # the client connection was lost mid-body
                self.failure = ClientFailure("client_gone", 499)
                raise self.failure from None
            except Exception:  # aiohttp's RequestPayloadError: broken chunked framing
                self.failure = ClientFailure("bad_body", 400)
                raise self.failure from None
            if not chunk:
                return
            size += len(chunk)
            if size > self._limit:
                self.failure = ClientFailure("body_too_large", 413, self._limit)
                raise self.failure
            yield chunk


def connection_tokens(headers: Mapping[str, str]) -> frozenset[str]:
    """Header names listed in Connection are hop-by-hop too (RFC 9110 §7.6.1)."""
    value = headers.get("Connection")
    if not value:
        return frozenset()
    return frozenset(t.strip().lower() for t in value.split(",") if t.strip())


def filter_headers(headers: Mapping[str, str], drop: frozenset[str]) -> CIMultiDict[str]:
    named = connection_tokens(headers)
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in headers.items():
        lower = name.lower()
        if lower in drop or lower in named or lower.startswith("proxy-"):
            continue
        out.add(name, value)
    return out


class Forwarder:
    def __init__(
        self,
        upstream_url: str,
        *,
        connect_timeout: float,
        total_timeout: float,
        pool_size: int,
        x_forwarded: bool,
        max_streamed_body: int = 64 * 1024 * 1024,
        body_timeout: float = 30.0,
    ) -> None:
        self._base = upstream_url.rstrip("/")
        self._max_streamed_body = max_streamed_body
        self._body_timeout = body_timeout
        self._timeout = aiohttp.ClientTimeout(total=total_timeout, connect=connect_timeout)
        self._pool_size = pool_size
        self._x_forwarded = x_forwarded
        self._connector: aiohttp.TCPConnector | None = None
        self._safe: aiohttp.ClientSession | None = None
        self._unsafe: aiohttp.ClientSession | None = None

    def set_timeouts(self, connect_timeout: float, total_timeout: float) -> None:
        """New timeouts for the requests that start from now on (a configuration reload)."""
        self._timeout = aiohttp.ClientTimeout(total=total_timeout, connect=connect_timeout)

    @property
    def is_open(self) -> bool:
        return self._safe is not None and not self._safe.closed

    async def start(self) -> None:
        self._connector = aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=0, ttl_dns_cache=60)
        common = {
            "connector": self._connector,
            "connector_owner": False,
            "timeout": self._timeout,
            "auto_decompress": False,
            "cookie_jar": aiohttp.DummyCookieJar(),
            "skip_auto_headers": _SKIP_AUTO,
            "requote_redirect_url": False,
        }
        self._safe = aiohttp.ClientSession(**common)  # type: ignore[arg-type]
        self._unsafe = aiohttp.ClientSession(**common)  # type: ignore[arg-type]
        # aiohttp retries a request on a pooled connection that the server closed; that is only harmless
        # for safe methods, and the retry switch has no public setter.
        if hasattr(self._unsafe, "_retry_connection"):
            self._unsafe._retry_connection = False

    async def close(self) -> None:
        for session in (self._safe, self._unsafe):
            if session is not None:
                await session.close()
        if self._connector is not None:
            await self._connector.close()

    def _headers(self, request: web.BaseRequest) -> CIMultiDict[str]:
        headers = filter_headers(request.headers, _DROP_REQUEST)
        if self._x_forwarded:
            peer = request.remote or ""
            prior = headers.getall("X-Forwarded-For", [])
            if prior:
                del headers["X-Forwarded-For"]
                headers["X-Forwarded-For"] = ", ".join((*prior, peer))
            else:
                headers["X-Forwarded-For"] = peer
            if "X-Forwarded-Proto" not in headers:
                headers["X-Forwarded-Proto"] = request.scheme
        length = request.content_length
        if length is not None and request.body_exists:
            headers["Content-Length"] = str(length)
        return headers

    async def send(
        self, request: web.BaseRequest, parsed: ParsedRequest, exchange: Exchange
    ) -> web.StreamResponse:
        """Forward and stream the answer; raises UpstreamFailure or ClientFailure before any byte went
        to the client."""
        assert self._safe is not None and self._unsafe is not None
        if parsed.method == "CONNECT":
            # aiohttp would turn it into a tunnel request for the upstream's own address: nothing
            # the client asked for can be forwarded faithfully, and this is not a forward proxy.
            raise ClientFailure("not_proxied", 405)
        session = self._safe if parsed.method in SAFE_METHODS else self._unsafe
        url = URL(self._base + parsed.target, encoded=True)
        headers = self._headers(request)
        upload: _Upload | None = None
        if parsed.body is not None:
            data: object = parsed.body
            headers["Content-Length"] = str(len(parsed.body))
        elif parsed.has_body:
            length = request.content_length
            if length is not None and length > self._max_streamed_body:
                raise ClientFailure("body_too_large", 413, self._max_streamed_body)
            deadline = asyncio.get_running_loop().time() + self._body_timeout
            upload = _Upload(request.content, self._max_streamed_body, deadline)
            data = upload.chunks()
        else:
            data = None
            headers.pop("Content-Length", None)
        started = time.perf_counter()
        try:
            upstream = await session.request(
                parsed.method, url, headers=headers, data=data, allow_redirects=False, timeout=self._timeout
            )
        except Exception as exc:
            if upload is not None and upload.failure is not None:
                raise upload.failure from None
            raise _upstream_failure(exc) from None
        exchange.upstream_seconds = time.perf_counter() - started
        exchange.status = upstream.status
        try:
            return await self._stream_back(request, upstream, exchange)
        finally:
            upstream.release()

    async def _stream_back(
        self, request: web.BaseRequest, upstream: aiohttp.ClientResponse, exchange: Exchange
    ) -> web.StreamResponse:
        headers = filter_headers(upstream.headers, _DROP_RESPONSE)
        whole = _arrived_whole(upstream)
        if whole is not None:
            return await _send_whole(request, upstream, headers, whole, exchange)
        response = ExactStreamResponse(status=upstream.status, reason=upstream.reason, headers=headers)
        kept: list[bytes] | None = None
        if exchange.capture and 400 <= upstream.status < 500:
            kept = []
            exchange.content_encoding = upstream.headers.get("Content-Encoding")
        if upstream.headers.get("Content-Length") is None:
            response.headers.popall("Content-Length", None)
        try:
            await response.prepare(request)
            while True:
                try:
                    chunk = await upstream.content.readany()
                except (TimeoutError, aiohttp.ClientError, asyncio.IncompleteReadError, OSError) as exc:
                    # Headers are out: the only honest signal left is to cut the client's connection
                    # (a clean end, such as a last chunk, would pass a truncated answer off as whole).
                    exchange.outcome = "upstream_error"
                    exchange.error_kind = "timeout" if isinstance(exc, TimeoutError) else "protocol"
                    upstream.close()
                    if request.transport is not None:
                        request.transport.close()
                    return response
                if not chunk:
                    break
                if kept is not None:
                    kept.append(chunk)
                    if len(kept) > 64:  # a large 4xx body is not one of Clever's error answers
                        kept = None
                await response.write(chunk)
            await response.write_eof()
            if kept is not None:
                exchange.captured = b"".join(kept)
        except ConnectionError:  # the client went away (aiohttp's ClientConnectionResetError included)
            exchange.outcome = "upstream_error"
            exchange.error_kind = "client_gone"
            upstream.close()
        return response


def _arrived_whole(upstream: aiohttp.ClientResponse) -> bytes | None:
    """The answer's body when all of it, exactly its declared Content-Length and not yet read, is
    already buffered (the common small answer, which arrives with its head): it then goes out in one
    write. Anything else (HEAD, 204 and 304 have no body; a body still arriving) is streamed."""
    declared = upstream.headers.get("Content-Length")
    content = upstream.content
    if declared is None or not declared.isdigit() or "Transfer-Encoding" in upstream.headers:
        return None
    if not content.is_eof() or content.exception() is not None:
        return None
    size = int(declared)
    if size == 0 or content.total_bytes != size:
        return None
    body = content.read_nowait()
    return body if len(body) == size else None


async def _send_whole(
    request: web.BaseRequest,
    upstream: aiohttp.ClientResponse,
    headers: CIMultiDict[str],
    body: bytes,
    exchange: Exchange,
) -> web.StreamResponse:
    response = ExactResponse(status=upstream.status, reason=upstream.reason, headers=headers, body=body)
    if exchange.capture and 400 <= upstream.status < 500:
        exchange.content_encoding = upstream.headers.get("Content-Encoding")
        exchange.captured = body
    try:
        await response.prepare(request)
        await response.write_eof()
    except ConnectionError:  # the client went away
        exchange.outcome = "upstream_error"
        exchange.error_kind = "client_gone"
        exchange.captured = None
    return response


def _upstream_failure(exc: Exception) -> UpstreamFailure:
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return UpstreamFailure("timeout", 504)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return UpstreamFailure("connect", 502)
    if isinstance(exc, aiohttp.ClientError | OSError):
        return UpstreamFailure("protocol", 502)
    raise exc
