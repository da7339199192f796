"""proxy.gocompat.json_decode against real Go 1.19: json.NewDecoder(body).Decode(&model).

Go is the oracle. tests/golden/json_decode.jsonl was written by tests/golden/gen/json_decode_golden.go
(run tests/golden/gen/make_json_golden.sh) from Go structs of exactly the models below; every record
holds a body, Go's error text, and (when Decode succeeded) the decoded struct. strfmt.ParseDateTime's
answer for every date string in those bodies is in the file too, so the date parser injected here is
Go's own answer, not a second implementation. The hand-written tests restate rows the contract
quotes, so that a reader sees them; they are not a second source of truth.

The tests marked needs_go rebuild the generator, check the committed file is what Go writes today,
and send thousands of mutated and generated bodies (and 1 MiB ones) through Go and Python.
"""

from __future__ import annotations

import base64
import json
import random
import re
import shutil
import struct
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal, localcontext
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxy.gocompat.errors import GoError
from proxy.gocompat.gotypes import GoField, GoStruct, GoType
from proxy.gocompat.json_decode import (
    DecodeResult,
    GoDateTime,
    decode,
    decode_exact,
    decode_fast,
    go_parse_float32,
    go_parse_int64,
)

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "json_decode.jsonl"
MAKE = ROOT / "tests" / "golden" / "gen" / "make_json_golden.sh"
STRFMT_SRC = Path("/usr/share/gocode/src/github.com/go-openapi/strfmt/time.go")

# ---- the models of contract §4 (the real ones are built from configuration elsewhere) ----


def _string(nullable: bool | None = True) -> GoType:
    return GoType("string", "string", nullable)


def _enum(name: str, nullable: bool | None = None) -> GoType:
    return GoType("enum", "models." + name, nullable)


def _datetime() -> GoType:
    return GoType("datetime", "strfmt.DateTime", True)


def _slice_of(elem: GoType) -> GoType:
    star = "*" if elem.nullable else ""
    return GoType("slice", "[]" + star + elem.name, False, elem=elem)


ATTACHMENT = GoStruct(
    "AttachmentRequest",
    "models.AttachmentRequest",
    (
        GoField("description", _string()),
        GoField("title", _string()),
        GoField("type", _string(False)),
        GoField("url", _string()),
    ),
)
ATTACHMENTS = _slice_of(GoType("struct", "models.AttachmentRequest", True, struct=ATTACHMENT))
INT64 = GoType("int64", "int64", False)

ASSIGNMENT = GoStruct(
    "AssignmentRequest",
    "models.AssignmentRequest",
    (
        GoField("assignee_ids", _slice_of(_string(False))),
        GoField("assignee_mode", _enum("AssigneeMode")),
        GoField("attachments", ATTACHMENTS),
        GoField("description", _string()),
        GoField("description_plaintext", _string()),
        GoField("display_date", _datetime()),
        GoField("due_date", _datetime()),
        GoField("end_date", _datetime()),
        GoField("grading_type", _enum("GradingType")),
        GoField("max_attempts", INT64),
        GoField("points_possible", GoType("float32", "float32", True)),
        GoField("start_date", _datetime()),
        GoField("submission_types", _slice_of(_enum("SubmissionType", False))),
        GoField("term_id", _string()),
        GoField("title", _string()),
    ),
)
SUBMISSION = GoStruct(
    "SubmissionRequest",
    "models.SubmissionRequest",
    (
        GoField("attachments", ATTACHMENTS),
        GoField("extra_attempts", INT64),
        GoField("flags", _slice_of(_enum("SubmissionFlag", False))),
        GoField("grade", _string()),
        GoField("grade_comment", _string()),
        GoField("grade_points", GoType("float32", "float32", False)),
        GoField("grader_id", _string()),
        GoField("override_due_date", _datetime()),
        GoField("state", _enum("SubmissionState")),
    ),
)
MODELS = {"AssignmentRequest": ASSIGNMENT, "SubmissionRequest": SUBMISSION}

# ---- golden data ----


