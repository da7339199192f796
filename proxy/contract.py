"""Load `config/contract.toml` into a frozen, indexed Contract, refusing what the code cannot interpret.

Rule: this is the only reader of the contract file. Everything Clever can change is data there; this
module compiles it once at start-up (regexes, Go type descriptions, sorted validation order) so that
the checks do lookups, never parsing. Like wag's swagger validation, an unsupported construct is
refused with one line naming where it is.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from proxy.gocompat.gotypes import GoField, GoStruct, GoType
from proxy.gocompat.timeparse import DateTimeParser
from proxy.verdict import Uncertain

STAGE_NAMES = (
    "auth",
    "method",
    "body_required",
    "json",
    "query_parse",
    "path_format",
    "query_range",
    "schema",
    "required_fields",
    "due_date",
    "assignment_id",
)
RULE_NAMES = (
    "auth",
    "method",
    "body_required",
    "json",
    "path_format",
    "query",
    "schema",
    "required_fields",
    "due_date",
    "assignment_id",
)
_SCALAR_TYPES = ("string", "int64", "float32", "datetime")
_VAR = re.compile(r"\{([a-z_]+)\}")
_ZONE_OFFSET = re.compile(r"[+-](\d\d):?(\d\d)\Z")


class ContractError(ValueError):
    """The contract file is unreadable or holds something the proxy cannot interpret."""


@dataclass(frozen=True, slots=True)
class FieldRule:
    """What go-openapi validates for one property, in the order go-swagger v0.23 emits it."""

    name: str
    kind: Literal["enum", "enum_slice", "struct_slice"]
    enum_values: tuple[str, ...] = ()
    nullable: bool | None = False
    forward_on_invalid: bool = False
    model: ModelSpec | None = None


@dataclass(frozen=True, slots=True)
class ModelSpec:
    name: str
    go: GoStruct
    rules: tuple[FieldRule, ...]  # lexical order of JSON names, only the properties that validate


@dataclass(frozen=True, slots=True)
class ParamSpec:
    name: str
    location: Literal["path", "query", "body"]
    format_name: str | None = None
    format: re.Pattern[bytes] | None = None
    int_param: bool = False
    maximum: int | None = None
    minimum: int | None = None


@dataclass(frozen=True, slots=True)
class Operation:
    op_id: str
    method: str
    route: str  # the full route template: the bounded "route" label of metrics and logs
    params: tuple[ParamSpec, ...]
    body: ModelSpec | None
    required_fields: tuple[str, ...] = ()
    future_field: str | None = None
    id_param: str | None = None
    path_formats: tuple[ParamSpec, ...] = ()
    int_queries: tuple[ParamSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class Route:
    template: str
    regex: re.Pattern[bytes]
    methods: Mapping[str, Operation]


@dataclass(frozen=True, slots=True)
class ResponseSpec:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: Literal["empty", "literal", "json_message"]
    literal: bytes = b""
    message_key: str = "message"
    trailing_newline: bool = False
    compressed: bool = False


@dataclass(frozen=True, slots=True)
class Stage:
    name: str
    rule: str


@dataclass(frozen=True)
class Contract:
    base_path: str
    forward_methods: frozenset[str]
    routable_methods: frozenset[str]
    auth_exempt_methods: frozenset[str]
    stages: tuple[Stage, ...]
    routes: tuple[Route, ...]
    models: Mapping[str, ModelSpec]
    messages: Mapping[str, str]
    responses: Mapping[str, ResponseSpec]
    compression_encodings: tuple[str, ...]
    vary: str
    id_passes: tuple[re.Pattern[bytes], ...]
    id_uncertain: tuple[re.Pattern[bytes], ...]
    datetime_layouts: tuple[str, ...]
    parse_datetime: Callable[[str], datetime] = field(repr=False)
    source: str = ""
    _prefix: bytes = field(default=b"", repr=False)
    # Routes by their number of "/": a variable matches no "/", so only these can match a path.
    _by_depth: Mapping[int, tuple[Route, ...]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        by_depth: dict[int, list[Route]] = {}
        for route in self.routes:
            by_depth.setdefault(route.template.count("/"), []).append(route)
        object.__setattr__(self, "_by_depth", {d: tuple(rs) for d, rs in by_depth.items()})

    def match(self, path: bytes) -> tuple[Route, dict[str, bytes]] | None:
        """The route whose template matches the percent-decoded path, with its variables."""
        if not path.startswith(self._prefix):
            return None
        for route in self._by_depth.get(path.count(b"/"), ()):
            m = route.regex.fullmatch(path)
            if m is not None:
                return route, m.groupdict()
        return None

    def route_labels(self) -> tuple[str, ...]:
        return tuple(r.template for r in self.routes)


def default_contract_path() -> Path:
    from proxy.settings import default_config_dir

    return default_config_dir() / "contract.toml"


# Every message template, with the placeholders its check fills in (str.format syntax: "{name}"; "{{"
# and "}}" for a literal brace). Templates without placeholders are used as they read once formatted.
MESSAGE_FIELDS: dict[str, frozenset[str]] = {
    "body_required": frozenset(),
    "composite": frozenset(),
    "enumFail": frozenset(("name", "in", "values")),
    "typeFailWithData": frozenset(("name", "in", "type", "value")),
    "maxIncFail": frozenset(("name", "in", "max")),
    "minIncFail": frozenset(("name", "in", "min")),
    "missing_required": frozenset(("fields",)),
    "missing_required_separator": frozenset(),
    "due_date_past": frozenset(),
    "invalid_id": frozenset(),
}


def _template(key: str, text: str) -> str:
    """A message template checked now, so that a typo cannot fail a check (or reach an answer) later."""
    fields = MESSAGE_FIELDS.get(key)
    if fields is None:
        raise ContractError(f"messages: unknown template {key!r} (known: {', '.join(MESSAGE_FIELDS)})")
    takes = ", ".join("{" + f + "}" for f in sorted(fields)) or "no placeholders"
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ContractError(
            f"messages.{key}: {exc} in {text!r} (write {{{{ or }}}} for a literal brace)"
        ) from None
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in fields:
            raise ContractError(
                f"messages.{key}: unknown placeholder {{{name}}} in {text!r} (it takes {takes})"
            )
        if spec or conversion:
            raise ContractError(f"messages.{key}: placeholder {{{name}}} takes no format spec or conversion")
    return text if fields else text.format()


MAX_CONTRACT_BYTES = 4 * 1024 * 1024


def load(path: str | Path | None = None) -> Contract:
    """Read and compile the contract; raises ContractError with one line naming the problem."""
    p = Path(path) if path is not None else default_contract_path()
    try:
        with p.open("rb") as file:
            data = file.read(MAX_CONTRACT_BYTES + 1)  # bounded: a path such as /dev/zero never ends
        if len(data) > MAX_CONTRACT_BYTES:
            raise ContractError(f"{p}: larger than {MAX_CONTRACT_BYTES} bytes; not a contract file")
        raw = tomllib.loads(data.decode("utf-8"))
    except OSError as exc:
        raise ContractError(f"{p}: cannot read the contract file: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ContractError(f"{p}: not valid TOML: {exc}") from None
    except ValueError as exc:  # e.g. a NUL in the path
        raise ContractError(f"contract file {str(p)!r}: cannot read it: {exc}") from None
    try:
        return _compile(raw, str(p))
    except ContractError as exc:
        raise ContractError(f"{p}: {exc}") from None


# --- compilation -------------------------------------------------------------------------------


class _Table:
    """A TOML table read key by key, so that leftovers can be reported as unknown keys."""

    def __init__(self, where: str, data: object) -> None:
        if not isinstance(data, dict):
            raise ContractError(f"{where}: expected a table")
        self.where = where
        self.data: dict[str, Any] = data
        self.seen: set[str] = set()

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        self.seen.add(key)
        if key not in self.data:
            if default is ...:
                raise ContractError(f"{self.where or 'top level'}: missing key {key!r}")
            return default
        value = self.data[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            raise ContractError(f"{self._at(key)}: expected {_kind_name(kind)}, got {value!r}")
        return value

    def table(self, key: str) -> _Table:
        return _Table(self._at(key), self.get(key, dict))

    def _at(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def done(self) -> None:
        extra = sorted(set(self.data) - self.seen)
        if extra:
            raise ContractError(f"{self.where or 'top level'}: unknown key {extra[0]!r}")


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "a string", int: "an integer", bool: "true or false", list: "a list", dict: "a table"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _str_list(where: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ContractError(f"{where}: expected a list of strings")
    return tuple(value)


def _regex(where: str, pattern: str) -> re.Pattern[bytes]:
    try:
        return re.compile(pattern.encode("utf-8"))
    except re.error as exc:
        raise ContractError(f"{where}: bad regular expression {pattern!r}: {exc}") from None


def _compile(raw: dict[str, Any], source: str) -> Contract:
    top = _Table("", raw)
    api = top.table("api")
    base_path = api.get("base_path", str)
    if not base_path.startswith("/") or base_path.endswith("/"):
        raise ContractError("api.base_path: must start with '/' and not end with '/'")
    forward_methods = frozenset(_str_list("api.forward_methods", api.get("forward_methods", list)))
    routable = frozenset(_str_list("api.routable_methods", api.get("routable_methods", list)))
    auth_exempt = frozenset(_str_list("api.auth_exempt_methods", api.get("auth_exempt_methods", list)))
    api.done()

    stages = []
    for i, item in enumerate(top.get("stages", list)):
        st = _Table(f"stages[{i}]", item)
        name, rule = st.get("name", str), st.get("rule", str)
        st.done()
        if name not in STAGE_NAMES:
            raise ContractError(f"stages[{i}].name: unknown stage {name!r} (known: {', '.join(STAGE_NAMES)})")
        if rule not in RULE_NAMES:
            raise ContractError(f"stages[{i}].rule: unknown rule {rule!r} (known: {', '.join(RULE_NAMES)})")
        stages.append(Stage(name, rule))
    if len({s.name for s in stages}) != len(stages):
        raise ContractError("stages: a stage is listed twice")

    enums_t = top.table("enums")
    enums = {name: _str_list(f"enums.{name}", enums_t.get(name, list)) for name in list(enums_t.data)}
    enums_t.done()

    dt = top.table("datetime")
    layouts = _str_list("datetime.layouts", dt.get("layouts", list))
    dt.done()
    if not layouts:
        raise ContractError("datetime.layouts: needs at least one layout")
    try:
        parser = DateTimeParser(layouts)
    except ValueError as exc:
        raise ContractError(f"datetime.layouts: {exc}") from None

    models = _compile_models(top.table("models"), enums)

    formats_t = top.table("formats")
    formats: dict[str, re.Pattern[bytes]] = {}
    for name in list(formats_t.data):
        ft = formats_t.table(name)
        formats[name] = _regex(f"formats.{name}.pattern", ft.get("pattern", str))
        ft.done()
    formats_t.done()

    params_t = top.table("params")
    params: dict[str, ParamSpec] = {}
    for name in list(params_t.data):
        pt = params_t.table(name)
        location = pt.get("in", str)
        if location not in ("path", "query"):
            raise ContractError(f"params.{name}.in: expected 'path' or 'query', got {location!r}")
        fmt_name = pt.get("format", str, None)
        if fmt_name is not None and fmt_name not in formats:
            raise ContractError(f"params.{name}.format: no format {fmt_name!r} in [formats]")
        ptype = pt.get("type", str, "string")
        if ptype not in ("string", "int64"):
            raise ContractError(f"params.{name}.type: expected 'string' or 'int64', got {ptype!r}")
        maximum, minimum = pt.get("maximum", int, None), pt.get("minimum", int, None)
        pt.done()
        if (maximum is not None or minimum is not None) and ptype != "int64":
            raise ContractError(f"params.{name}: maximum/minimum need type = 'int64'")
        params[name] = ParamSpec(
            name,
            location,
            fmt_name,
            formats.get(fmt_name) if fmt_name else None,
            ptype == "int64",
            maximum,
            minimum,
        )
    params_t.done()

    routes = []
    for i, item in enumerate(top.get("routes", list)):
        routes.append(_compile_route(f"routes[{i}]", _Table(f"routes[{i}]", item), base_path, params, models))

    idc = top.table("id_check")
    id_passes = tuple(
        _regex("id_check.passes", p) for p in _str_list("id_check.passes", idc.get("passes", list))
    )
    id_uncertain = tuple(
        _regex("id_check.uncertain", p) for p in _str_list("id_check.uncertain", idc.get("uncertain", list))
    )
    idc.done()

    msg_t = top.table("messages")
    messages = {k: _template(k, msg_t.get(k, str)) for k in list(msg_t.data)}
    msg_t.done()
    for key in MESSAGE_FIELDS:
        if key not in messages:
            raise ContractError(f"messages: missing template {key!r}")

    resp_t = top.table("responses")
    responses = {name: _compile_response(resp_t.table(name)) for name in list(resp_t.data)}
    resp_t.done()
    for key in ("bad_request", "method_not_allowed", "no_authorization"):
        if key not in responses:
            raise ContractError(f"responses: missing response class {key!r}")

    comp = top.table("compression")
    encodings = _str_list("compression.encodings", comp.get("encodings", list))
    for enc in encodings:
        if enc not in ("gzip", "deflate"):
            raise ContractError(f"compression.encodings: unsupported encoding {enc!r} (gzip, deflate)")
    vary = comp.get("vary", str)
    if any(c in vary for c in "\r\n\x00"):
        raise ContractError("compression.vary: a line break or NUL in the value")
    comp.done()
    top.done()

    return Contract(
        base_path=base_path,
        forward_methods=forward_methods,
        routable_methods=routable,
        auth_exempt_methods=auth_exempt,
        stages=tuple(stages),
        routes=tuple(routes),
        models=models,
        messages=messages,
        responses=responses,
        compression_encodings=encodings,
        vary=vary,
        id_passes=id_passes,
        id_uncertain=id_uncertain,
        datetime_layouts=layouts,
        parse_datetime=_offset_guard(parser.parse),
        source=source,
        _prefix=(base_path + "/").encode(),
    )


def _offset_guard(parse: Callable[[str], datetime]) -> Callable[[str], datetime]:
    """Go 1.19 accepts zone offsets such as +99:99 (and go-openapi then fails to re-validate the date);
    Go 1.20 and later refuse hours over 24 and minutes over 60 while parsing. Which Go Clever runs is
    unknown, so a date with such an offset makes the body's verdict uncertain."""

    def parse_checked(value: str) -> datetime:
        when = parse(value)
        m = _ZONE_OFFSET.search(value)
        if m is not None and (int(m[1]) > 24 or int(m[2]) > 60):
            raise Uncertain(value)
        return when

    return parse_checked


