"""ParsedRequest: what the checks may see of an HTTP request, and the only place that reads aiohttp's.

Rule: checks never touch aiohttp objects, and this module imports no aiohttp either: the server hands
it the request line, the headers (any case-insensitive mapping) and the declared length, and gets back
a small frozen value (method, raw and percent-decoded path, raw query, the few headers that matter,
the body bytes when the operation validates bodies). Whether the body is buffered is decided here,
from the contract alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from proxy.contract import Contract, Operation, Route
from proxy.gocompat.urlparse import path_unescape


@dataclass(slots=True)
class ParsedRequest:
    """Read-only once `inspect` (and `with_body`) made it; not frozen only because a frozen dataclass
    costs several microseconds to build, on every request."""

    method: str
    raw_path: str  # as sent, without the query (origin form even if the client used absolute form)
    raw_query: str
    path: bytes | None  # percent-decoded path; None when a %-escape is malformed (Go answers 400 itself)
    route: Route | None
    path_vars: dict[str, bytes]
    op: Operation | None  # the operation of (route, method), if the route has that method
    has_authorization: bool
    authorization_well_formed: bool  # exactly one "Bearer <visible ASCII token>"
    accept_encoding: str | None  # the first Accept-Encoding header, as gorilla reads it
    has_upgrade: bool
    has_body: bool  # the client framed a non-empty body (Content-Length > 0 or chunked)
    body: bytes | None  # the whole body, read only for operations that validate it

    target: str = ""  # origin-form path and query as sent ("?" kept even with an empty query)
    # Connection names an end-to-end field (`Connection: Authorization`): an intermediary in front of
    # Clever may drop that field or not, so what Clever sees is unknown.
    connection_names_fields: bool = False


# RFC 3986 path characters: unreserved, sub-delims, ":", "@", "/" and %-escapes. A gateway in front of
# Clever may treat anything else (spaces, quotes, non-ASCII, "#") in its own way.
_PATH_CHARS = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*")


def is_plain_path(raw_path: str, path: bytes) -> bool:
    """A path that every layer in front of Clever reads the same way as mux does."""
    if _PATH_CHARS.fullmatch(raw_path) is None:
        return False
    # mux answers 301 for dot segments of the decoded path (cleanPath); "//" never matches a route.
    return b"/." not in path or not any(segment in (b".", b"..") for segment in path.split(b"/"))


_BEARER = re.compile(r"Bearer [\x21-\x7e]+")
# Connection tokens that name no end-to-end field (TE and Trailer are dropped on every hop anyway).
_PLAIN_CONNECTION = frozenset(("close", "keep-alive", "upgrade", "te", "trailer"))


def _names_fields(headers: Mapping[str, str]) -> bool:
    getall = getattr(headers, "getall", None)
    values = getall("Connection", []) if getall is not None else [headers.get("Connection", "")]
    return any(
        token and token not in _PLAIN_CONNECTION
        for value in values
        for token in (t.strip().lower() for t in value.split(","))
    )


def _bearer(headers: Mapping[str, str]) -> bool:
    getall = getattr(headers, "getall", None)
    values = getall("Authorization", []) if getall is not None else [headers.get("Authorization")]
    return len(values) == 1 and values[0] is not None and _BEARER.fullmatch(values[0]) is not None


def split_target(raw: str) -> tuple[str, str, str]:
    """Origin-form path, query, and the two together as sent; absolute-form keeps only its path and
    query. The asterisk-form ("OPTIONS *": the server itself, not a resource) is forwarded as sent and
    checked as "/", which no route matches."""
    if raw == "*":
        return "/", "", raw
    if not raw.startswith("/"):
        scheme_end = raw.find("://")
        if scheme_end != -1:
            # The authority ends at the first "/", "?" or "#": a "/" inside the query is not the path.
            rest = raw[scheme_end + 3 :]
            end = min(
                (i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i != -1), default=len(rest)
            )
            tail = rest[end:]
            raw = tail if tail.startswith("/") else "/" + tail
        else:
            raw = "/" + raw
    # A raw "#" stays: Go keeps it in the path or query it appears in (it is not a fragment here).
    path, _, query = raw.partition("?")
    return path, query, raw


def inspect(
    method: str, target: str, headers: Mapping[str, str], length: int | None, contract: Contract
) -> ParsedRequest:
    """Everything but the body: enough to decide whether the body must be buffered."""
    raw_path, raw_query, origin_target = split_target(target)
    path = path_unescape(raw_path)
    match = None
    if path is not None and target.startswith("/") and is_plain_path(raw_path, path):
        match = contract.match(path)
        # Fixed segments must be literal too (a gateway may route "/v3.1/%73ections" elsewhere);
        # without a "%", the raw path is the decoded one that just matched.
        if (
            match is not None
            and "%" in raw_path
            and match[0].regex.fullmatch(raw_path.encode("ascii")) is None
        ):
            match = None
    route, path_vars = match if match is not None else (None, {})
    op = route.methods.get(method) if route is not None else None
    has_body = (length is not None and length > 0) or (
        length is None and "chunked" in headers.get("Transfer-Encoding", "").lower()
    )
    # Positional: keyword arguments cost a third of a microsecond more, on every request.
    return ParsedRequest(
        method,
        raw_path,
        raw_query,
        path,
        route,
        path_vars,
        op,
        "Authorization" in headers,  # has_authorization
        _bearer(headers),  # authorization_well_formed
        headers.get("Accept-Encoding"),  # accept_encoding
        bool(headers.get("Upgrade")),  # has_upgrade; gorilla: r.Header.Get("Upgrade") != ""
        has_body,
        None,  # body
        origin_target,  # target
        "Connection" in headers and _names_fields(headers),  # connection_names_fields
    )


def wants_body(parsed: ParsedRequest) -> bool:
    """Bodies are buffered only where the checks read them: operations with a body model, on requests
    that carry an Authorization header (without one, Clever's gateway answers before any body)."""
    return parsed.op is not None and parsed.op.body is not None and parsed.has_authorization


def with_body(parsed: ParsedRequest, body: bytes) -> ParsedRequest:
    parsed.body = body
    return parsed
