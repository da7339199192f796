"""The only builder of local response bytes: a Reject becomes Clever's exact response (contract §8).

Status, headers (in the contract's order), body framing and compression all come from the contract's
[responses] and [compression] data; this module only interprets them. The proxy's own answers (502,
504, 413) are built here too, clearly marked as the proxy's.
"""

from __future__ import annotations

import zlib

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
    """A streamed response with exactly the headers given (plus framing and Date)."""


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


class Responder:
    """Renders verdicts; holds the marker header that tells an operator an answer was the proxy's."""

    __slots__ = ("_compressed", "_contract", "_marker")

    def __init__(self, contract: Contract, marker_header: str) -> None:
        self._contract = contract
        self._marker = marker_header
        # Local answers repeat (the same few messages): compressing each once saves a zlib stream
        # per answer. Bounded; cleared whole when full.
        self._compressed: dict[tuple[bytes, str], bytes] = {}

    def body_of(self, spec: ResponseSpec, message: str) -> bytes:
        if spec.body == "empty":
            return b""
        if spec.body == "literal":
            return spec.literal
        body = b'{"' + spec.message_key.encode() + b'":' + go_json_string(message) + b"}"
        return body + b"\n" if spec.trailing_newline else body

    def reject(self, verdict: Reject, accept_encoding: str | None, has_upgrade: bool) -> web.Response:
        contract = self._contract
        spec = contract.responses[verdict.response]
        body = self.body_of(spec, verdict.message)
        headers = CIMultiDict(spec.headers)
        if spec.compressed:
            headers.add("Vary", contract.vary)
            encoding = choose_encoding(accept_encoding, has_upgrade, contract.compression_encodings)
            if encoding is not None:
                key = (body, encoding)
                cached = self._compressed.get(key)
                if cached is None:
                    if len(self._compressed) >= 4096:
                        self._compressed.clear()
                    cached = self._compressed[key] = compress(body, encoding)
                body = cached
                headers.add("Content-Encoding", encoding)
        if self._marker:
            headers.add(self._marker, f"local; rule={verdict.rule}")
        if body:
            return ExactResponse(status=spec.status, body=body, headers=headers)
        return ExactResponse(status=spec.status, headers=headers)

    def proxy_error(self, status: int, kind: str, message: str) -> web.Response:
        """An answer of the proxy's own (upstream unreachable, timeout, body too large), always marked."""
        headers = CIMultiDict({"Content-Type": "application/json"})
        headers.add(self._marker or "X-Clever-Proxy", f"error; kind={kind}")
        return web.Response(status=status, body=orjson.dumps({"message": message}), headers=headers)
