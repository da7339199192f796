"""Shadow mode: compare the answer a rule predicted with the one Clever actually gave.

Rule: pure functions over bytes already read; the server decides when to read (only small 4xx bodies
of forwarded requests) and records the result. A disagreement means the rule is not yet safe to
enforce; a `missed` class names what Clever rejected that no rule predicted.
"""

from __future__ import annotations

import logging
import time
import zlib

import orjson

from proxy.contract import Contract
from proxy.respond import Responder
from proxy.verdict import Reject

MESSAGE_CLASSES = (
    "body_required",
    "json_syntax",
    "json_type",
    "date",
    "path_format",
    "query",
    "schema",
    "required_fields",
    "due_date",
    "invalid_id",
    "other",
)
# Largest upstream body read for a comparison; Clever's error bodies are a few hundred bytes.
MAX_COMPARED_BODY = 64 * 1024


def decoded(body: bytes, content_encoding: str | None) -> bytes | None:
    """The body as Clever meant it (gorilla's gzip or raw deflate undone); None if it cannot be, or if
    it is, or would decode to, more than MAX_COMPARED_BODY bytes: an upstream's compressed 4xx body is
    never inflated past that (a 1 MB gzip of zeros would take 1 GB and seconds of the event loop)."""
    if len(body) > MAX_COMPARED_BODY:
        return None
    encoding = (content_encoding or "").strip().lower()
    if not encoding or encoding == "identity":
        return body
    if encoding == "gzip":
        return _inflated(body, 16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        raw = _inflated(body, -zlib.MAX_WBITS)
        return raw if raw is not None else _inflated(body, zlib.MAX_WBITS)
    return None


def _inflated(body: bytes, wbits: int) -> bytes | None:
    """`body` decompressed whole, or None when it is broken, truncated, or longer than the bound."""
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(body, MAX_COMPARED_BODY + 1)
    except zlib.error:
        return None
    if len(out) > MAX_COMPARED_BODY or not inflater.eof:
        return None
    return out


def agrees(responder: Responder, contract: Contract, predicted: Reject, status: int, body: bytes) -> bool:
    """Did Clever answer exactly what the rule predicted (status and decoded body bytes)?"""
    spec = contract.responses[predicted.response]
    return status == spec.status and body == responder.body_of(spec, predicted.message)


def message_of(body: bytes) -> str | None:
    """The `message` of a Clever error body, if it has that shape."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    message = value.get("message") if isinstance(value, dict) else None
    return message if isinstance(message, str) else None


def message_class(contract: Contract, message: str | None) -> str:
    """A bounded label for a Clever 400 message, derived from the contract's templates."""
    if message is None:
        return "other"
    m = contract.messages
    if message == m["body_required"]:
        return "body_required"
    if message in ("EOF", "unexpected EOF") or message.startswith("invalid character "):
        return "json_syntax"
    if message.startswith("json: cannot unmarshal "):
        return "json_type"
    if message.startswith("parsing time "):
        return "date"
    if " in path must be of type " in message:
        return "path_format"
    if message.startswith("strconv.") or " in query should be " in message:
        return "query"
    if message.startswith(m["composite"]):
        return "schema"
    if message.startswith(m["missing_required"].split("{", 1)[0]):
        return "required_fields"
    if message == m["due_date_past"]:
        return "due_date"
    if message == m["invalid_id"]:
        return "invalid_id"
    return "other"


class DisagreementLog:
    """One JSON line per disagreement, at most one a second per rule; the others are counted and the
    count rides on the next line. Never a request body, path or header, and so no message either (both
    the rule's and Clever's quote the client's values): statuses and message classes only."""

    def __init__(self, logger: logging.Logger, interval: float = 1.0) -> None:
        self._log = logger
        self._interval = interval
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def record(
        self,
        request_id: str,
        predicted: Reject,
        predicted_status: int,
        actual_status: int,
        actual_class: str | None,
    ) -> None:
        now = time.monotonic()
        rule = predicted.rule
        if now - self._last.get(rule, -1e9) < self._interval:
            self._suppressed[rule] = self._suppressed.get(rule, 0) + 1
            return
        self._last[rule] = now
        line = {
            "event": "shadow_disagreement",
            "request_id": request_id,  # the same id as the request's access line
            "rule": rule,
            "stage": predicted.stage,
            "predicted_status": predicted_status,
            "actual_status": actual_status,
            "actual_message_class": actual_class,
            "suppressed_since_last": self._suppressed.pop(rule, 0),
        }
        self._log.warning(orjson.dumps(line).decode())
