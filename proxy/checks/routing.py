"""Routing as gorilla/mux does it (contract §2, §3.2): a matched path with an unknown method -> 405.

Paths that match no route (unknown paths, trailing slashes, `//` and dot segments that mux would
redirect, malformed %-escapes that Go's server answers itself, targets a gateway could route
differently: absolute-form, characters RFC 3986 does not allow in a path, percent-encoded fixed
segments) are not this contract's business and are forwarded, as are the methods the contract lists
under `forward_methods` (HEAD, OPTIONS) and methods outside `routable_methods` (TRACE, extensions).
"""

from __future__ import annotations

from proxy.checks.state import CheckState
from proxy.contract import Contract
from proxy.request import ParsedRequest
from proxy.verdict import NOT_A_ROUTE, Forward, Reject, Verdict


def check_method(req: ParsedRequest, state: CheckState, contract: Contract) -> Verdict | None:
    if req.route is None:
        return NOT_A_ROUTE
    if req.method in contract.forward_methods or req.method not in contract.routable_methods:
        return Forward("uncertain", "method")
    if req.op is None:
        return Reject("method", "method", "method_not_allowed")
    return None
