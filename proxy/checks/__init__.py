"""The check stages, one module per concern of the contract (auth, routing, body, params, schema, rules).

Rule: a stage is a pure function (ParsedRequest, CheckState, Contract) -> Verdict | None. None lets the
request through to the next stage. Stages do no I/O, read no clock and no settings, import no aiohttp.
"""

from __future__ import annotations

from collections.abc import Callable

from proxy.checks.auth import check_auth
from proxy.checks.body import check_body_required, check_json
from proxy.checks.params import check_path_format, check_query_parse, check_query_range
from proxy.checks.routing import check_method
from proxy.checks.rules import check_assignment_id, check_due_date, check_required_fields
from proxy.checks.schema import check_schema
from proxy.checks.state import CheckState
from proxy.contract import Contract
from proxy.request import ParsedRequest
from proxy.verdict import Verdict

Stage = Callable[[ParsedRequest, CheckState, Contract], Verdict | None]

# Stage name (as written in the contract's [[stages]]) -> the function that runs it.
STAGES: dict[str, Stage] = {
    "auth": check_auth,
    "method": check_method,
    "body_required": check_body_required,
    "json": check_json,
    "query_parse": check_query_parse,
    "path_format": check_path_format,
    "query_range": check_query_range,
    "schema": check_schema,
    "required_fields": check_required_fields,
    "due_date": check_due_date,
    "assignment_id": check_assignment_id,
}

__all__ = ["STAGES", "CheckState", "Stage"]
