"""Clever's own controller rules (contract §7), after everything wag checks.

Each rule is certain only in part: an empty string where a field is required, a due date within the
clock-skew margin, and UUID spellings other than the canonical lower-case one are forwarded (§9).
"""

from __future__ import annotations

from proxy.checks.state import CheckState
from proxy.contract import Contract
from proxy.gocompat.json_decode import GoDateTime
from proxy.request import ParsedRequest
from proxy.verdict import Forward, Reject, Verdict


def check_required_fields(req: ParsedRequest, state: CheckState, contract: Contract) -> Verdict | None:
    op = req.op
    if op is None or not op.required_fields or state.decoded is None:
        return None
    values = state.decoded.values
    missing = []
    for name in op.required_fields:
        value = values.get(name)
        if value is None:
            missing.append(name)
        elif value == "" or (isinstance(value, GoDateTime) and value.text == ""):
            return Forward("uncertain", "required_fields")  # whether "" counts as missing is unknown
    if not missing:
        return None
    messages = contract.messages
    message = messages["missing_required"].format(fields=messages["missing_required_separator"].join(missing))
    return Reject("required_fields", "required_fields", "bad_request", message)


def check_due_date(req: ParsedRequest, state: CheckState, contract: Contract) -> Verdict | None:
    op = req.op
    if op is None or op.future_field is None or state.decoded is None:
        return None
    value = state.decoded.values.get(op.future_field)
    if not isinstance(value, GoDateTime):
        return None
    if value.text == "":
        return Forward("uncertain", "due_date")
    if value.when >= state.now:
        return None
    if value.when >= state.now - state.skew:
        return Forward("uncertain", "due_date")  # Clever's clock may be behind ours
    return Reject("due_date", "due_date", "bad_request", contract.messages["due_date_past"])


def check_assignment_id(req: ParsedRequest, state: CheckState, contract: Contract) -> Verdict | None:
    op = req.op
    if op is None or op.id_param is None:
        return None
    value = req.path_vars[op.id_param]
    if any(p.fullmatch(value) for p in contract.id_passes):
        return None
    if any(p.fullmatch(value) for p in contract.id_uncertain):
        return Forward("uncertain", "assignment_id")
    return Reject("assignment_id", "assignment_id", "bad_request", contract.messages["invalid_id"])
