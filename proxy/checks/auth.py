"""Gateway authentication (contract §3.1): no Authorization header at all on a route -> 401.

A present header is never judged here, however malformed: only Clever can tell a bad token (§9).
"""

from __future__ import annotations

from proxy.checks.state import CheckState
from proxy.contract import Contract
from proxy.request import ParsedRequest
from proxy.verdict import Reject, Verdict


def check_auth(req: ParsedRequest, state: CheckState, contract: Contract) -> Verdict | None:
    if req.route is None or req.has_authorization or req.method in contract.auth_exempt_methods:
        return None
    return Reject("auth", "auth", "no_authorization")