def load_records(lines: Iterator[str] | list[str]) -> list[dict[str, Any]]:
    """Golden records with their bodies rebuilt (body_b64, body_parts or prefix_of + len)."""
    records: list[dict[str, Any]] = []
    full: dict[tuple[str, str], bytes] = {}
    for line in lines:
        if not line.strip():
            continue
        r = json.loads(line)
        if r["kind"] == "decode":
            if "body_b64" in r:
                body = base64.b64decode(r["body_b64"])
            elif "body_parts" in r:
                body = b"".join(p["s"].encode() * p["n"] for p in r["body_parts"])
            else:
                body = full[(r["model"], r["prefix_of"])][: r["len"]]
            full[(r["model"], r["name"])] = body
            r["body"] = body
        records.append(r)
    return records


@cache
def golden() -> list[dict[str, Any]]:
    with GOLDEN.open(encoding="utf-8") as f:
        return load_records(list(f))


def decode_records(records: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    return [r for r in (golden() if records is None else records) if r["kind"] == "decode"]


class GoDates:
    """strfmt.ParseDateTime as Go answered it (the golden "date" records): a parse_datetime for decode."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.table: dict[str, dict[str, Any]] = {}
        self.add(records)

    def add(self, records: list[dict[str, Any]]) -> None:
        self.table.update({r["text"]: r for r in records if r["kind"] == "date"})

    def __call__(self, text: str) -> datetime:
        row = self.table[text]  # a KeyError means Python parsed a string Go did not: a real mismatch
        if row["error"] is not None:
            raise GoError(row["error"])
        return parse_rfc3339_utc(row["time"])


_RFC3339_UTC = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z")


def parse_rfc3339_utc(text: str) -> datetime:
    m = _RFC3339_UTC.fullmatch(text)
    if m is None:
        raise GoError(f'parsing time "{text}": stand-in parser accepts only RFC 3339 UTC')
    y, mo, d, h, mi, s, frac = m.groups()
    try:
        return datetime(
            int(y), int(mo), int(d), int(h), int(mi), int(s), int((frac or "").ljust(6, "0")[:6]), UTC
        )
    except ValueError as e:
        raise GoError(f'parsing time "{text}": {e}') from None


def stand_in_parse(text: str) -> datetime:
    """A small strfmt stand-in for property tests: "" is the epoch, RFC 3339 with Z or an offset."""
    if text == "":
        return datetime(1970, 1, 1, tzinfo=UTC)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise GoError(f'parsing time "{text}" as "2006-01-02": cannot parse') from None
    if when.tzinfo is None:
        raise GoError(f'parsing time "{text}" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "Z07:00"')
    return when.astimezone(UTC)


def _format_utc(when: datetime) -> str:
    text = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if when.microsecond:
        text += f".{when.microsecond:06d}".rstrip("0")
    return text + "Z"


def summarize(values: dict[str, object], model: GoStruct) -> dict[str, Any]:
    """DecodeResult.values in the Go generator's summary form: value fields always present (zero
    if unset), nil pointers and nil slices absent, float32 as its bits, dates as RFC 3339 UTC."""
    out: dict[str, Any] = {}
    for f in model.fields:
        t = f.type
        if f.json_name in values:
            out[f.json_name] = _summarize_value(values[f.json_name], t)
        elif t.nullable is False and t.kind != "slice":
            out[f.json_name] = {"string": "", "enum": "", "int64": 0, "float32": "f32:00000000"}[t.kind]
    return out


def _summarize_value(v: object, t: GoType) -> Any:
    if v is None:
        return None
    if t.kind == "float32":
        return f"f32:{struct.unpack('<I', struct.pack('<f', v))[0]:08x}"
    if t.kind == "datetime":
        assert isinstance(v, GoDateTime)
        return "dt:" + _format_utc(v.when)
    if t.kind == "slice":
        assert isinstance(v, list) and t.elem is not None
        return [_summarize_value(x, t.elem) for x in v]
    if t.kind == "struct":
        assert isinstance(v, dict) and t.struct is not None
        return summarize(v, t.struct)
    return v


def check_against_go(record: dict[str, Any], result: DecodeResult) -> str | None:
    """None if result is what Go did for this record, else a description of the difference."""
    model = MODELS[record["model"]]
    if result.error != record["error"]:
        return f"error: go {record['error']!r}, python {result.error!r}"
    if record["error"] is None:
        got = summarize(result.values, model)
        if got != record["values"]:
            return f"values: go {record['values']!r}, python {got!r}"
    return None


def _failures(records: list[dict[str, Any]], run: Callable[[dict[str, Any]], DecodeResult]) -> list[str]:
    out = []
    for r in records:
        diff = check_against_go(r, run(r))
        if diff is not None:
            out.append(f"{r['model']} {r['name']} body={r['body'][:120]!r}: {diff}")
    return out


GROUPS = sorted({r["name"].split("/")[0] for r in decode_records()})


def test_golden_covers_every_group_and_many_cases() -> None:
    # Guards against a truncated or stale golden file silently shrinking the comparisons below.
    assert len(decode_records()) > 3500
    assert {
        "ctx",
        "quote",
        "trunc",
        "trail",
        "eof",
        "depth",
        "kind",
        "item",
        "nested",
        "num",
        "fold",
        "dup",
        "null",
        "str",
        "att",
        "date",
        "top",
        "realistic",
    } <= set(GROUPS)


@pytest.mark.parametrize("group", GROUPS)
def test_decode_exact_matches_go(group: str) -> None:
    dates = GoDates(golden())
    records = [r for r in decode_records() if r["name"].split("/")[0] == group]
    failures = _failures(records, lambda r: decode_exact(r["body"], MODELS[r["model"]], parse_datetime=dates))
    assert not failures, "\n".join(failures[:20])


@pytest.mark.parametrize("group", GROUPS)
def test_decode_matches_go_and_fast_path_agrees(group: str) -> None:
    dates = GoDates(golden())
    records = [r for r in decode_records() if r["name"].split("/")[0] == group]
    failures = _failures(records, lambda r: decode(r["body"], MODELS[r["model"]], parse_datetime=dates))
    assert not failures, "\n".join(failures[:20])
    for r in records:
        model = MODELS[r["model"]]
        fast = decode_fast(r["body"], model, parse_datetime=dates)
        if fast is not None:
            exact = decode_exact(r["body"], model, parse_datetime=dates)
            assert (fast.error, fast.values, fast.ambiguous) == (
                exact.error,
                exact.values,
                exact.ambiguous,
            ), r["name"]


def test_fast_path_answers_clean_bodies() -> None:
    dates = GoDates(golden())
    answered = [
        r for r in decode_records() if decode_fast(r["body"], MODELS[r["model"]], parse_datetime=dates)
    ]
    assert len(answered) > 300
    assert all(r["error"] is None for r in answered)  # errors always come from the exact path


def test_ambiguous_fields_cover_every_pointer_value_difference() -> None:
    # The generator also decodes every clean body into models whose x-nullable enums are values, not
    # pointers. Wherever the two Go structs differ on such a field, json_decode must say so.
    dates = GoDates(golden())
    compared = flagged = 0
    for r in decode_records():
        if "values_value_enums" not in r:
            continue
        model = MODELS[r["model"]]
        result = decode_exact(r["body"], model, parse_datetime=dates)
        for f in model.fields:
            if f.type.nullable is not None:
                continue
            compared += 1
            as_pointer = r["values"].get(f.json_name) or ""
            as_value = r["values_value_enums"][f.json_name]
            if as_pointer != as_value:
                flagged += 1
                assert f.json_name in result.ambiguous, (r["name"], f.json_name)
    assert compared > 1000 and flagged >= 5


# ---- the contract's examples, restated ----


def _go(body: bytes, model: GoStruct = ASSIGNMENT) -> DecodeResult:
    return decode(body, model, parse_datetime=GoDates(golden()))


CANNOT = "json: cannot unmarshal "
IN_ASSIGNMENT = " into Go struct field AssignmentRequest."


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"title":"a"} xyz', None),
        (b'{"title":"a"}}', None),
        (b" \n\t", "EOF"),
        (b'{"title":', "unexpected EOF"),
        (b'{"assignee_mode": ,}', "invalid character ',' looking for beginning of value"),
        (b'{"title":"a" : "b"}', "invalid character ':' after object key:value pair"),
        (b'{"title":"a\\ b"}', "invalid character ' ' in string escape code"),
        (b"\xef\xbb\xbf{}", "invalid character '\u00ef' looking for beginning of value"),
        (b"[]", CANNOT + "array into Go value of type models.AssignmentRequest"),
        (b"null", None),
        (b'{"max_attempts":2.5}', CANNOT + "number 2.5" + IN_ASSIGNMENT + "max_attempts of type int64"),
        (
            b'{"points_possible":1e39}',
            CANNOT + "number 1e39" + IN_ASSIGNMENT + "points_possible of type float32",
        ),
        (
            b'{"submission_types":"x"}',
            CANNOT + "string" + IN_ASSIGNMENT + "submission_types of type []models.SubmissionType",
        ),
        (
            b'{"submission_types":[1]}',
            CANNOT + "number" + IN_ASSIGNMENT + "submission_types of type models.SubmissionType",
        ),
        (
            b'{"attachments":[{"title":5}]}',
            CANNOT + "number into Go struct field AttachmentRequest.attachments.title of type string",
        ),
        (
            b'{"attachments":5}',
            CANNOT + "number" + IN_ASSIGNMENT + "attachments of type []*models.AttachmentRequest",
        ),
        (b'{"due_date":5}', CANNOT + "number" + IN_ASSIGNMENT + "due_date of type string"),
        (  # the text is strfmt's (passed through verbatim); Debian packages strfmt v0.21.2's layouts
            b'{"title":5,"due_date":"not a date"}',
            'parsing time "not a date" as "2006-01-02 15:04:05": cannot parse "not a date" as "2006"',
        ),
        (b'{"title":5,"due_date":[]}', CANNOT + "array" + IN_ASSIGNMENT + "due_date of type string"),
        (b'{"title":5,"max_attempts":"x"}', CANNOT + "number" + IN_ASSIGNMENT + "title of type string"),
        (b'{"title":5,"x":[1 2]}', "invalid character '2' after array element"),
    ],
)
def test_contract_examples(body: bytes, error: str | None) -> None:
    assert _go(body).error == error


def test_submission_grade_points_type_error() -> None:
    assert _go(b'{"grade_points":"9"}', SUBMISSION).error == (
        "json: cannot unmarshal string into Go struct field SubmissionRequest.grade_points of type float32"
    )


def test_values_shape() -> None:
    body = (
        b'{"title":"T","TITLE":"t2","max_attempts":3,"points_possible":0.1,"assignee_ids":["a",null],'
        b'"attachments":[null,{"title":"x","type":"file"}],"due_date":"","zz":[1,{"a":2}]}'
    )
    r = _go(body)
    assert r.error is None and r.path == "exact"  # a folded key: the fast path declines
    assert r.values == {
        "title": "t2",
        "max_attempts": 3,
        "points_possible": struct.unpack("<f", struct.pack("<f", 0.1))[0],
        "assignee_ids": ["a", ""],
        "attachments": [None, {"title": "x", "type": "file"}],
        "due_date": GoDateTime("", datetime(1970, 1, 1, tzinfo=UTC)),
    }
    assert r.ambiguous == {}


def test_duplicates_reuse_go_backing_arrays() -> None:
    # Go decodes a later duplicate into the old slice: null items keep what the backing array held.
    r = _go(b'{"assignee_ids":["a","b","c"],"assignee_ids":["x"],"assignee_ids":[null,null,null]}')
    assert r.values["assignee_ids"] == ["x", "b", "c"]
    r = _go(b'{"attachments":[{"title":"a","type":"file"}],"attachments":[{"url":"u"}]}')
    assert r.values["attachments"] == [{"title": "a", "type": "file", "url": "u"}]


def test_null_semantics_and_ambiguity() -> None:
    r = _go(
        b'{"title":"a","title":null,"max_attempts":3,"max_attempts":null,"assignee_ids":["a"],"assignee_ids":null}'
    )
    assert r.values == {"max_attempts": 3}  # pointer reset, value kept, slice nil
    r = _go(b'{"assignee_mode":"all","assignee_mode":null,"grading_type":null,"state":"x"}')
    assert r.ambiguous == {"assignee_mode": "all"}  # pointer: unset; value: still "all"
    assert "assignee_mode" not in r.values
    # A later non-null value settles the field whichever way go-swagger generated it.
    r = _go(b'{"state":"returned","state":null,"state":"ALL"}', SUBMISSION)
    assert r.ambiguous == {} and r.values == {"state": "ALL"}


def test_folded_keys() -> None:
    assert _go(b'{"TITLE":"a"}').values == {"title": "a"}
    assert _go('{"\u017ftate":"created"}'.encode(), SUBMISSION).values == {"state": "created"}
    assert _go('{"\u212aey":"x","titl\u212a":"y"}'.encode()).values == {}  # no field has a k there


def test_invalid_utf8_and_lone_surrogates_become_replacement_characters() -> None:
    r = _go(b'{"title":"a\xe2\x82b\\ud800\\u0041\\ud83d\\ude00"}')
    assert r.values == {"title": "a\ufffd\ufffdb\ufffdA\U0001f600"}


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("0", 0),
        ("-0", 0),
        ("9223372036854775807", 2**63 - 1),
        ("-9223372036854775808", -(2**63)),
        ("9223372036854775808", None),
        ("-9223372036854775809", None),
        ("2.5", None),
        ("1e2", None),
        ("1" * 400, None),
    ],
)
def test_parse_int64(literal: str, expected: int | None) -> None:
    assert go_parse_int64(literal) == expected


@pytest.mark.parametrize(
    ("literal", "bits"),
    [
        ("3.4028235e38", 0x7F7FFFFF),
        ("3.4028235677973362e38", 0x7F7FFFFF),
        ("-0", 0x80000000),
        ("1e-46", 0x00000000),
        ("1.0000000596046447753906250000000001", 0x3F800001),  # a double rounding would give 1.0
        ("16777217", 0x4B800000),
        ("1" + "0" * 900 + "e-890", 0x00000000),  # Go 1.19 strconv: 800-digit slow path loses the point
        ("1" + "0" * 5049 + "e-5010", 0x00000000),  # (1e39 would overflow; the misplaced point makes it 0)
        ("0." + "0" * 20000 + "1e100000", 0x00000000),  # Go 1.19 strconv: the exponent stops at 10000
    ],
)
def test_parse_float32(literal: str, bits: int) -> None:
    value = go_parse_float32(literal)
    assert value is not None
    assert struct.unpack("<I", struct.pack("<f", value))[0] == bits


@pytest.mark.parametrize(
    "literal",
    [
        "1e39",
        "3.4028236e38",
        "340282356779733661637539395458142568448",
        "-1e999999999999",
        "1" + "0" * 799 + "e-760",
    ],
    ids=["1e39", "3.4028236e38", "tie-to-2**128", "-huge", "800-digits-e-760"],
)
def test_parse_float32_out_of_range(literal: str) -> None:
    assert go_parse_float32(literal) is None


def test_realistic_bodies_take_the_fast_path_and_duplicates_do_not() -> None:
    dates = GoDates(golden())
    for r in decode_records():
        if r["name"] == "realistic/full":
            model = MODELS[r["model"]]
            assert decode(r["body"], model, parse_datetime=dates).path == "fast"
            duplicated = r["body"][:-1] + b',"attachments":[]}'
            assert decode(duplicated, model, parse_datetime=dates).path == "exact"


@pytest.mark.parametrize(
    "body",
    [
        b'{"assignee_ids":[' + b",".join(b'"5d9f1c2ab3e4f5a6b7c8%04x"' % i for i in range(37000)) + b"]}",
        b'{"description":"' + b"abc\\n\\u00e9\xc3\xa9 " * 80000 + b'"}',
        b'{"zz":[' + b'{"a":[1,2.5,true,null,"x"]},' * 40000 + b"{}]}",
        b"[" + b"1," * 500000 + b"1,]",  # a syntax error at the very end: the byte-exact scanner runs
        b'{"zz":[' + b'{"a":[1,2.5,true,null,"x"]},' * 40000 + b"{]}",
        b"[" * 10000 + b"]" * 10000,
    ],
    ids=["strings", "escapes", "mixed", "tiny-tokens-error", "mixed-error", "deep"],
)
def test_one_mebibyte_bodies_are_linear(body: bytes) -> None:
    start = time.perf_counter()
    decode_exact(body, ASSIGNMENT, parse_datetime=stand_in_parse)
    assert time.perf_counter() - start < 5.0  # ~0.05-0.5 s here; quadratic behaviour would take minutes


# ---- properties: never raises; the fast path only ever agrees with the exact one ----

REALISTIC = [r["body"] for r in decode_records() if r["name"].startswith("realistic/")]


def _check_paths_agree(body: bytes, model: GoStruct) -> None:
    exact = decode_exact(body, model, parse_datetime=stand_in_parse)
    fast = decode_fast(body, model, parse_datetime=stand_in_parse)
    if fast is not None:
        assert fast.error is None
        assert (fast.values, fast.ambiguous) == (exact.values, exact.ambiguous)
        assert exact.error is None
    both = decode(body, model, parse_datetime=stand_in_parse)
    assert (both.error, both.values, both.ambiguous) == (exact.error, exact.values, exact.ambiguous)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200), st.sampled_from([ASSIGNMENT, SUBMISSION]))
def test_arbitrary_bytes(body: bytes, model: GoStruct) -> None:
    _check_paths_agree(body, model)


_ALPHABET = b'{}[]:,"\\ -.0123456789eE+tfnrulasTNFx \t\r\n\x00\x1f\x7f\x80\xc3\xa9\xef\xbb\xbf\xed\xa0\xff'
_SNIPPETS = [
    b"null",
    b'"x"',
    b"5",
    b"2.5",
    b"[]",
    b"{}",
    b"true",
    b"\\u",
    b"\\ud800",
    b'"title":',
    b'"TITLE":5,',
    b'"due_date":"bad",',
    b'"attachments":[{"title":1}],',
    b"1e39",
    b'"\xff"',
    b"-0",
    b'"\xc5\xbftate":null,',
]


def mutate(body: bytes, rng: random.Random) -> bytes:
    b = bytearray(body)
    for _ in range(rng.randint(1, 4)):
        op = rng.random()
        i = rng.randint(0, len(b))
        if op < 0.25 and b:
            del b[min(i, len(b) - 1)]
        elif op < 0.5:
            b[i:i] = bytes([rng.choice(_ALPHABET)])
        elif op < 0.7 and b:
            b[min(i, len(b) - 1)] = rng.choice(_ALPHABET)
        elif op < 0.85:
            b[i:i] = rng.choice(_SNIPPETS)
        elif b:
            j, k = rng.randint(0, len(b)), rng.randint(0, len(b))
            b[k:k] = b[min(i, j) : max(i, j)][:50]
    return bytes(b)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32), st.sampled_from(range(len(REALISTIC))))
def test_mutated_realistic_bodies(seed: int, which: int) -> None:
    body = mutate(REALISTIC[which], random.Random(seed))
    _check_paths_agree(body, ASSIGNMENT if b'"grade"' not in REALISTIC[which] else SUBMISSION)


def generated_document(rng: random.Random, model: GoStruct, depth: int = 0) -> bytes:
    """A syntactically valid body built around the model: its keys (some folded, some repeated),
    values of every JSON kind, nulls, and unknown keys."""
    names = [f.json_name for f in model.fields] + ["zz", "ſtate", "Title"]
    members = []
    for _ in range(rng.randint(0, 8)):
        name = rng.choice(names)
        if rng.random() < 0.2:
            name = name.upper()
        members.append(json.dumps(name).encode() + b":" + _generated_value(rng, name, model, depth))
    return b"{" + b",".join(members) + b"}"


_DATES = ["2030-05-01T23:59:00Z", "2030-05-01T23:59:00+02:00", "", "bad", "2030-05-01"]
_ENUMS = ["all", "individuals", "points", "file", "link", "late", "created", ""]


def _generated_value(rng: random.Random, name: str, model: GoStruct, depth: int) -> bytes:
    k = rng.random()
    if k < 0.15:
        return b"null"
    if k < 0.3:
        return json.dumps(rng.choice(_DATES if "date" in name else _ENUMS)).encode()
    if k < 0.45:
        return rng.choice(
            [b"0", b"-0", b"3", b"2.5", b"1e39", b"-1", b"16777217", b"0.1", b"9223372036854775808"]
        )
    if k < 0.5:
        return rng.choice([b"true", b"false"])
    if k < 0.8 and depth < 2:
        items = []
        for _ in range(rng.randint(0, 4)):
            if rng.random() < 0.5:
                items.append(generated_document(rng, ATTACHMENT, depth + 1))
            else:
                items.append(_generated_value(rng, "item", model, depth + 1))
        return b"[" + b",".join(items) + b"]"
    if depth < 2:
        return generated_document(rng, ATTACHMENT, depth + 1)
    return b'"x"'


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32), st.sampled_from([ASSIGNMENT, SUBMISSION]))
def test_generated_documents(seed: int, model: GoStruct) -> None:
    _check_paths_agree(generated_document(random.Random(seed), model), model)


# ---- against Go itself (regenerates; skipped without the toolchain) ----


@pytest.fixture(scope="module")
def go_generator(tmp_path_factory: pytest.TempPathFactory) -> Path:
    binary = tmp_path_factory.mktemp("json_golden") / "json_decode_golden"
    subprocess.run([str(MAKE), "build", str(binary)], check=True, capture_output=True, timeout=300)
    return binary


@pytest.mark.needs_go
@pytest.mark.skipif(
    shutil.which("go") is None, reason="Go toolchain not on PATH: golden data not regenerated"
)
@pytest.mark.skipif(not STRFMT_SRC.exists(), reason="Debian's golang-github-go-openapi-strfmt-dev is missing")
def test_committed_golden_is_what_go_writes(go_generator: Path) -> None:
    fresh = subprocess.run(
        [str(go_generator), "generate"], check=True, capture_output=True, timeout=300
    ).stdout
    if fresh != GOLDEN.read_bytes():
        fresh_records = {
            (r.get("model"), r.get("name"), r.get("text"), r.get("in_b64")): r
            for r in load_records(fresh.decode().splitlines())
        }
        old = {(r.get("model"), r.get("name"), r.get("text"), r.get("in_b64")): r for r in golden()}
        changed = [k for k in fresh_records.keys() | old.keys() if fresh_records.get(k) != old.get(k)]
        pytest.fail(
            f"{len(changed)} golden records differ from what Go writes now (run {MAKE}): {changed[:5]}"
        )


def run_go(binary: Path, mode: str, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    payload = "".join(json.dumps(x) + "\n" for x in lines).encode()
    out = subprocess.run(
        [str(binary), mode], input=payload, check=True, capture_output=True, timeout=300
    ).stdout
    return load_records(out.decode().splitlines())


def _random_float_literal(rng: random.Random) -> str:
    k = rng.random()
    if k < 0.3:
        n = rng.randint(795, 1100)
        digits = str(rng.randint(1, 9)) + "".join(rng.choice("0000000001") for _ in range(n - 1))
        return digits + f"e{rng.randint(-n - 60, -n + 60)}"
    if k < 0.6:  # at, or a hair off, the midpoint of two float32 neighbours
        bits = rng.randint(1, 0x7F7FFFFE)
        lo, hi = (struct.unpack("<f", struct.pack("<I", b))[0] for b in (bits, bits + 1))
        with localcontext() as ctx:
            ctx.prec = 200  # float32 midpoints need up to ~110 significant digits
            mid = Decimal(lo) + (Decimal(hi) - Decimal(lo)) / 2
            nudge = Decimal(rng.choice([-1, 0, 0, 1])) * mid.scaleb(-rng.randint(17, 40))
            return format(mid + nudge, "e")
    if k < 0.8:
        return (
            "0."
            + "0" * rng.randint(0, 60)
            + str(rng.randint(1, 10 ** rng.randint(1, 25)))
            + f"e{rng.randint(-100, 100)}"
        )
    return (
        str(rng.randint(1, 10 ** rng.randint(1, 40)))
        + f"e{rng.choice([rng.randint(-45, 40), rng.randint(9990, 10010)])}"
    )


@pytest.mark.needs_go
@pytest.mark.skipif(shutil.which("go") is None, reason="Go toolchain not on PATH: no differential run")
@pytest.mark.skipif(not STRFMT_SRC.exists(), reason="Debian's golang-github-go-openapi-strfmt-dev is missing")
def test_differential_against_go(go_generator: Path) -> None:
    rng = random.Random(20240501)
    seeds = [(r["model"], r["body"]) for r in decode_records() if len(r["body"]) < 3000 and "body_b64" in r]
    bodies: list[tuple[str, bytes]] = []
    for _ in range(6000):
        model, body = rng.choice(seeds)
        bodies.append((model, mutate(body, rng)))
    for _ in range(3000):
        model = rng.choice(["AssignmentRequest", "SubmissionRequest"])
        bodies.append((model, generated_document(rng, MODELS[model])))
    escapes = [
        rb"\ud800",
        rb"\udbff",
        rb"\udc00",
        rb"\uDE00",
        rb"\uD83D",
        rb"\\",
        rb"\u0041",
        rb"\n",
        rb"\"",
        b"\xff",
        b"a",
    ]
    for _ in range(
        1500
    ):  # surrogate escapes in every arrangement, also where only the byte-exact reader reads
        text = b"".join(rng.choice(escapes) for _ in range(rng.randint(1, 8)))
        body = rng.choice([b'{"title":"%s"}', b'{"assignee_ids":["%s"]}', b'{"%s":1,"title":"x"}']) % text
        if rng.random() < 0.2:  # too deep for Python's json: the byte-exact reader reads the strings
            body = b'{"zz":' + b"[" * 1100 + b"]" * 1100 + b"," + body[1:]
        bodies.append(("AssignmentRequest", body))
    for _ in range(1500):
        field = rng.choice([b"points_possible", b"max_attempts"])
        bodies.append(
            ("AssignmentRequest", b'{"' + field + b'":' + _random_float_literal(rng).encode() + b"}")
        )
    bodies += [
        ("AssignmentRequest", body)
        for body in (
            b'{"assignee_ids":[' + b",".join(b'"5d9f1c2ab3e4f5a6b7c8%04x"' % i for i in range(37000)) + b"]}",
            b'{"description":"' + b"abc\\n\\u00e9\xc3\xa9\\ud800 " * 60000 + b'"}',
            b'{"zz":[' + b'{"a":[1,2.5,true,null,"x"]},' * 40000 + b'{}],"title":5}',
            b"[" + b"1," * 500000 + b"1,]",
        )
    ]
    records = run_go(
        go_generator,
        "stdin",
        [
            {"name": str(i), "model": m, "body_b64": base64.b64encode(b).decode()}
            for i, (m, b) in enumerate(bodies)
        ],
    )
    dates = GoDates(records)
    failures = []
    checked = errors = 0
    for r in decode_records(records):
        model_name, body = bodies[int(r["name"])]
        r["body"] = body
        for run in (decode_exact, decode):
            diff = check_against_go(r, run(body, MODELS[model_name], parse_datetime=dates))
            if diff is not None:
                failures.append(f"{run.__name__} {body[:150]!r}: {diff}")
        checked += 1
        errors += r["error"] is not None
    assert checked == len(bodies)
    assert 0.2 * checked < errors < 0.95 * checked  # both outcomes well represented
    assert not failures, "\n".join(failures[:10])


def test_non_ascii_json_names_are_refused() -> None:
    # fold.go would fall back to bytes.EqualFold for such a name; no model has one, so it is not emulated.
    odd = GoStruct("Odd", "models.Odd", (GoField("tïtle", _string()),))
    with pytest.raises(ValueError, match="non-ASCII"):
        decode_exact(b'{"x":1}', odd, parse_datetime=stand_in_parse)