def _compile_models(models_t: _Table, enums: dict[str, tuple[str, ...]]) -> dict[str, ModelSpec]:
    """Build Go struct descriptions; models may reference each other (attachments), so two passes."""
    raw: dict[str, tuple[str, dict[str, _Table]]] = {}
    for name in list(models_t.data):
        mt = models_t.table(name)
        go_name = mt.get("go_name", str)
        fields_t = mt.table("fields")
        raw[name] = (go_name, {f: fields_t.table(f) for f in list(fields_t.data)})
        fields_t.done()
        mt.done()
    go_by_model = {go_name: name for name, (go_name, _) in raw.items()}

    compiled: dict[str, ModelSpec] = {}
    compiling: set[str] = set()

    def build(name: str) -> ModelSpec:
        if name in compiled:
            return compiled[name]
        if name in compiling:
            raise ContractError(f"models.{name}: models may not contain themselves")
        compiling.add(name)
        go_name, fields = raw[name]
        go_fields: list[GoField] = []
        rules: list[FieldRule] = []
        for fname, ft in fields.items():
            where = f"models.{name}.fields.{fname}"
            tname = ft.get("type", str)
            nullable_raw = ft.get("nullable", (bool, str), False)
            if isinstance(nullable_raw, str) and nullable_raw != "unknown":
                raise ContractError(f"{where}.nullable: expected true, false or 'unknown'")
            nullable: bool | None = None if nullable_raw == "unknown" else bool(nullable_raw)
            enum_name = ft.get("enum", str, None)
            on_invalid = ft.get("on_invalid", str, "reject")
            ft.done()
            if on_invalid not in ("reject", "forward"):
                raise ContractError(f"{where}.on_invalid: expected 'reject' or 'forward'")
            gotype, rule = type_of(where, fname, tname, nullable, enum_name, on_invalid == "forward")
            go_fields.append(GoField(fname, gotype))
            if rule is not None:
                rules.append(rule)
        rules.sort(key=lambda r: r.name)
        spec = ModelSpec(name, GoStruct(name, go_name, tuple(go_fields)), tuple(rules))
        compiling.discard(name)
        compiled[name] = spec
        return spec

    def type_of(
        where: str, fname: str, tname: str, nullable: bool | None, enum_name: str | None, forward: bool
    ) -> tuple[GoType, FieldRule | None]:
        if enum_name is not None:
            if tname != "string" or enum_name not in enums:
                raise ContractError(f"{where}.enum: needs type 'string' and a name from [enums]")
            rule = FieldRule(fname, "enum", enums[enum_name], nullable, forward)
            return GoType("enum", "string", nullable), rule
        if tname in _SCALAR_TYPES:
            return GoType(tname, tname if tname != "datetime" else "string", nullable), None  # type: ignore[arg-type]
        if tname in enums:
            return GoType("enum", tname, nullable), FieldRule(fname, "enum", enums[tname], nullable, forward)
        if tname.startswith("[]*") and tname[3:] in go_by_model:
            model = build(go_by_model[tname[3:]])
            elem = GoType("struct", tname[3:], True, struct=model.go)
            rule = FieldRule(fname, "struct_slice", model=model, forward_on_invalid=forward)
            return GoType("slice", tname, True, elem=elem), rule
        if tname.startswith("[]") and tname[2:] in enums:
            elem = GoType("enum", tname[2:], False)
            rule = FieldRule(fname, "enum_slice", enums[tname[2:]], False, forward)
            return GoType("slice", tname, True, elem=elem), rule
        if tname.startswith("[]") and tname[2:] in ("string", "int64", "float32"):
            return GoType("slice", tname, True, elem=GoType(tname[2:], tname[2:], False)), None  # type: ignore[arg-type]
        raise ContractError(f"{where}.type: unsupported type {tname!r}")

    for name in raw:
        build(name)
    return compiled


