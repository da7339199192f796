"""Path and query parameters as wag extracts and validates them (contract §3.3-§3.5).

Integer query parameters are parsed with Go's strconv.ParseInt (first value) during extraction, so a
bad `limit` is reported before a bad path id; their ranges are checked after the path formats.
"""

from __future__ import annotations

from proxy.checks.state import CheckState
from proxy.contract import Contract
from proxy.gocompat.errors import GoError
from proxy.gocompat.strconv import go_quote, parse_int64
from proxy.gocompat.urlparse import query_first
from proxy.request import ParsedRequest
from proxy.verdict import Forward, Reject, Verdict


def check_query_parse(req: ParsedRequest, state: CheckState, contract: Contract) -> Verdict | None:
    op = req.op
    if op is None or not op.int_queries or not req.raw_query:
        return None
    if ";" in req.raw_query:
        # Go before 1.17 split queries on ';' too: which pairs Clever sees is uncertain.
        return Forward("uncertain", "query_parse")
    for param in op.int_queries:
        raw = query_first(req.raw_query, param.name)
        if raw is None:
            continue
        try:
            state.query_ints[param.name] = parse_int64(raw)
        except GoError as exc:
            return Reject("query", "query_parse", "bad_request", exc.message)
    return None


def check_path_format(req: ParsedRequest, state: CheckState, contract: Contract) -> Verdict | None:
    op = req.op
    if op is None:
        return None
    for param in op.path_formats:
        value = req.path_vars[param.name]
        if param.format is not None and param.format.fullmatch(value) is None:
            message = contract.messages["typeFailWithData"].format(
                name=param.name, **{"in": "path"}, type=param.format_name, value=go_quote(value)
            )
            return Reject("path_format", "path_format", "bad_request", message)
    return None


def check_query_range(req: ParsedRequest, state: CheckState, contract: Contract) -> Verdict | None:
    op = req.op
    if op is None or not state.query_ints:
        return None
    messages = contract.messages
    for param in op.int_queries:
        value = state.query_ints.get(param.name)
        if value is None:
            continue
        if param.maximum is not None and value > param.maximum:
            message = messages["maxIncFail"].format(name=param.name, **{"in": "query"}, max=param.maximum)
            return Reject("query", "query_range", "bad_request", message)
        if param.minimum is not None and value < param.minimum:
            message = messages["minIncFail"].format(name=param.name, **{"in": "query"}, min=param.minimum)
            return Reject("query", "query_range", "bad_request", message)
    return None
