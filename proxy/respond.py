"""The only builder of local response bytes: a Reject becomes Clever's exact response (contract §8).

Status, headers (in the contract's order), body framing and compression all come from the contract's
[responses] and [compression] data; this module only interprets them. The proxy's own answers (502,
504, 413) are built here too, clearly marked as the proxy's.
"""

from __future__ import annotations

import time
import zlib
from email.utils import formatdate
from typing import Any

import orjson
from aiohttp import web
from multidict import CIMultiDict

from proxy.contract import Contract, ResponseSpec
from proxy.gocompat.json_marshal import go_json_string
from proxy.verdict import Reject

# strings.TrimSpace's set (unicode.IsSpace), which gorilla applies to each Accept-Encoding token.
_GO_SPACE = (
    " \t\n\v\f\r\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


class _AsDeclared:
    """aiohttp fills in Content-Type (application/octet-stream) and Server when a response lacks them;
    Clever's answers may lack both (a 405, an empty DELETE), so only declared headers go out."""

    async def _prepare_headers(self) -> None:
        headers = self._headers  # type: ignore[attr-defined]
        had_type, had_server = "Content-Type" in headers, "Server" in headers
        await super()._prepare_headers()  # type: ignore[misc]
        if not had_type:
            headers.popall("Content-Type", None)
        if not had_server:
            headers.popall("Server", None)


class ExactResponse(_AsDeclared, web.Response):
    """A buffered response with exactly the headers given (plus framing and Date)."""


class ExactStreamResponse(_AsDeclared, web.StreamResponse):
    """A streamed response with exactly the headers given (plus framing and Date).

    Its head goes out as the bytes the upstream sent: aiohttp's parser decodes bytes that are not
    UTF-8 (obs-text, legal in a reason phrase and a field value) to surrogate escapes, which aiohttp's
    own serialiser drops. Nothing here can carry CR or LF: the upstream's parser refuses them, and
    the proxy's own framing lines are ASCII."""

    async def _write_headers(self) -> None:
        request = self._req
        writer = self._payload_writer
        assert request is not None and writer is not None
        major, minor = request.version
        head = [b"HTTP/%d.%d %d %s\r\n" % (major, minor, self._status, _raw(self._reason))]
        for name, value in self._headers.items():
            head.append(b"%s: %s\r\n" % (_raw(name), _raw(value)))
        head.append(b"\r\n")
        # What StreamWriter.write_headers stores; the first body write (or the end) sends it.
        writer._headers_buf = b"".join(head)  # type: ignore[attr-defined]
        writer._headers_written = False  # type: ignore[attr-defined]
        if self._send_headers_immediately:
            writer.send_headers()  # type: ignore[attr-defined]


# Statuses whose answers carry no body (RFC 9110 §15.3.5, §15.4.5, 1xx): left to aiohttp's framing.
NO_BODY_STATUSES = frozenset((204, 304, *range(100, 200)))


class RenderedResponse(web.StreamResponse):
    """A whole answer whose header lines the caller already rendered to bytes (once per kind of local
    answer; straight from the upstream's raw lines for a forwarded one), written in one write.

    It goes out as ExactResponse would send it (tested byte for byte against aiohttp's own
    serialisation): the status line in the request's HTTP version, the given lines, Content-Length
    unless the lines carry it, Date unless they carry it, Connection as keep-alive requires, then the
    body (none for HEAD). What it skips is building a header multidict per answer and serialising it."""

    def __init__(
        self,
        status: int,
        lines: bytes,
        body: bytes,
        *,
        reason: str | None = None,
        has_length: bool = False,
        has_date: bool = False,
    ) -> None:
        super().__init__(status=status, reason=reason)
        self._lines = lines  # "Name: value\r\n" lines
        self._rendered_body = body
        self._has_length = has_length  # the lines carry Content-Length (a forwarded answer's own)
        self._has_date = has_date

    async def prepare(self, request: web.BaseRequest) -> None:  # type: ignore[override]
        if self._eof_sent:
            return
        self._eof_sent = True
        keep_alive = self._keep_alive
        if keep_alive is None:
            keep_alive = self._keep_alive = request.keep_alive
        status_line = b"%d %s" % (self.status, _raw(self.reason))
        answer = render_whole(
            request.version,
            status_line,
            self._lines,
            self._rendered_body,
            has_length=self._has_length,
            has_date=self._has_date,
            head_only=request.method == "HEAD",
            keep_alive=keep_alive,
        )
        transport = request.transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("the client connection is closed")
        transport.write(answer)
        # Above the transport's high-water mark, wait as aiohttp's writer would: a client pipelining
        # requests without reading the answers must not pile them up in memory.
        protocol = request.protocol
        if protocol.writing_paused:
            await protocol._drain_helper()

    async def write_eof(self, data: bytes = b"") -> None:
        return None


def render_whole(
    version: tuple[int, int],
    status_line: bytes,
    lines: bytes,
    body: bytes,
    *,
    has_length: bool,
    has_date: bool,
    head_only: bool,
    keep_alive: bool,
) -> bytes:
    """A whole answer's bytes as aiohttp frames it (`status_line` is "400 Bad Request"): the status
    line in the request's version, the given lines, Content-Length unless they carry it, Date unless
    they carry it, Connection as keep-alive requires, then the body (none for HEAD)."""
    parts = [b"HTTP/%d.%d %s\r\n" % (version[0], version[1], status_line), lines]
    if not has_length and (body or not head_only):
        parts.append(b"Content-Length: %d\r\n" % len(body))
    if not has_date:
        parts.append(http_date())
    if keep_alive:
        if version == (1, 0):
            parts.append(b"Connection: keep-alive\r\n")
    elif version == (1, 1):
        parts.append(b"Connection: close\r\n")
    parts.append(b"\r\n")
    if body and not head_only:
        parts.append(body)
    return b"".join(parts)


def _raw(text: str) -> bytes:
    """Text aiohttp's parser decoded from the wire, as the bytes it came from."""
    return text.encode("utf-8", "surrogateescape")


_date_second = -1
_date_line = b""


def http_date() -> bytes:
    """The Date header line (RFC 9110 §5.6.7), formatted at most once a second."""
    global _date_second, _date_line
    now = int(time.time())
    if now != _date_second:
        _date_second = now
        _date_line = b"Date: " + formatdate(now, usegmt=True).encode("ascii") + b"\r\n"
    return _date_line


def choose_encoding(accept_encoding: str | None, has_upgrade: bool, encodings: tuple[str, ...]) -> str | None:
    """gorilla/handlers CompressHandler: first token of the first header equal to a known encoding."""
    if not accept_encoding or has_upgrade:
        return None
    for raw in accept_encoding.split(","):
        token = raw.strip(_GO_SPACE)
        if token in encodings:
            return token
    return None


def compress(body: bytes, encoding: str) -> bytes:
    """gzip as Go's compress/gzip frames it; 'deflate' is raw DEFLATE, as gorilla's flate writer sends."""
    if encoding == "gzip":
        co = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    else:
        co = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return co.compress(body) + co.flush()


# A rendered local answer: status line ("400 Bad Request"), header lines, body (compressed if asked),
# whether the lines carry Content-Length and Date.
_Rendered = tuple[bytes, bytes, bytes, bool, bool]
ANSWER_CACHE_SIZE = 1024
# Only short answers are kept. A message may quote what the client sent (Go's time.ParseError quotes a
# bad date twice, each '<' escaped to six bytes in JSON), so a 128 KiB body can render a 1.4 MB answer;
# a cache bounded only by count would let a client park gigabytes. The messages that repeat are short.
CACHED_MESSAGE_CHARS = 1024
CACHED_ANSWER_BYTES = 2048
ENCODING_CACHE_SIZE = 256


def _worth_keeping(verdict: Reject, rendered_bytes: int) -> bool:
    # The message is part of the cache key: both it and the answer must be short.
    return len(verdict.message) <= CACHED_MESSAGE_CHARS and rendered_bytes <= CACHED_ANSWER_BYTES


class Responder:
    """Renders verdicts; holds the marker header that tells an operator an answer was the proxy's."""

    __slots__ = ("_answers", "_contract", "_encodings", "_marker", "_whole")

    def __init__(self, contract: Contract, marker_header: str) -> None:
        self._contract = contract
        self._marker = marker_header
        # Local answers repeat (the same few messages): each distinct answer is rendered and compressed
        # once, then served from here. Bounded; cleared whole when full.
        self._answers: dict[tuple[str, str, str | None, str], _Rendered] = {}
        # The same, as whole bytes for a given HTTP version, method and keep-alive, with the Date line
        # they were built with (valid for that second).
        self._whole: dict[tuple[Any, ...], tuple[bytes, bytes]] = {}
        # A client sends the same Accept-Encoding every time: its choice is made once.
        self._encodings: dict[str | None, str | None] = {}

    def body_of(self, spec: ResponseSpec, message: str) -> bytes:
        if spec.body == "empty":
            return b""
        if spec.body == "literal":
            return spec.literal
        body = b'{"' + spec.message_key.encode() + b'":' + go_json_string(message) + b"}"
        return body + b"\n" if spec.trailing_newline else body

    def reject(self, verdict: Reject, accept_encoding: str | None, has_upgrade: bool) -> web.StreamResponse:
        spec = self._contract.responses[verdict.response]
        encoding = self._encoding(spec, accept_encoding, has_upgrade)
        answer = self._rendered(verdict, spec, encoding)
        if answer is None:
            body = self._body(spec, verdict.message, encoding)
            headers = CIMultiDict(self._header_pairs(spec, encoding, verdict.rule))
            return ExactResponse(status=spec.status, body=body or None, headers=headers)
        _, lines, body, has_length, has_date = answer
        return RenderedResponse(spec.status, lines, body, has_length=has_length, has_date=has_date)

    def reject_bytes(
        self,
        verdict: Reject,
        accept_encoding: str | None,
        has_upgrade: bool,
        version: tuple[int, int],
        head_only: bool,
        keep_alive: bool,
    ) -> bytes | None:
        """The bytes `reject` would put on the wire for a request of this version and method, without
        a response object; None for an answer only aiohttp's own framing renders."""
        spec = self._contract.responses[verdict.response]
        encoding = self._encoding(spec, accept_encoding, has_upgrade)
        key = (verdict.response, verdict.message, encoding, verdict.rule, version, head_only, keep_alive)
        date = http_date()
        whole = self._whole.get(key)
        if whole is not None and whole[0] is date:
            return whole[1]
        answer = self._rendered(verdict, spec, encoding)
        if answer is None:
            return None
        status_line, lines, body, has_length, has_date = answer
        data = render_whole(
            version,
            status_line,
            lines,
            body,
            has_length=has_length,
            has_date=has_date,
            head_only=head_only,
            keep_alive=keep_alive,
        )
        if _worth_keeping(verdict, len(data)):
            if len(self._whole) >= ANSWER_CACHE_SIZE:
                self._whole.clear()
            self._whole[key] = (date, data)
        return data

    def _encoding(self, spec: ResponseSpec, accept_encoding: str | None, has_upgrade: bool) -> str | None:
        if not spec.compressed or has_upgrade:
            return None
        encodings = self._encodings
        try:
            return encodings[accept_encoding]
        except KeyError:
            if len(encodings) >= ENCODING_CACHE_SIZE:
                encodings.clear()
            chosen = encodings[accept_encoding] = choose_encoding(
                accept_encoding, False, self._contract.compression_encodings
            )
            return chosen

    def _rendered(self, verdict: Reject, spec: ResponseSpec, encoding: str | None) -> _Rendered | None:
        if spec.status in NO_BODY_STATUSES:  # no such answer in Clever's contract today
            return None
        key = (verdict.response, verdict.message, encoding, verdict.rule)
        answer = self._answers.get(key)
        if answer is None:
            answer = self._render(spec, verdict, encoding)
            if _worth_keeping(verdict, len(answer[1]) + len(answer[2])):
                if len(self._answers) >= ANSWER_CACHE_SIZE:
                    self._answers.clear()
                self._answers[key] = answer
        return answer

    def _body(self, spec: ResponseSpec, message: str, encoding: str | None) -> bytes:
        body = self.body_of(spec, message)
        return compress(body, encoding) if encoding is not None else body

    def _render(self, spec: ResponseSpec, verdict: Reject, encoding: str | None) -> _Rendered:
        pairs = self._header_pairs(spec, encoding, verdict.rule)
        names = {k.lower() for k, _ in pairs}
        lines = b"".join(f"{k}: {v}\r\n".encode() for k, v in pairs)
        body = self._body(spec, verdict.message, encoding)
        # The reason phrase exactly as aiohttp picks it for the status.
        status_line = b"%d %s" % (spec.status, _raw(web.StreamResponse(status=spec.status).reason))
        return status_line, lines, body, "content-length" in names, "date" in names

    def _header_pairs(self, spec: ResponseSpec, encoding: str | None, rule: str) -> list[tuple[str, str]]:
        """A local answer's headers, in the order they go out: the contract's, Vary and Content-Encoding
        where the answer is compressible, then the marker."""
        pairs = list(spec.headers)
        if spec.compressed:
            pairs.append(("Vary", self._contract.vary))
            if encoding is not None:
                pairs.append(("Content-Encoding", encoding))
        if self._marker:
            pairs.append((self._marker, f"local; rule={rule}"))
        return pairs

    def proxy_error(self, status: int, kind: str, message: str) -> web.Response:
        """An answer of the proxy's own (upstream unreachable, timeout, body too large), always marked."""
        headers = CIMultiDict({"Content-Type": "application/json"})
        headers.add(self._marker or "X-Clever-Proxy", f"error; kind={kind}")
        return web.Response(status=status, body=orjson.dumps({"message": message}), headers=headers)