def _compile_route(
    where: str, rt: _Table, base_path: str, params: dict[str, ParamSpec], models: dict[str, ModelSpec]
) -> Route:
    path = rt.get("path", str)
    if not path.startswith("/") or path.endswith("/") or "//" in path:
        raise ContractError(f"{where}.path: must start with '/', have no empty segment, no trailing '/'")
    template = base_path + path
    variables = _VAR.findall(path)
    pattern = re.escape(template.encode())
    for var in variables:
        pattern = pattern.replace(re.escape(b"{" + var.encode() + b"}"), b"(?P<" + var.encode() + b">[^/]+)")
    if b"{" in pattern.replace(b"(?P<", b""):
        raise ContractError(f"{where}.path: bad path variable in {path!r}")
    methods_t = rt.table("methods")
    methods: dict[str, Operation] = {}
    for method in list(methods_t.data):
        ot = methods_t.table(method)
        mwhere = f"{where}.methods.{method}"
        op_id = ot.get("op", str)
        names = _str_list(f"{mwhere}.params", ot.get("params", list))
        body_name = ot.get("body", str, None)
        ctl = _Table(f"{mwhere}.controller", ot.get("controller", dict, {}))
        required = _str_list(f"{mwhere}.controller.required_fields", ctl.get("required_fields", list, []))
        future = ctl.get("future_field", str, None)
        id_param = ctl.get("id_param", str, None)
        ctl.done()
        ot.done()
        plist: list[ParamSpec] = []
        for pname in names:
            if pname == "body":
                if body_name is None:
                    raise ContractError(f"{mwhere}.params: 'body' listed but no body model given")
                plist.append(ParamSpec("body", "body"))
            elif pname not in params:
                raise ContractError(f"{mwhere}.params: no parameter {pname!r} in [params]")
            else:
                spec = params[pname]
                if spec.location == "path" and pname not in variables:
                    raise ContractError(f"{mwhere}.params: {pname!r} is not a variable of {path!r}")
                plist.append(spec)
        body = None
        if body_name is not None:
            if body_name not in models:
                raise ContractError(f"{mwhere}.body: no model {body_name!r} in [models]")
            if "body" not in names:
                raise ContractError(f"{mwhere}.params: a body operation must list 'body'")
            body = models[body_name]
            fields = {f.json_name for f in body.go.fields}
            for fname in (*required, *([future] if future else [])):
                if fname not in fields:
                    raise ContractError(f"{mwhere}.controller: {fname!r} is not a field of {body_name}")
        elif required or future:
            raise ContractError(f"{mwhere}.controller: field rules need a body model")
        if id_param is not None and id_param not in variables:
            raise ContractError(f"{mwhere}.controller.id_param: {id_param!r} is not a path variable")
        methods[method] = Operation(
            op_id=op_id,
            method=method,
            route=template,
            params=tuple(plist),
            body=body,
            required_fields=required,
            future_field=future,
            id_param=id_param,
            path_formats=tuple(p for p in plist if p.location == "path" and p.format is not None),
            int_queries=tuple(p for p in plist if p.location == "query" and p.int_param),
        )
    methods_t.done()
    rt.done()
    if not methods:
        raise ContractError(f"{where}.methods: a route needs at least one method")
    return Route(template, re.compile(pattern), methods)


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FRAMING = frozenset(("content-length", "transfer-encoding", "connection", "content-encoding", "vary"))


