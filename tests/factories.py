"""One-line builders of the pipeline's input, as the server would build it."""

from __future__ import annotations

from multidict import CIMultiDict

from proxy.contract import Contract
from proxy.request import ParsedRequest, inspect, wants_body, with_body

AUTH = {"Authorization": "Bearer district-token"}


def parsed(
    contract: Contract,
    method: str,
    target: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> ParsedRequest:
    hdrs = CIMultiDict(AUTH if headers is None else headers)
    length = len(body) if body is not None else None
    req = inspect(method, target, hdrs, length, contract)
    if wants_body(req):
        req = with_body(req, body or b"")
    return req
