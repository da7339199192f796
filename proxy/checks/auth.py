"""Gateway authentication (contract §3.1): no Authorization header at all on a route -> 401.

A present header is never judged here: only Clever can tell a bad token, and what its gateway does
with a malformed header (empty, another scheme, two headers) is unknown, so nothing after this stage
may answer for such a request either (§9).
"""

from __future__ import annotations

from proxy.checks.state import CheckState
from proxy.contract import Contract
from proxy.request import ParsedRequest
from proxy.verdict import Forward, Reject, Verdict


def check_auth(req: ParsedRequest, state: CheckState, contract: Contract) -> Verdict | None:
    if req.route is None or req.method in contract.auth_exempt_methods:
        return None
    if not req.has_authorization:
        return Reject("auth", "auth", "no_authorization")
    if not req.authorization_well_formed:
        return Forward("uncertain", "auth")
    return None