def _check_header(where: str, name: str, value: str) -> None:
    """A header the renderer may write: a token name, a value without CR/LF/NUL, and not one the
    renderer sets itself (framing, compression and Vary come from the body and [compression])."""
    if _TOKEN.fullmatch(name) is None:
        raise ContractError(f"{where}: not a valid header name: {name!r}")
    if any(c in value for c in "\r\n\x00"):
        raise ContractError(f"{where}: header {name!r} has a line break or NUL in its value")
    if name.lower() in _FRAMING:
        raise ContractError(f"{where}: {name!r} is set by the renderer, not the contract")


def _compile_response(t: _Table) -> ResponseSpec:
    status = t.get("status", int)
    if not 100 <= status <= 599:
        raise ContractError(f"{t.where}.status: not an HTTP status: {status}")
    headers_raw = t.get("headers", list)
    headers: list[tuple[str, str]] = []
    for h in headers_raw:
        if not (isinstance(h, list) and len(h) == 2 and all(isinstance(x, str) for x in h)):
            raise ContractError(f"{t.where}.headers: each header is a [name, value] pair of strings")
        _check_header(f"{t.where}.headers", h[0], h[1])
        headers.append((h[0], h[1]))
    body = t.get("body", str)
    if body not in ("empty", "literal", "json_message"):
        raise ContractError(f"{t.where}.body: expected 'empty', 'literal' or 'json_message'")
    literal = t.get("literal", str, "")
    if body == "literal" and not literal:
        raise ContractError(f"{t.where}.literal: a literal body needs its text")
    spec = ResponseSpec(
        status=status,
        headers=tuple(headers),
        body=body,  # type: ignore[arg-type]
        literal=literal.encode("utf-8"),
        message_key=t.get("message_key", str, "message"),
        trailing_newline=t.get("trailing_newline", bool, False),
        compressed=t.get("compressed", bool, False),
    )
    t.done()
    return spec
