"""Body extraction as wag's generated handlers do it (contract §3.3, §4, §5).

A required body of zero bytes -> "request body is required, but was empty"; otherwise Go's
json.NewDecoder(...).Decode into the operation's model, whose error text is the message. A body sent
to an operation that takes none is uncertain (§9) and forwarded.
"""

from __future__ import annotations

from proxy.checks.state import CheckState
from proxy.contract import Contract
from proxy.gocompat.json_decode import decode, decode_exact
from proxy.request import ParsedRequest
from proxy.verdict import Forward, Reject, Uncertain, Verdict


def check_body_required(req: ParsedRequest, state: CheckState, contract: Contract) -> Verdict | None:
    op = req.op
    if op is None:
        return None
    if op.body is None:
        return Forward("uncertain", "body_required") if req.has_body else None
    if not req.body:
        return Reject("body_required", "body_required", "bad_request", contract.messages["body_required"])
    return None


def check_json(req: ParsedRequest, state: CheckState, contract: Contract) -> Verdict | None:
    op = req.op
    if op is None or op.body is None or req.body is None:
        return None
    if len(req.body) > state.max_judged_body:
        # Judging costs CPU on the event loop that every request shares; Clever can judge this one.
        return Forward("too_large", "json")
    try:
        result = decode(req.body, op.body.go, parse_datetime=contract.parse_datetime)
    except Uncertain:
        # The fast path can meet a version-dependent date before it sees a duplicate key; the exact
        # path reads in document order and may stop, certainly, before that date.
        try:
            result = decode_exact(req.body, op.body.go, parse_datetime=contract.parse_datetime)
        except Uncertain:
            return Forward("uncertain", "json")
    if result.error is not None:
        return Reject("json", "json", "bad_request", result.error)
    state.decoded = result
    return None
