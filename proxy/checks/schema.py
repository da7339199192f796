"""Schema validation as a go-swagger v0.23 model's Validate does it (contract §6).

Properties are visited in lexical order of their JSON names; each failing one adds a line; the message
is go-openapi's CompositeError: the `composite` header and the lines joined by newlines. A nested
model's failure is its own composite, added whole, without a name prefix. Any uncertain property makes
the whole stage uncertain, because the message would list every failing property.
"""

from __future__ import annotations

from collections.abc import Mapping

from proxy.checks.state import CheckState
from proxy.contract import Contract, FieldRule, ModelSpec
from proxy.request import ParsedRequest
from proxy.verdict import Forward, Reject, Verdict


class _Uncertain(Exception):
    """Raised inside this module only, to abandon a model whose verdict cannot be known."""


def go_list(values: tuple[str, ...]) -> str:
    """Go's %v of a []interface{} of strings: [a b c]."""
    return "[" + " ".join(values) + "]"


def check_schema(req: ParsedRequest, state: CheckState, contract: Contract) -> Verdict | None:
    op = req.op
    decoded = state.decoded
    if op is None or op.body is None or decoded is None:
        return None
    try:
        lines = validate_model(op.body, decoded.values, contract)
        if decoded.ambiguous:
            # go-swagger may have made a field a value, not a pointer: it then keeps an older value
            # where the pointer reading is unset. Certain only if both readings give the same answer.
            as_values = {**decoded.values, **decoded.ambiguous}
            if (
                any("." in name for name in decoded.ambiguous)
                or validate_model(op.body, as_values, contract) != lines
            ):
                return Forward("uncertain", "schema")
    except _Uncertain:
        return Forward("uncertain", "schema")
    if not lines:
        return None
    message = "\n".join((contract.messages["composite"], *lines))
    return Reject("schema", "schema", "bad_request", message)


def validate_model(model: ModelSpec, values: Mapping[str, object], contract: Contract) -> list[str]:
    """The failure lines of one model (empty when valid); raises _Uncertain."""
    lines: list[str] = []
    for rule in model.rules:
        value = values.get(rule.name)
        if value is None:
            continue  # unset and null are never validated (swag.IsZero on a nil pointer or slice)
        line = _validate_field(rule, value, contract)
        if line is not None:
            lines.append(line)
    return lines


def _validate_field(rule: FieldRule, value: object, contract: Contract) -> str | None:
    messages = contract.messages
    if rule.kind == "enum":
        assert isinstance(value, str)
        if value == "":
            if rule.nullable is None:
                raise _Uncertain  # a pointer would be validated and fail; a value would be skipped
            if not rule.nullable:
                return None  # swag.IsZero skips a zero value
        if value in rule.enum_values:
            return None
        if rule.forward_on_invalid:
            raise _Uncertain
        return messages["enumFail"].format(name=rule.name, **{"in": "body"}, values=go_list(rule.enum_values))
    if rule.kind == "enum_slice":
        assert isinstance(value, list)
        for i, item in enumerate(value):
            if item not in rule.enum_values:
                if rule.forward_on_invalid:
                    raise _Uncertain
                return messages["enumFail"].format(
                    name=f"{rule.name}.{i}", **{"in": "body"}, values=go_list(rule.enum_values)
                )
        return None
    # struct_slice: the first failing item's own composite, unprefixed (go-swagger < v0.28)
    assert isinstance(value, list) and rule.model is not None
    for item in value:
        if item is None:
            continue
        assert isinstance(item, dict)
        lines = validate_model(rule.model, item, contract)
        if lines:
            if rule.forward_on_invalid:
                raise _Uncertain
            return "\n".join((messages["composite"], *lines))
    return None
