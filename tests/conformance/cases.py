"""Seeded, reproducible request cases for the differential conformance test (contract §2-§9).

`generate(seed, count)` spreads `count` cases over the families below by weight. Each family has a
fixed list (enumerated edge cases) and a random maker; a family takes all of its fixed cases when its
share allows (else a seeded sample of them) and fills the rest from the maker. Every family draws
from its own `random.Random` seeded with (seed, family), so a change to one family leaves the others'
cases as they were.

Dates are drawn from fixed windows far from today (years up to PAST_YEAR_MAX and from
FUTURE_YEAR_MIN on), so that neither the clock nor the day a corpus is replayed can flip a verdict.
Targets are strings as they go on the wire; a raw byte >= 0x80 is carried as a lone surrogate
(surrogateescape), like header values.
"""

from __future__ import annotations

import base64
import gzip
import json
import random
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

SECTION = "5f1b2c3d4e5f6a7b8c9d0e1f"
USER = "5f1b2c3d4e5f6a7b8c9d0e2a"
ASSIGNMENT = "6a1e9f3c-2b7d-4c8e-9f01-23456789abcd"
TOKEN = "district-token-0123456789abcdef"
AUTH = ("Authorization", f"Bearer {TOKEN}")
JSON_CT = ("Content-Type", "application/json")

PAST_YEAR_MAX = 2019
FUTURE_YEAR_MIN = 2090
FUTURE = "2099-05-01T17:00:00Z"
PAST = "2001-02-03T04:05:06Z"

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "config" / "examples"

Header = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    family: str
    method: str
    target: str  # path + query, percent-encoded as sent; raw bytes >= 0x80 as surrogateescape
    headers: tuple[Header, ...]
    body: bytes | None
    note: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "family": self.family,
            "method": self.method,
            "target": self.target,
            "headers": [list(h) for h in self.headers],
            "body_b64": None if self.body is None else base64.b64encode(self.body).decode(),
            "note": self.note,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Case:
        body = data.get("body_b64")
        headers = data["headers"]
        assert isinstance(headers, list)
        return cls(
            id=str(data["id"]),
            family=str(data["family"]),
            method=str(data["method"]),
            target=str(data["target"]),
            headers=tuple((str(k), str(v)) for k, v in headers),
            body=None if body is None else base64.b64decode(str(body)),
            note=str(data.get("note", "")),
        )


@dataclass(frozen=True, slots=True)
class Draft:
    method: str
    target: str
    headers: tuple[Header, ...]
    body: bytes | None
    note: str = ""


# --- JSON building --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Obj:
    """A JSON object as ordered pairs (duplicates allowed)."""

    pairs: tuple[tuple[str, object], ...]


def obj(*pairs: tuple[str, object]) -> Obj:
    return Obj(tuple(pairs))


_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def jstr(text: str) -> bytes:
    """A JSON string literal; lone surrogates U+DC80..U+DCFF become those raw bytes (invalid UTF-8)."""
    out = ['"']
    for ch in text:
        esc = _SHORT_ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out).encode("utf-8", "surrogateescape")


def J(value: object) -> bytes:
    """JSON bytes of a Python value; bytes are a raw JSON fragment, Obj keeps duplicate keys."""
    if isinstance(value, bytes):
        return value
    if value is None:
        return b"null"
    if value is True:
        return b"true"
    if value is False:
        return b"false"
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, float):
        return repr(value).encode()
    if isinstance(value, str):
        return jstr(value)
    if isinstance(value, list | tuple):
        return b"[" + b",".join(J(v) for v in value) + b"]"
    if isinstance(value, dict):
        return b"{" + b",".join(jstr(k) + b":" + J(v) for k, v in value.items()) + b"}"
    if isinstance(value, Obj):
        return b"{" + b",".join(jstr(k) + b":" + J(v) for k, v in value.pairs) + b"}"
    raise TypeError(type(value).__name__)


# --- operations and models ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Op:
    name: str
    method: str
    template: str
    model: str | None  # "assignment" | "submission" | None

    def path(self, s: str = SECTION, a: str = ASSIGNMENT, u: str = USER) -> str:
        return self.template.format(s=s, a=a, u=u)


_A = "/v3.1/sections/{s}/assignments"
OPS = (
    Op("createAssignment", "POST", _A, "assignment"),
    Op("getAssignment", "GET", _A + "/{a}", None),
    Op("updateAssignment", "PATCH", _A + "/{a}", "assignment"),
    Op("deleteAssignment", "DELETE", _A + "/{a}", None),
    Op("listSubmissions", "GET", _A + "/{a}/submissions", None),
    Op("getSubmission", "GET", _A + "/{a}/submissions/{u}", None),
    Op("updateSubmission", "PATCH", _A + "/{a}/submissions/{u}", "submission"),
)
OP = {op.name: op for op in OPS}
BODY_OPS = tuple(op for op in OPS if op.model is not None)
TEMPLATES = (_A, _A + "/{a}", _A + "/{a}/submissions", _A + "/{a}/submissions/{u}")

# Field kinds: string, date, int, float, enum:<values>, enums:<values>, strings, attachments, atype.
ENUMS = {
    "assignee_mode": ("all", "individuals"),
    "grading_type": ("points", "percent", "pass_fail", "letter_grade"),
    "submission_types": ("link", "file", "text", "discussion"),
    "flags": ("excused", "late", "missing"),
    "state": ("created", "submitted", "returned", "reclaimed"),
    "type": ("file",),
}
ASSIGNMENT_FIELDS = {
    "assignee_ids": "strings",
    "assignee_mode": "enum",
    "attachments": "attachments",
    "description": "string",
    "description_plaintext": "string",
    "display_date": "date",
    "due_date": "date",
    "end_date": "date",
    "grading_type": "enum",
    "max_attempts": "int",
    "points_possible": "float",
    "start_date": "date",
    "submission_types": "enums",
    "term_id": "string",
    "title": "string",
}
SUBMISSION_FIELDS = {
    "attachments": "attachments",
    "extra_attempts": "int",
    "flags": "enums",
    "grade": "string",
    "grade_comment": "string",
    "grade_points": "float",
    "grader_id": "string",
    "override_due_date": "date",
    "state": "enum",
}
ATTACHMENT_FIELDS = {"description": "string", "title": "string", "type": "atype", "url": "string"}
MODEL_FIELDS = {"assignment": ASSIGNMENT_FIELDS, "submission": SUBMISSION_FIELDS}
DATE_FIELDS = {
    "assignment": ("display_date", "due_date", "end_date", "start_date"),
    "submission": ("override_due_date",),
}
ENUM_FIELDS = {
    "assignment": ("assignee_mode", "grading_type", "submission_types"),
    "submission": ("flags", "state"),
}

TEXTS = (
    "Quiz 1",
    "Chapter 3",
    "Read pages 40–52 & answer <all> questions",
    'Line 1\nLine 2\t"quoted" \\ back',
    "Ärger — Übung ✓ 😀",
    "\u2028line separator\u2029",
    "x",
    " ",
    "Week 12 Homework",
    "Solve $x + 2 = 5$",
    "caf\u00e9 \u0000 nul",
)
MONGO_IDS = ("5f1b2c3d4e5f6a7b8c9d0e2a", "5f1b2c3d4e5f6a7b8c9d0e2b", "000000000000000000000000")


def valid_value(kind: str, name: str, rng: random.Random) -> object:
    if kind == "string":
        return rng.choice(TEXTS)
    if kind == "date":
        return rng.choice((FUTURE, "2099-12-20T23:59:00.000Z", "2098-01-02", "2150-06-30T08:00:00+02:00"))
    if kind == "int":
        return rng.choice((0, 1, 3, 10, -1))
    if kind == "float":
        return rng.choice((10, 9.5, 0, 100.25, 1e2))
    if kind == "enum":
        return rng.choice(ENUMS[name])
    if kind == "enums":
        return rng.sample(ENUMS[name], rng.randint(0, len(ENUMS[name])))
    if kind == "strings":
        return list(MONGO_IDS[: rng.randint(0, 2)])
    if kind == "atype":
        return "file"
    if kind == "attachments":
        return [valid_attachment(rng) for _ in range(rng.randint(0, 2))]
    raise ValueError(kind)


def valid_attachment(rng: random.Random) -> Obj:
    pairs: list[tuple[str, object]] = [("type", "file"), ("url", "https://example.com/a.pdf")]
    if rng.random() < 0.5:
        pairs.append(("title", "Worksheet"))
    if rng.random() < 0.3:
        pairs.append(("description", "Print it"))
    rng.shuffle(pairs)
    return Obj(tuple(pairs))


def valid_pairs(
    model: str, rng: random.Random, *, create: bool, extra: float = 0.3
) -> list[tuple[str, object]]:
    """A valid body's members; for create, title/description/due_date (future) are always there."""
    fields = MODEL_FIELDS[model]
    pairs: list[tuple[str, object]] = []
    if create:
        pairs += [
            ("title", rng.choice(TEXTS[:5])),
            ("description", rng.choice(TEXTS[:5])),
            ("due_date", FUTURE),
        ]
    for name, kind in fields.items():
        if create and name in ("title", "description", "due_date"):
            continue
        if rng.random() < extra:
            pairs.append((name, valid_value(kind, name, rng)))
    if not create and not pairs and model == "submission":
        pairs.append(("grade_points", 95))
    rng.shuffle(pairs)
    return pairs


# --- headers --------------------------------------------------------------------------------------

AE_VARIANTS = (
    "gzip",
    "deflate",
    "gzip, deflate",
    "gzip, deflate, br",
    "br",
    "br, gzip",
    "identity",
    "gzip;q=0",
    "gzip;q=1.0",
    "GZIP",
    "Gzip",
    " gzip ",
    "deflate, gzip",
    "x-gzip",
    "*",
    "",
    "compress, gzip",
    "gzip,deflate",
    "br;q=1, gzip;q=0.5",
    "identity, deflate",
)
CT_VARIANTS = (
    "application/json",
    "application/json; charset=utf-8",
    "text/plain",
    "application/x-www-form-urlencoded",
    "application/xml",
    "multipart/form-data; boundary=x",
    "APPLICATION/JSON",
    "application/json; charset=utf-16",
    "",
)


def headers(
    rng: random.Random, *, body: bool, auth: bool = True, ae_rate: float = 0.15, ct_rate: float = 0.05
) -> tuple[Header, ...]:
    out: list[Header] = []
    if auth:
        out.append(AUTH)
    if body:
        out.append(("Content-Type", rng.choice(CT_VARIANTS)) if rng.random() < ct_rate else JSON_CT)
    if rng.random() < ae_rate:
        out.append(("Accept-Encoding", rng.choice(AE_VARIANTS)))
    if rng.random() < 0.1:
        out.append(("Accept", "application/json"))
    if rng.random() < 0.05:
        out.append(("User-Agent", "lms-sync/2.3 (+https://example.com)"))
    return tuple(out)


def body_draft(
    rng: random.Random, op: Op, body: bytes | None, note: str, *, path: str | None = None, query: str = ""
) -> Draft:
    target = (path or op.path()) + (f"?{query}" if query else "")
    return Draft(op.method, target, headers(rng, body=body is not None), body, note)


def model_op(rng: random.Random, model: str) -> Op:
    if model == "submission":
        return OP["updateSubmission"]
    return OP[rng.choice(("createAssignment", "updateAssignment"))]


# --- realistic bodies -----------------------------------------------------------------------------

CREATE_MIN = J({"title": "Quiz 1", "description": "Chapter 3", "due_date": FUTURE})
CREATE_FULL = J(
    {
        "title": "Week 12 Homework",
        "description": "Read pages 40–52 & answer <all> questions",
        "description_plaintext": "Read pages 40-52",
        "due_date": "2099-01-28T18:00:24.573Z",
        "start_date": "2098-12-01T08:00:00Z",
        "display_date": "2098-12-01",
        "end_date": "2099-02-01T00:00:00+01:00",
        "grading_type": "points",
        "points_possible": 10.5,
        "max_attempts": 3,
        "assignee_mode": "individuals",
        "assignee_ids": ["5f1b2c3d4e5f6a7b8c9d0e2a", "5f1b2c3d4e5f6a7b8c9d0e2b"],
        "submission_types": ["link", "file"],
        "term_id": "term-2099",
        "attachments": [{"type": "file", "url": "https://example.com/a.pdf", "title": "Worksheet"}],
    }
)
CREATE_PRETTY = json.dumps(
    {
        "title": "Ärger — Übung 3 ✓",
        "description": 'Line1\nLine2 "quoted" é',
        "due_date": "2099-12-20T23:59:00.000000-05:00",
        "points_possible": 100,
        "submission_types": ["text"],
    },
    indent=2,
    ensure_ascii=False,
).encode()
UPDATE_BODY = J(
    {
        "title": "Quiz 1 (revised)",
        "points_possible": 20,
        "grading_type": "percent",
        "submission_types": ["text", "discussion"],
        "due_date": "2100-01-01T00:00:00.000Z",
    }
)
GRADE_BODY = J(
    {
        "grade": "A-",
        "grade_points": 92.5,
        "grade_comment": "Great work! <3",
        "grader_id": "5f1b2c3d4e5f6a7b8c9d0e3c",
        "state": "returned",
        "flags": ["late"],
        "extra_attempts": 1,
        "override_due_date": "2099-03-01T12:00:00Z",
        "attachments": [{"type": "file", "url": "https://example.com/essay.pdf", "title": "Essay"}],
    }
)
GRADE_MIN = b'{"grade_points":95}'
REALISTIC: tuple[tuple[str, bytes], ...] = (
    ("createAssignment", CREATE_MIN),
    ("createAssignment", CREATE_FULL),
    ("createAssignment", CREATE_PRETTY),
    ("updateAssignment", UPDATE_BODY),
    ("updateAssignment", CREATE_FULL),
    ("updateSubmission", GRADE_BODY),
    ("updateSubmission", GRADE_MIN),
)


def fam_json_trunc(rng: random.Random) -> tuple[list[Draft], Callable[[], Draft]]:
    fixed = []
    for op_name, body in REALISTIC:
        op = OP[op_name]
        for cut in range(len(body) + 1):
            fixed.append(body_draft(rng, op, body[:cut], f"{op_name} body cut at {cut}/{len(body)}"))

    def make() -> Draft:
        op_name, body = rng.choice(REALISTIC)
        cut = rng.randint(0, len(body))
        tail = rng.choice((b"", b" ", b"\n", b"}", b"]", b'"', b"\x00"))
        return body_draft(rng, OP[op_name], body[:cut] + tail, f"cut at {cut} + {tail!r}")

    return fixed, make


# --- syntax mutations -----------------------------------------------------------------------------


def _positions(body: bytes) -> tuple[list[int], list[int]]:
    """Offsets outside strings (token boundaries) and inside string contents."""
    outside, inside = [], []
    in_str = esc = False
    for i, c in enumerate(body):
        if in_str:
            inside.append(i)
            if esc:
                esc = False
            elif c == 0x5C:
                esc = True
            elif c == 0x22:
                in_str = False
        else:
            outside.append(i)
            if c == 0x22:
                in_str = True
    outside.append(len(body))
    return outside, inside or [0]


INTERESTING = b"{}[]:,\"\\ \t\n\r\x00\x01\x1f\x7f\x80\xbf\xc3\xef\xff'/*#-+.0123456789eEaflnrstuTFN"
BAD_ESCAPES = (
    b"\\x41",
    b"\\u12",
    b"\\u12G4",
    b"\\'",
    b"\\ ",
    b"\\U0041",
    b"\\a",
    b"\\0",
    b"\\\n",
    b"\\u",
    b"\\uD800",
    b"\\/",
    b"\\b",
    b"\\ud83d\\ude00",
    b"\\$",
    b"\\-",
    b"\\\xc3\xa9",
)
NUMBER_JUNK = (
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"+1",
    b".5",
    b"01",
    b"1.",
    b"0x10",
    b"1_000",
    b"--1",
    b"1e",
    b"1e+",
    b"-",
    b"- 1",
    b"1.5.2",
    b"nan",
    b"inf",
    b"1E400",
    b"-0.0e-0",
)
WHITESPACE_JUNK = (
    b"\xc2\xa0",
    b"\x0b",
    b"\x0c",
    b"\xe2\x80\xa8",
    b"\r\n",
    b"\xe3\x80\x80",
    b"\x00",
    b"\xef\xbb\xbf",
)
COMMENTS = (b"// note\n", b"/* note */", b"# note\n", b"<!-- x -->")


def mutate(rng: random.Random, body: bytes) -> tuple[bytes, str]:
    outside, inside = _positions(body)
    kind = rng.randrange(16)
    if kind == 0:
        i, b = rng.randint(0, len(body)), INTERESTING[rng.randrange(len(INTERESTING))]
        return body[:i] + bytes([b]) + body[i:], f"insert {bytes([b])!r} at {i}"
    if kind == 1 and body:
        i = rng.randrange(len(body))
        return body[:i] + body[i + 1 :], f"delete byte {i}"
    if kind == 2 and body:
        i, b = rng.randrange(len(body)), INTERESTING[rng.randrange(len(INTERESTING))]
        return body[:i] + bytes([b]) + body[i + 1 :], f"replace byte {i} by {bytes([b])!r}"
    if kind == 3:
        i, esc = rng.choice(inside), rng.choice(BAD_ESCAPES)
        return body[:i] + esc + body[i:], f"escape {esc!r} in a string"
    if kind == 4:
        i, c = rng.choice(inside), rng.choice((*range(0x20), 0x7F))
        return body[:i] + bytes([c]) + body[i:], f"raw control {c:#x} in a string"
    if kind == 5:
        quotes = ("“", "”", "‘", "’", "„", "«", "″")
        q = rng.choice(quotes).encode()
        if rng.random() < 0.5:
            return body.replace(b'"', q), f"all quotes -> {q!r}"
        idx = [i for i, c in enumerate(body) if c == 0x22]
        i = rng.choice(idx) if idx else 0
        return body[:i] + q + body[i + 1 :], f"quote {i} -> {q!r}"
    if kind == 6:
        bom = rng.choice((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb"))
        if rng.random() < 0.2:
            text = body.decode("utf-8", "surrogateescape")
            try:
                return text.encode(rng.choice(("utf-16", "utf-16-le", "utf-32"))), "UTF-16/32 body"
            except UnicodeEncodeError:
                pass
        return bom + body, f"BOM {bom!r}"
    if kind == 7:
        out = body.replace(b"null", b"None").replace(b"true", b"True").replace(b"false", b"False")
        if rng.random() < 0.7:
            out = out.replace(b'"', b"'")
        return out, "Python repr"
    if kind == 8:
        closers = [i for i in outside if i < len(body) and body[i] in b"}]"]
        i = rng.choice(closers) if closers else len(body)
        return body[:i] + rng.choice((b",", b", ", b",,")) + body[i:], f"trailing comma at {i}"
    if kind == 9:
        junk = rng.choice(NUMBER_JUNK)
        starts = [
            i
            for i in outside
            if i < len(body) and body[i : i + 1] in b"-0123456789" and body[i - 1 : i] in b":[, "
        ]
        if starts:
            i = rng.choice(starts)
            j = i
            while j < len(body) and body[j : j + 1] in b"-+.eE0123456789":
                j += 1
            return body[:i] + junk + body[j:], f"number -> {junk!r}"
        colon = [i for i in outside if body[i - 1 : i] == b":"]
        i = rng.choice(colon) if colon else len(body)
        return body[:i] + junk + b"," + body[i:], f"value {junk!r} inserted"
    if kind == 10:
        i, c = rng.choice(outside), rng.choice(COMMENTS)
        return body[:i] + c + body[i:], f"comment {c!r}"
    if kind == 11:
        i, w = rng.choice(outside), rng.choice(WHITESPACE_JUNK)
        return body[:i] + w + body[i:], f"whitespace {w!r}"
    if kind == 12:
        wrap = rng.randrange(6)
        if wrap == 0:
            return b"'" + body + b"'", "wrapped in single quotes"
        if wrap == 1:
            return jstr(body.decode("utf-8", "surrogateescape")), "JSON inside a JSON string"
        if wrap == 2:
            return body + body, "body twice"
        if wrap == 3:
            return b"[" + body + b"]", "wrapped in an array"
        if wrap == 4:
            return b'{"data":' + body + b"}", "wrapped in data"
        return body + b"\n" + rng.choice((b"xyz", b"{", b"]", b"}", b"\x00", b"null")), "trailing data"
    if kind == 13:
        # keys unquoted (JavaScript object literal)
        return body.replace(b'":', b":").replace(b'{"', b"{").replace(b',"', b","), "unquoted keys"
    if kind == 14 and body:
        i = rng.randrange(len(body))
        j = min(len(body), i + rng.randint(1, 8))
        return body[:i] + body[i:j] + body[i:], f"duplicated slice {i}:{j}"
    if kind == 15 and len(body) > 1:
        i = rng.randrange(len(body) - 1)
        return body[:i] + body[i + 1 : i + 2] + body[i : i + 1] + body[i + 2 :], f"swap {i}"
    return body + b" ", "trailing space"


def fam_json_mut(rng: random.Random) -> tuple[list[Draft], Callable[[], Draft]]:
    fixed: list[Draft] = []
    specials = (
        b'{"title": None, "description": True}',
        b"{'title': 'Quiz 1', 'description': 'x', 'due_date': '2099-05-01T17:00:00Z'}",
        b'{"title":"Quiz 1",}',
        b'{"submission_types":["link",]}',
        b'{"points_possible":NaN}',
        b'{"points_possible":Infinity}',
        b'{"points_possible":-Infinity}',
        b'{"grade_points":+1}',
        b'{"grade_points":.5}',
        b'{"grade_points":01}',
        b'{"grade_points":1.}',
        b'{"title":"a" // c\n}',
        b'{/* c */"title":"a"}',
        b'{"title":"a\\x41"}',
        b'{"title":"\\u12"}',
        b'{"title":"\\u12G4"}',
        b'{"title":"tab\there"}',
        b'{"title":"nul\x00"}',
        b'{"title":"del\x7f"}',
        "{“title”: “Quiz 1”}".encode(),
        "{‘title’: ‘Quiz 1’}".encode(),
        b"\xef\xbb\xbf{}",
        b"\xef\xbb\xbf",
        b"{}\xef\xbb\xbf",
        b"title=Quiz+1&description=Chapter+3&due_date=2099-05-01T17%3A00%3A00Z",
        b"{grade_points:95}",
        b'{"a":1,,"b":2}',
        b'{"a" 1}',
        b'{"a":1 "b":2}',
        b'{,"a":1}',
        b"{:1}",
        b'{"a":}',
        b'{"a"}',
        b'{"a":[1,]}',
        b'{"a":[,1]}',
        b"{]",
        b"[}",
        b'{"a":tru}',
        b'{"a":trUe}',
        b'{"a":fals}',
        b'{"a":nul}',
        b'{"a":nulL}',
        b'{"a":t}',
        b'{"a":-}',
        b'{"a":-a}',
        b'{"a":0.}',
        b'{"a":0.e1}',
        b'{"a":1e}',
        b'{"a":1e+}',
        b'{"a":"\\',
        b'{"a":"\\u',
        b'{"a":"\\u00',
        b'{"a":"',
        b'{"a',
        b'{"a"',
        b'{"a":',
        b'{"a":1',
        b'{"a":[',
        b'{"a":[1',
        b'{"a":{',
        b'{"a":t',
        b'{"a":tr',
        b'{"a":1.',
        b'{"a":1e',
        b'{"a":-',
    )
    for body in specials:
        for op in BODY_OPS:
            fixed.append(body_draft(rng, op, body, "syntax special"))

    def make() -> Draft:
        op_name, body = rng.choice(REALISTIC)
        notes = []
        for _ in range(1 if rng.random() < 0.8 else rng.randint(2, 3)):
            body, note = mutate(rng, body)
            notes.append(note)
        return body_draft(rng, OP[op_name], body, "; ".join(notes))

    return fixed, make


# --- Go encoding/json semantics -------------------------------------------------------------------

INVALID_UTF8 = (
    b"\xff",
    b"\xc3",
    b"\xc3(",
    b"\xe2\x82",
    b"\xed\xa0\x80",
    b"\xc0\xaf",
    b"\xf4\x90\x80\x80",
    b"\xf8\x88\x80\x80\x80",
    b"Quiz \xff 1",
    b"\x80",
    b"caf\xe9",
)
SURROGATES = (
    b"\\ud800",
    b"\\udc00",
    b"\\ud800\\u0041",
    b"\\ud83d\\ude00",
    b"\\ude00\\ud83d",
    b"\\ud800\\ud800",
    b"\\uDBFF\\uDFFF",
    b"a\\udfff",
    b"\\ud800x",
)
INT64_EDGES = (
    b"2.5",
    b"1e2",
    b"1E2",
    b"-0",
    b"0",
    b"-1",
    b"1.0",
    b"0.0",
    b"9223372036854775807",
    b"9223372036854775808",
    b"-9223372036854775808",
    b"-9223372036854775809",
    b"1e19",
    b"100000000000000000000",
    b"1E+2",
    b"0e0",
    b"-0.0",
    b"12345678901234567890123456789",
    b"1e-2",
)
FLOAT32_EDGES = (
    b"1e39",
    b"3.4028235e38",
    b"3.4028236e38",
    b"3.40282357e38",
    b"3.4028235677973366e38",
    b"3.4028235677973367e38",
    b"-3.4028235e38",
    b"-1e39",
    b"1e-46",
    b"1e-45",
    b"4.9e-324",
    b"1e309",
    b"1.7976931348623157e308",
    b"1234567890123456789012345678901234567890",
    b"123456789012345678901234567890123456789",
    b"0.1",
    b"-0",
    b"1e-400",
    b"16777217",
    b"2.5",
    b"1E2",
    b"340282356779733661637539395458142568448",
    b"340282356779733661637539395458142568447",
    b"0.000000000000000000000000000000000000000000001401298464324817",
)


def nested(depth: int, leaf: bytes = b"1", kind: str = "array") -> bytes:
    if kind == "array":
        return b"[" * depth + leaf + b"]" * depth
    return b'{"a":' * depth + leaf + b"}" * depth


def fam_go_semantics(rng: random.Random) -> tuple[list[Draft], Callable[[], Draft]]:
    bodies: list[tuple[str, bytes, str]] = []  # (op name, body, note)
    for raw in INVALID_UTF8:
        for f in ("title", "description"):
            bodies.append(
                (
                    "createAssignment",
                    b'{"' + f.encode() + b'":"' + raw + b'","due_date":"' + FUTURE.encode() + b'"}',
                    f"invalid UTF-8 {raw!r} in {f}",
                )
            )
        bodies.append(("updateSubmission", b'{"grade":"' + raw + b'"}', f"invalid UTF-8 {raw!r} in grade"))
        bodies.append(("updateSubmission", b'{"state":"' + raw + b'"}', f"invalid UTF-8 {raw!r} in state"))
        bodies.append(
            ("updateAssignment", b'{"due_date":"2099-05-01' + raw + b'"}', f"invalid UTF-8 {raw!r} in a date")
        )
        bodies.append(("updateAssignment", b'{"ti' + raw + b'tle":1}', f"invalid UTF-8 {raw!r} in a key"))
        bodies.append(
            (
                "updateAssignment",
                b'{"attachments":[{"type":"' + raw + b'"}]}',
                f"invalid UTF-8 {raw!r} in attachment type",
            )
        )
    for sur in SURROGATES:
        bodies.append(("updateAssignment", b'{"title":"' + sur + b'"}', f"surrogate {sur!r} in title"))
        bodies.append(("updateSubmission", b'{"state":"' + sur + b'"}', f"surrogate {sur!r} in state"))
        bodies.append(("updateAssignment", b'{"due_date":"' + sur + b'"}', f"surrogate {sur!r} as a date"))
        bodies.append(
            (
                "updateAssignment",
                b'{"submission_types":["' + sur + b'"]}',
                f"surrogate {sur!r} in an enum array",
            )
        )
        bodies.append(("updateAssignment", b'{"' + sur + b'":1}', f"surrogate {sur!r} as a key"))
    dup = (
        b'{"title":"a","title":1}',
        b'{"title":1,"title":"a"}',
        b'{"points_possible":"x","points_possible":1}',
        b'{"points_possible":1,"points_possible":"x"}',
        b'{"due_date":"bad","due_date":"2099-05-01T17:00:00Z"}',
        b'{"due_date":"2099-05-01T17:00:00Z","due_date":"bad"}',
        b'{"title":"a","description":"b","due_date":"2099-05-01T17:00:00Z","due_date":null}',
        b'{"title":"a","description":"b","due_date":"2099-05-01T17:00:00Z","title":null}',
        b'{"title":"a","description":"b","due_date":null,"due_date":"2099-05-01T17:00:00Z"}',
        b'{"title":"a","description":"b","due_date":"2099-05-01T17:00:00Z","TITLE":null}',
        b'{"title":"a","description":"b","due_date":"2001-01-01T00:00:00Z","Due_Date":"2099-05-01T17:00:00Z"}',
        b'{"title":"a","description":"b","due_date":"2099-05-01T17:00:00Z","DUE_DATE":"2001-01-01T00:00:00Z"}',
        b'{"assignee_mode":"bogus","assignee_mode":"all"}',
        b'{"assignee_mode":"all","assignee_mode":"bogus"}',
        b'{"assignee_mode":"bogus","assignee_mode":null}',
        b'{"submission_types":["bogus"],"submission_types":["link"]}',
        b'{"submission_types":["link","bogus"],"submission_types":[null]}',
        b'{"submission_types":["link","link"],"submission_types":["bogus"]}',
        b'{"submission_types":["bogus","bogus"],"submission_types":["link"]}',
        b'{"submission_types":["link"],"submission_types":null}',
        b'{"submission_types":["a","b"],"submission_types":[null,null]}',
        b'{"attachments":[{"type":"link"}],"attachments":[{"title":"x"}]}',
        b'{"attachments":[{"type":"bogus"}],"attachments":[{"type":"file"}]}',
        b'{"attachments":[{"type":"file"}],"attachments":[{"type":""}]}',
        b'{"attachments":[{"type":"file"},{"type":"link"}],"attachments":[{"url":"x"}]}',
        b'{"max_attempts":1,"max_attempts":2.5}',
        b'{"max_attempts":2.5,"max_attempts":1}',
        b'{"grading_type":"","grading_type":"points"}',
        b'{"grading_type":"points","grading_type":""}',
        b'{"title":[],"title":"a","points_possible":"1"}',
    )
    for body in dup:
        bodies.append(("createAssignment", body, "duplicate keys"))
        bodies.append(("updateAssignment", body, "duplicate keys"))
    sub_dup = (
        b'{"state":"bogus","state":"returned"}',
        b'{"state":"returned","state":"bogus"}',
        b'{"state":"","state":"bogus"}',
        b'{"flags":["late"],"flags":["bogus"]}',
        b'{"flags":["bogus","late"],"flags":["late"]}',
        b'{"grade_points":"x","grade_points":1}',
        b'{"override_due_date":"x","override_due_date":null}',
        b'{"override_due_date":null,"override_due_date":"x"}',
        b'{"attachments":[{"type":"file"},{"type":"bogus"}],"attachments":[{"type":"file"}]}',
        b'{"attachments":[{"type":"file"}],"attachments":[{"type":"file"},{"type":"bogus"}]}',
    )
    for body in sub_dup:
        bodies.append(("updateSubmission", body, "duplicate keys"))
    folded = (
        "TITLE",
        "Title",
        "tItLe",
        "DUE_DATE",
        "Due_Date",
        "DESCRIPTION",
        "ſubmiſſion_types",
        "ſtate",
        "\u212aey",
        "TİTLE",
        "tıtle",
        "ﬂags",
        "ＴＩＴＬＥ",
        "ti\u0074le",
        "title ",
        " title",
        "due-date",
        "dueDate",
        "due_Date",
        "ASSIGNEE_MODE",
        "Assignee_Mode",
        "aßignee_mode",
        "ﬅate",
        "ﬆate",
        "aſſignee_ids",
        "deſcription",
        "DEſCRIPTION",
        "gradıng_type",
        "GRADİNG_TYPE",
        "ﬂags",
        "FLAGſ",
        "grade_pointſ",
        "ѕtate",
    )
    for key in folded:
        for op_name in ("createAssignment", "updateSubmission"):
            for value in (b'"bogus"', b"1", b"null", b'"2001-01-01"', b'["bogus"]'):
                body = (
                    b'{"title":"a","description":"b","due_date":"'
                    + FUTURE.encode()
                    + b'","'
                    + key.encode()
                    + b'":'
                    + value
                    + b"}"
                )
                if op_name == "updateSubmission":
                    body = b'{"' + key.encode() + b'":' + value + b"}"
                bodies.append((op_name, body, f"folded key {key!r} = {value!r}"))
    escaped_keys = (
        b'{"\\u0074itle":1}',
        b'{"TIT\\u004cE":1}',
        b'{"\\u017ftate":"bogus"}',
        b'{"st\\u0061te":"bogus"}',
        b'{"ti\\tle":1}',
    )
    for body in escaped_keys:
        bodies.append(("updateAssignment", body, "escaped key"))
        bodies.append(("updateSubmission", body, "escaped key"))
    trailing = (
        b'{"title":"a"} xyz',
        b"{} {",
        b"{}}",
        b"{}]",
        b'{"grade_points":95}garbage',
        b"{}\x00",
        b"{} []",
        b"{}{}",
        b'{"grade_points":"x"} {',
        b"{} \xff",
        b'{"title":"a"}\n\n{"title":1}',
        b"{}  // c",
        b'{"a":1}, {"b":2}',
    )
    for body in trailing:
        for op in BODY_OPS:
            bodies.append((op.name, body, "trailing data"))
    toplevel = (
        b"[]",
        b"[1]",
        b'"str"',
        b"1",
        b"-1",
        b"true",
        b"false",
        b"null",
        b"  null  ",
        b"nul",
        b"[",
        b'""',
        b"0",
        b"1e400",
        b"[{}]",
        b'"\\ud800"',
        b"   ",
        b"\n",
        b"\t\r\n ",
        b"\x00",
        b" {} ",
        b"[]]",
        b"nullx",
        b"truex",
        b"1 2",
        b"-",
        b'"a',
        b"\\",
        b"{}x",
    )
    for body in toplevel:
        for op in BODY_OPS:
            bodies.append((op.name, body, "top-level value"))
    for lit in INT64_EDGES:
        bodies.append(("updateAssignment", b'{"max_attempts":' + lit + b"}", f"max_attempts {lit!r}"))
        bodies.append(("updateSubmission", b'{"extra_attempts":' + lit + b"}", f"extra_attempts {lit!r}"))
        bodies.append(("updateAssignment", b'{"title":' + lit + b"}", f"title {lit!r}"))
    for lit in FLOAT32_EDGES:
        bodies.append(("updateAssignment", b'{"points_possible":' + lit + b"}", f"points_possible {lit!r}"))
        bodies.append(("updateSubmission", b'{"grade_points":' + lit + b"}", f"grade_points {lit!r}"))
        bodies.append(("updateSubmission", b'{"grade_points":[' + lit + b"]}", f"grade_points [{lit!r}]"))
    for lit in (b"1e999", b"-", b"01", b"1.e5", b"9" * 400):
        bodies.append(("updateAssignment", b'{"unknown":' + lit + b"}", f"unknown field {lit[:20]!r}"))
    for depth in (9998, 9999, 10000, 10001, 10002):
        bodies.append(
            ("updateAssignment", b'{"title":' + nested(depth) + b"}", f"depth {depth} array in title")
        )
        bodies.append(("updateSubmission", nested(depth, b"{}"), f"depth {depth} top-level array"))
    for depth in (9999, 10000, 10001):
        bodies.append(
            (
                "updateAssignment",
                b'{"x":' + nested(depth, b"1", "object") + b"}",
                f"depth {depth} objects in unknown",
            )
        )
        bodies.append(
            (
                "updateAssignment",
                b'{"x":' + nested(depth, b"1") + b',"title":1}',
                f"depth {depth} then type error",
            )
        )
    bodies.append(("updateAssignment", b'{"x":' + nested(100) + b',"max_attempts":1}', "depth 100 unknown"))
    bodies.append(
        (
            "createAssignment",
            J({"title": "Quiz", "description": "d" * 200_000, "due_date": FUTURE}),
            "200 KB description",
        )
    )
    bodies.append(("createAssignment", b" " * 100_000 + CREATE_MIN, "100 KB of leading whitespace"))
    bodies.append(("updateAssignment", J(dict((f"k{i}", i) for i in range(3000))), "3000 unknown keys"))
    bodies.append(("updateSubmission", J({"attachments": [{"type": "file"}] * 2000}), "2000 attachments"))
    bodies.append(("updateSubmission", J({"flags": ["late"] * 2000 + ["bogus"]}), "bad flag at index 2000"))
    bodies.append(("updateAssignment", J({"assignee_ids": ["x"] * 1000 + [1]}), "type error at item 1000"))
    fixed = [body_draft(rng, OP[name], body, note) for name, body, note in bodies]

    def make() -> Draft:
        model = rng.choice(("assignment", "submission"))
        op = model_op(rng, model)
        pairs = [(k, J(v)) for k, v in valid_pairs(model, rng, create=op.name == "createAssignment")]
        fields = list(MODEL_FIELDS[model])
        trick = rng.randrange(7)
        if trick == 0:
            name = rng.choice(fields)
            key = fold_key(rng, name)
            pairs.insert(
                rng.randint(0, len(pairs)), (key, J(weird_value(rng, MODEL_FIELDS[model][name], name)))
            )
            note = f"folded key {key!r}"
        elif trick == 1:
            name = rng.choice(fields)
            kind = MODEL_FIELDS[model][name]
            for _ in range(rng.randint(2, 3)):
                value = weird_value(rng, kind, name) if rng.random() < 0.5 else valid_value(kind, name, rng)
                pairs.insert(rng.randint(0, len(pairs)), (name, J(value)))
            note = f"duplicate {name}"
        elif trick == 2:
            name = rng.choice([f for f, k in MODEL_FIELDS[model].items() if k in ("string", "date", "enum")])
            raw = rng.choice(INVALID_UTF8 + SURROGATES)
            pairs.insert(rng.randint(0, len(pairs)), (name, b'"' + raw + b'"'))
            note = f"{name} with {raw!r}"
        elif trick in (3, 5):
            name = rng.choice([f for f, k in MODEL_FIELDS[model].items() if k in ("int", "float")])
            lit = rng.choice(INT64_EDGES + FLOAT32_EDGES) if trick == 3 else random_number(rng)
            pairs.insert(rng.randint(0, len(pairs)), (name, lit))
            note = f"{name} = {lit!r}"
        elif trick == 6:
            name = rng.choice([f for f, k in MODEL_FIELDS[model].items() if k in ("string", "date", "enum")])
            text = noisy(rng, str(valid_value(MODEL_FIELDS[model][name], name, rng)))
            pairs.insert(rng.randint(0, len(pairs)), (name, text))
            note = f"{name} = {text!r}"
        else:
            body = J(Obj(tuple(pairs)))
            tail = rng.choice((b" x", b"{", b"}", b"[]", b"\x00", b" null", b"\n\n"))
            return body_draft(rng, op, body + tail, f"trailing {tail!r}")
        return body_draft(rng, op, J(Obj(tuple(pairs))), note)

    return fixed, make


def random_codepoint(rng: random.Random) -> str:
    """A code point from the ranges where printability and quoting differ most."""
    pick = rng.randrange(6)
    if pick == 0:
        return chr(rng.choice((*range(0x20), 0x7F)))
    if pick == 1:
        return chr(rng.randint(0x80, 0x2FF))
    if pick == 2:
        return rng.choice(
            ("\u00ad", "\u0378", "\ufeff", "\u2028", "\u2029", "\ufffd", "\u200b", "\u061c", "\u180e")
        )
    if pick == 3:
        return chr(0xDC80 + rng.randrange(0x80))  # a raw byte >= 0x80 (invalid UTF-8 on the wire)
    if pick == 4:
        return chr(
            rng.choice((rng.randint(0xE000, 0xF8FF), rng.randint(0x1F300, 0x1FAFF), 0x10FFFF, 0xE0001))
        )
    cp = rng.randint(0x300, 0x10FFFF)
    return chr(cp) if not 0xD800 <= cp <= 0xDFFF else "\u00e9"


_ASCII_NOISE = "".join(chr(c) for c in range(0x21, 0x7F) if not chr(c).isdigit())  # digits could move a year


def noisy(rng: random.Random, text: str, count: int = 0) -> str:
    """`text` with one to three random characters (never a digit) inserted or substituted."""
    chars = list(text)
    for _ in range(count or rng.randint(1, 3)):
        i = rng.randint(0, len(chars))
        c = random_codepoint(rng) if rng.random() < 0.7 else rng.choice(_ASCII_NOISE)
        if chars and i < len(chars) and rng.random() < 0.5:
            chars[i] = c
        else:
            chars.insert(i, c)
    return "".join(chars)


def pct(text: str) -> str:
    """Every byte of `text` (UTF-8; raw bytes from surrogateescape) that is not unreserved, %-encoded."""
    return quote(text.encode("utf-8", "surrogateescape"), safe="")


def random_number(rng: random.Random) -> bytes:
    """A JSON number literal (sometimes malformed) with random digits, fraction and exponent."""
    out = rng.choice(("", "", "-", "+", "--"))
    out += rng.choice(("0", "1", "9", "00", "")) if rng.random() < 0.2 else ""
    out += "".join(rng.choice("0123456789") for _ in range(rng.choice((1, 1, 2, 7, 10, 19, 20, 39, 40))))
    if rng.random() < 0.5:
        out += "." + "".join(rng.choice("0123456789") for _ in range(rng.choice((0, 1, 3, 9, 17, 30))))
    if rng.random() < 0.4:
        digits = "".join(rng.choice("0123456789") for _ in range(rng.choice((0, 1, 2, 3, 4))))
        out += rng.choice("eE") + rng.choice(("", "+", "-")) + digits
    return out.encode()


def fold_key(rng: random.Random, name: str) -> str:
    """`name` respelled: ASCII case flips, and Unicode letters that some case-foldings equate with ASCII."""
    subs = {"s": ("S", "ſ", "ѕ", "ß"), "i": ("I", "ı", "İ"), "k": ("K", "\u212a"), "t": ("T", "ť")}
    out = []
    for c in name:
        if c in subs and rng.random() < 0.3:
            out.append(rng.choice(subs[c]))
        elif rng.random() < 0.4:
            out.append(c.swapcase())
        else:
            out.append(c)
    return "".join(out)


def weird_value(rng: random.Random, kind: str, name: str) -> object:
    """A value likely to fail decoding or validation for a field of this kind."""
    pools: dict[str, tuple[object, ...]] = {
        "string": (1, 2.5, True, [], {}, None, "ok", ["x"]),
        "date": ("bogus", "2099-02-30", 1, None, "", "2001-01-01T00:00:00Z", FUTURE, [], "2099-13-01"),
        "int": ("1", 2.5, b"1e2", b"9223372036854775808", True, None, 3, []),
        "float": ("1", b"1e39", True, None, 9.5, {}, b"-1e39"),
        "enum": ("bogus", "", None, 1, ENUMS.get(name, ("x",))[0], "ALL", []),
        "enums": (["bogus"], [None], [""], "link", [1], [], None, [[]]),
        "strings": ([1], "x", [None], [], [{}], None),
        "attachments": ([{"type": "link"}], [{"type": "bogus"}], [1], {}, [None], [{"title": 1}], [], None),
        "atype": ("link", "", "FILE", 1, None),
    }
    return rng.choice(pools[kind])


# --- wrong JSON types -----------------------------------------------------------------------------

WRONG_KINDS: tuple[tuple[str, bytes], ...] = (
    ("string", b'"x"'),
    ("number", b"7"),
    ("fraction", b"2.5"),
    ("negative", b"-3"),
    ("true", b"true"),
    ("false", b"false"),
    ("empty array", b"[]"),
    ("array", b'["x"]'),
    ("number array", b"[1]"),
    ("empty object", b"{}"),
    ("object", b'{"a":1}'),
    ("null", b"null"),
)


def fam_types(rng: random.Random) -> tuple[list[Draft], Callable[[], Draft]]:
    fixed: list[Draft] = []
    for model, fields in MODEL_FIELDS.items():
        for name in fields:
            for kind_name, raw in WRONG_KINDS:
                op = model_op(rng, model)
                pairs = [
                    (k, J(v))
                    for k, v in valid_pairs(model, rng, create=op.name == "createAssignment", extra=0.2)
                    if k != name
                ]
                pairs.insert(rng.randint(0, len(pairs)), (name, raw))
                fixed.append(body_draft(rng, op, J(Obj(tuple(pairs))), f"{name} as {kind_name}"))
            if fields[name] in ("strings", "enums", "attachments"):
                for kind_name, raw in WRONG_KINDS:
                    op = model_op(rng, model)
                    items = [J(valid_value(fields[name], name, rng)), raw] if rng.random() < 0.5 else [raw]
                    body = b"{" + jstr(name) + b":[" + b",".join(i for i in items if i != b"[]") + b"]}"
                    fixed.append(body_draft(rng, op, body, f"{name} item as {kind_name}"))
    for name in ATTACHMENT_FIELDS:
        for kind_name, raw in WRONG_KINDS:
            for op in BODY_OPS:
                att = (
                    b'{"type":"file",' + jstr(name) + b":" + raw + b"}"
                    if name != "type"
                    else b'{"type":' + raw + b"}"
                )
                body = b'{"attachments":[' + att + b"]}"
                fixed.append(body_draft(rng, op, body, f"attachments.{name} as {kind_name}"))

    def make() -> Draft:
        model = rng.choice(("assignment", "submission"))
        op = model_op(rng, model)
        fields = MODEL_FIELDS[model]
        pairs = [
            (k, J(v)) for k, v in valid_pairs(model, rng, create=op.name == "createAssignment", extra=0.3)
        ]
        names = rng.sample(list(fields), rng.randint(1, 3))
        for name in names:
            pairs.insert(rng.randint(0, len(pairs)), (name, rng.choice(WRONG_KINDS)[1]))
        extra = rng.randrange(4)
        note = f"wrong types for {', '.join(names)}"
        if extra == 0:
            d = rng.choice(DATE_FIELDS[model])
            pairs.insert(
                rng.randint(0, len(pairs)),
                (d, jstr(rng.choice(("bogus", "2099-02-30", "2099-13-01T00:00:00Z")))),
            )
            note += f" + bad date {d}"
        elif extra == 1:
            att = J(Obj((("type", "file"), (rng.choice(list(ATTACHMENT_FIELDS)), b"1"))))
            pairs.insert(rng.randint(0, len(pairs)), ("attachments", b"[" + att + b"]"))
            note += " + attachment type error"
        body = J(Obj(tuple(pairs)))
        if extra == 2:
            body = body[:-1] + b',"x":tru}'
            note += " + later syntax error"
        return body_draft(rng, op, body, note)

    return fixed, make


# --- enums ----------------------------------------------------------------------------------------


def enum_pool(values: tuple[str, ...]) -> list[object]:
    pool: list[object] = list(values)
    for v in values:
        pool += [v.upper(), v.capitalize(), v + " ", " " + v, v.replace("_", "-"), v + "\u0000", v + "s"]
    pool += [
        "bogus",
        "",
        None,
        "<string>",
        "ALL_STUDENTS",
        "pass-fail",
        "letter grade",
        "ａｌｌ",
        "\u017ftate",
        "null",
        "undefined",
    ]
    return pool


def fam_enums(rng: random.Random) -> tuple[list[Draft], Callable[[], Draft]]:
    fixed: list[Draft] = []
    scalar = (("assignment", "assignee_mode"), ("assignment", "grading_type"), ("submission", "state"))
    for model, name in scalar:
        for value in enum_pool(ENUMS[name]):
            op = model_op(rng, model)
            pairs = valid_pairs(model, rng, create=op.name == "createAssignment", extra=0.2)
            pairs = [(k, v) for k, v in pairs if k != name]
            pairs.insert(rng.randint(0, len(pairs)), (name, value))
            fixed.append(body_draft(rng, op, J(Obj(tuple(pairs))), f"{name} = {value!r}"))
    for model, name in (("assignment", "submission_types"), ("submission", "flags")):
        values = ENUMS[name]
        bad_items: tuple[object, ...] = ("bogus", "", None, values[0].upper(), "Link", " file")
        for length in range(1, 5):
            for index in range(length):
                for bad in bad_items:
                    items: list[object] = [rng.choice(values) for _ in range(length)]
                    items[index] = bad
                    op = model_op(rng, model)
                    body = J(Obj(((name, items),)))
                    fixed.append(body_draft(rng, op, body, f"{name}[{index}] of {length} = {bad!r}"))
        for items in ([], list(values), [values[0]] * 5, ["bogus", "bogus"], [None, None], ["", "bogus"]):
            fixed.append(body_draft(rng, model_op(rng, model), J({name: items}), f"{name} = {items!r}"))
    atypes: tuple[object, ...] = ("file", "link", "text", "", None, "FILE", "File", "bogus", "drive", "url")
    for op in BODY_OPS:
        for t in atypes:
            fixed.append(
                body_draft(
                    rng, op, J({"attachments": [{"type": t, "url": "https://x"}]}), f"attachment type {t!r}"
                )
            )
        for t1 in ("file", "link", "bogus", ""):
            for t2 in ("file", "link", "bogus", ""):
                body = J({"attachments": [{"type": t1}, {"type": t2}]})
                fixed.append(body_draft(rng, op, body, f"attachment types {t1!r}, {t2!r}"))
        fixed.append(body_draft(rng, op, b'{"attachments":[{}]}', "attachment without type"))
        fixed.append(body_draft(rng, op, b'{"attachments":[null]}', "null attachment"))
        fixed.append(
            body_draft(rng, op, b'{"attachments":[null,{"type":"bogus"}]}', "null then bad attachment")
        )

    def make() -> Draft:
        model = rng.choice(("assignment", "submission"))
        op = model_op(rng, model)
        pairs = valid_pairs(model, rng, create=op.name == "createAssignment", extra=0.15)
        names = [*ENUM_FIELDS[model], "attachments"]
        chosen = rng.sample(names, rng.randint(1, len(names)))
        pairs = [(k, v) for k, v in pairs if k not in chosen]
        for name in chosen:
            value: object
            if name == "attachments":
                value = [{"type": rng.choice(atypes)} for _ in range(rng.randint(1, 3))]
            elif name in ("submission_types", "flags"):
                pool = enum_pool(ENUMS[name])
                value = [
                    rng.choice(pool) if rng.random() < 0.3 else rng.choice(ENUMS[name])
                    for _ in range(rng.randint(0, 4))
                ]
            else:
                value = rng.choice(enum_pool(ENUMS[name]))
            pairs.insert(rng.randint(0, len(pairs)), (name, value))
        return body_draft(rng, op, J(Obj(tuple(pairs))), f"enums {', '.join(chosen)}")

    return fixed, make


# --- dates ----------------------------------------------------------------------------------------

DATE_STRINGS: tuple[str, ...] = (
    "2099-05-01T17:00:00.000000Z",
    "2099-05-01T17:00:00.000000+02:00",
    "2099-05-01T17:00:00.000000+0200",
    "2099-05-01T17:00:00.000Z",
    "2099-05-01T17:00:00.000-07:00",
    "2099-05-01T17:00:00.000-0700",
    "2099-05-01T17:00:00Z",
    "2099-05-01T17:00:00+05:30",
    "2099-05-01T17:00:00.123456789Z",
    "2099-05-01T17:00:00.1Z",
    "2099-05-01T17:00:00.1234567891Z",
    "2099-05-01T17:00:00",
    "2099-05-01T17:00:00.5",
    "2099-05-01T17:00Z",
    "2099-05-01T17:00",
    "2099-05-01 17:00:00",
    "2099-05-01 17:00:00.5",
    "2099-05-01",
    "2099-02-29",
    "2096-02-29",
    "2096-02-29T12:00:00Z",
    "2100-02-29",
    "2000-02-29",
    "2000-02-29T00:00:00Z",
    "2019-02-29",
    "2099-02-30T00:00:00Z",
    "2099-04-31",
    "2099-06-31T10:00:00+01:00",
    "2099-13-01",
    "2099-00-10",
    "2099-01-00",
    "2099-01-32",
    "2099-05-01T24:00:00Z",
    "2099-05-01T23:60:00Z",
    "2099-05-01T23:59:60Z",
    "2099-05-01T25:00",
    "2099-05-01T7:00:00Z",
    "2099-5-1",
    "2099-05-1",
    "2099-05-01T17:00:00+24:00",
    "2099-05-01T17:00:00+99:99",
    "2099-05-01T17:00:00-00:00",
    "2099-05-01T17:00:00+00:00",
    "2099-05-01T17:00:00+23:59",
    "2099-05-01T17:00:00+14:00",
    "2099-05-01T17:00:00-12:00",
    "2099-05-01T17:00:00+1:00",
    "2099-05-01T17:00:00+01",
    "2099-05-01T17:00:00+0100",
    "2099-05-01T17:00:00.000+2400",
    "2099-05-01T17:00:00.000000+9999",
    "2099-05-01T17:00:00+25:00",
    "2099-05-01T17:00:00+00:60",
    "2099-05-01T17:00:00+00:61",
    "2099-05-01T17:00:00-24:01",
    "2099-05-01T17:00:00Z+01:00",
    "2099-05-01T17:00:00z",
    "2099-05-01t17:00:00Z",
    "2099-05-01T17:00:00 Z",
    "2099-05-01T17:00:00UTC",
    "2099-05-01T17:00:00+01:00:00",
    "Tue May  1 17:00:00 UTC 2099",
    "Fri, 01 May 2099 17:00:00 +0000",
    "2099-05-01T17:00:00,123456789+00:00",
    "2099-05-01 17:00:00+00:00",
    "2099-05-01 17:00:00.123456789+00:00",
    "2099-05-01 17:00:00.800140+00:00",
    "4081424400",
    "2099-05-01T17:00:00.000Z ",
    " 2099-05-01",
    "2099-05-01\n",
    "Fri May 01 2099 17:00:00 GMT+0000 (Coordinated Universal Time)",
    "05/01/2099",
    "2099/05/01",
    "01.05.2099",
    "2099-05-01T17:00:00.000000000000Z",
    "May 1, 2099",
    "2099-W18-5",
    "2099-121",
    "",
    " ",
    "null",
    "now",
    "tomorrow",
    "2099",
    "2099-05",
    "2099-05-01T",
    "2099-05-01T17",
    "2099-05-01T17:",
    "2099-05-01T17:00:",
    "2099-05-01T17:00:0",
    "2099-05-01T17:00:00.",
    "2099-05-01T17:00:00.Z",
    "not a date",
    "<datetime>",
    "２０９９-05-01",
    "2099-05-01T17:00:00\u0000",
    "2099-05-01T17:00:00Z\udcff",
    "\udcc3",
    "+2099-05-01",
    "-0001-01-01T00:00:00Z",
    "99-05-01",
    "0001-01-01T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "0000-01-01",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-23:59",
    "9999-12-31T23:59:59.999999999-00:01",
    "0001-01-01T00:00:00+23:59",
    "0001-01-01T00:00:00.000001+00:01",
    "1970-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "10000-01-01T00:00:00Z",
    "1900-01-01",
    "2001-02-03T04:05:06Z",
    "2019-12-31T23:59:59.999999999Z",
    "2001-02-03T04:05:06.000+0000",
    "2099-05-01T17:00:00.000000-0000",
    "2099-05-01T17:00:00Z\u2028",
    "2099-05-01T17:00:00+05:30\t",
    '2099-05-01T17:00:00"',
    "2099-05-01T17:00:00\\",
    "2099-05-01T17:00:00<>&",
    "Ωmega 2099",
)


def random_date(rng: random.Random) -> str:
    """A date string from the far windows in a random layout (some invalid)."""
    year = rng.choice(
        (rng.randint(1971, PAST_YEAR_MAX), rng.randint(FUTURE_YEAR_MIN, 2199), rng.choice((1, 1000, 9999)))
    )
    month = rng.choice((rng.randint(1, 12), 0, 13, 2))
    day = rng.choice((rng.randint(1, 28), 29, 30, 31, 0, 32))
    hour, minute, second = (
        rng.choice((rng.randint(0, 23), 24)),
        rng.choice((rng.randint(0, 59), 60)),
        rng.choice((rng.randint(0, 59), 60)),
    )
    frac = rng.choice(("", ".0", ".000", ".123456", ".123456789", "." + "9" * rng.randint(1, 12)))
    sign = rng.choice("+-")
    zone = rng.choice(
        (
            "Z",
            "",
            f"{sign}{rng.randint(0, 14):02d}:{rng.choice((0, 30, 45)):02d}",
            f"{sign}{rng.randint(0, 14):02d}{rng.choice((0, 30)):02d}",
            f"{sign}{rng.randint(0, 99):02d}:{rng.randint(0, 99):02d}",
            "z",
            "+00",
        )
    )
    d = f"{year:04d}-{month:02d}-{day:02d}"
    form = rng.randrange(7)
    if form == 0:
        return d
    if form == 1:
        return f"{d}T{hour:02d}:{minute:02d}"
    if form == 2:
        return f"{d}T{hour:02d}:{minute:02d}Z"
    if form == 3:
        return f"{d} {hour:02d}:{minute:02d}:{second:02d}"
    return f"{d}T{hour:02d}:{minute:02d}:{second:02d}{frac}{zone}"


def fam_dates(rng: random.Random) -> tuple[list[Draft], Callable[[], Draft]]:
    fixed: list[Draft] = []
    for text in DATE_STRINGS:
        op = rng.choice(BODY_OPS)
        model = op.model or "assignment"
        field = rng.choice(DATE_FIELDS[model])
        pairs = valid_pairs(model, rng, create=op.name == "createAssignment", extra=0.1)
        pairs = [(k, v) for k, v in pairs if k != field]
        pairs.insert(rng.randint(0, len(pairs)), (field, text))
        fixed.append(body_draft(rng, op, J(Obj(tuple(pairs))), f"{field} = {text!r}"))
        # The same value as create's due_date, with everything else valid.
        body = J({"title": "Quiz", "description": "d", "due_date": text})
        fixed.append(body_draft(rng, OP["createAssignment"], body, f"create due_date = {text!r}"))
    for kind_name, raw in WRONG_KINDS:
        for op in BODY_OPS:
            field = (op.model and rng.choice(DATE_FIELDS[op.model])) or "due_date"
            fixed.append(
                body_draft(rng, op, b"{" + jstr(field) + b":" + raw + b"}", f"{field} as {kind_name}")
            )

    def make() -> Draft:
        op = rng.choice(BODY_OPS)
        model = op.model or "assignment"
        pairs = valid_pairs(model, rng, create=op.name == "createAssignment", extra=0.2)
        fields = DATE_FIELDS[model]
        chosen = rng.sample(fields, rng.randint(1, len(fields)))
        pairs = [(k, v) for k, v in pairs if k not in chosen]
        for field in chosen:
            text = rng.choice(DATE_STRINGS) if rng.random() < 0.3 else random_date(rng)
            if rng.random() < 0.15:
                text = noisy(rng, text)
            pairs.insert(rng.randint(0, len(pairs)), (field, text))
        if rng.random() < 0.2:
            name = rng.choice(list(MODEL_FIELDS[model]))
            pairs.insert(rng.randint(0, len(pairs)), (name, rng.choice(WRONG_KINDS)[1]))
        return body_draft(rng, op, J(Obj(tuple(pairs))), f"dates {', '.join(chosen)}")

    return fixed, make


# --- create rules ---------------------------------------------------------------------------------

REQ_VALUES: dict[str, tuple[tuple[str, object], ...]] = {
    "title": (("absent", ...), ("null", None), ("empty", ""), ("set", "Quiz 1")),
    "description": (("absent", ...), ("null", None), ("empty", ""), ("set", "Chapter 3")),
    "due_date": (
        ("absent", ...),
        ("null", None),
        ("empty", ""),
        ("future", FUTURE),
        ("past", PAST),
        ("epoch", "1970-01-01T00:00:00Z"),
        ("bad", "2099-02-30"),
        ("date-only past", "2015-06-01"),
        ("year 1", "0001-01-01T00:00:00Z"),
    ),
}


def fam_create_rules(rng: random.Random) -> tuple[list[Draft], Callable[[], Draft]]:
    fixed: list[Draft] = []
    op = OP["createAssignment"]
    for tn, tv in REQ_VALUES["title"]:
        for dn, dv in REQ_VALUES["description"]:
            for un, uv in REQ_VALUES["due_date"]:
                pairs = [
                    (k, v) for k, v in (("title", tv), ("description", dv), ("due_date", uv)) if v is not ...
                ]
                if rng.random() < 0.5:
                    rng.shuffle(pairs)
                if rng.random() < 0.3:
                    extra = valid_pairs("assignment", rng, create=False, extra=0.2)
                    pairs += [(k, v) for k, v in extra if k not in ("title", "description", "due_date")]
                note = f"title {tn}, description {dn}, due_date {un}"
                fixed.append(body_draft(rng, op, J(Obj(tuple(pairs))), note))
                if un in ("past", "future") and tn == dn == "set":
                    fixed.append(
                        body_draft(rng, OP["updateAssignment"], J(Obj(tuple(pairs))), "PATCH " + note)
                    )

    def make() -> Draft:
        pairs: list[tuple[str, object]] = []
        notes = []
        for name in ("title", "description", "due_date"):
            label, value = rng.choice(REQ_VALUES[name])
            if name == "due_date" and label in ("future", "past") and rng.random() < 0.5:
                value = random_date(rng)
                label = f"random {value}"
            notes.append(f"{name} {label}")
            if value is not ...:
                key = name.upper() if rng.random() < 0.1 else name
                pairs.append((key, value))
        pairs += [
            (k, v)
            for k, v in valid_pairs("assignment", rng, create=False, extra=0.15)
            if k not in ("title", "description", "due_date")
        ]
        rng.shuffle(pairs)
        if rng.random() < 0.2:
            pairs.append(
                (rng.choice(("assignee_mode", "grading_type")), rng.choice(("", "bogus", None, "all")))
            )
            notes.append("+ enum")
        return body_draft(rng, op, J(Obj(tuple(pairs))), ", ".join(notes))

    return fixed, make


# --- ids ------------------------------------------------------------------------------------------

MONGO_VARIANTS: tuple[str, ...] = (
    SECTION,
    SECTION.upper(),
    "5F1b2C3d4E5f6A7b8C9d0E1f",
    "000000000000000000000000",
    "ffffffffffffffffffffffff",
    SECTION[:-1],
    SECTION + "0",
    SECTION[:-1] + "g",
    "zzzzzzzzzzzzzzzzzzzzzzzz",
    "5f1b2c3d-4e5f-6a7b-8c9d-0e1f",
    "%3Cmongo-id%3E",
    "%7B%7Bsection_id%7D%7D",
    ":section_id",
    "undefined",
    "null",
    "123",
    "x",
    "%35f1b2c3d4e5f6a7b8c9d0e1f",
    SECTION[:-1] + "%66",
    SECTION[:12] + "%2F" + SECTION[12:],
    SECTION[:12] + "%2f" + SECTION[12:],
    "%00" + SECTION[1:],
    SECTION + "%00",
    SECTION[:-2] + "%zz",
    SECTION[:-1] + "%",
    SECTION[:-2] + "%C3%A9",
    "%FF" * 24,
    SECTION[:-3] + "%E2%80%A8",
    "%22quoted%22",
    "%5C",
    "a%20b",
    "+",
    "~",
    "a;b",
    "%3B",
    SECTION[:-1] + "\udcc3\udca9",
    "[x]",
    "%5Bx%5D",
    "'quote'",
    "(x)",
    "*",
    "!",
    "$",
    "@",
    "=",
    ",",
    "&amp;",
    "...",
    "%2e",
    "%2E%2E",
    "%09" + SECTION[1:],
    "%7F" + SECTION[1:],
    SECTION[:-1] + "%0A",
    "%E2%80%8B" + SECTION,
    "٥" + SECTION[1:],
    "%D9%A5" + SECTION[1:],
    "ａ" * 24,
    SECTION + SECTION,
    "0x" + SECTION[2:],
    "-" + SECTION[1:],
    SECTION.replace("f", "F"),
    "%2B" + SECTION[1:],
)
UUID_VARIANTS: tuple[str, ...] = (
    ASSIGNMENT,
    ASSIGNMENT.upper(),
    "6A1e9F3c-2B7d-4C8e-9F01-23456789AbCd",
    "%7B" + ASSIGNMENT + "%7D",
    "{" + ASSIGNMENT + "}",
    "(" + ASSIGNMENT + ")",
    "x" + ASSIGNMENT + "y",
    "urn:uuid:" + ASSIGNMENT,
    "URN:UUID:" + ASSIGNMENT,
    "urn:uuid:" + ASSIGNMENT.upper(),
    "urn%3Auuid%3A" + ASSIGNMENT,
    "uuid:" + ASSIGNMENT,
    ASSIGNMENT.replace("-", ""),
    ASSIGNMENT.replace("-", "").upper(),
    "abc",
    "123",
    ASSIGNMENT[:-1],
    ASSIGNMENT + "0",
    ASSIGNMENT[:-1] + "g",
    "6a1e9f3c2b7d-4c8e-9f01-23456789abcd-",
    "6a1e9f3c-2b7d4c8e-9f01-23456789abcd",
    "%7B%7Bassignment_id%7D%7D",
    "{{assignment_id}}",
    ":assignment_id",
    "undefined",
    "null",
    "00000000-0000-0000-0000-000000000000",
    ASSIGNMENT.replace("-", "%2D"),
    "%36" + ASSIGNMENT[1:],
    ASSIGNMENT[:-2] + "%C3%A9",
    ASSIGNMENT[:-1] + "%00",
    "%00" + ASSIGNMENT + "%00",
    ASSIGNMENT[:8] + "%2F" + ASSIGNMENT[9:],
    ASSIGNMENT + "%20",
    "{" + ASSIGNMENT,
    ASSIGNMENT.replace("-", "") + "00",
    ASSIGNMENT.replace("-", "")[:-1] + "g",
    "%3Cstring%3E",
    "6a1e9f3c-2b7d-4c8e-9f01-23456789abcd%0A",
    "ｘ" + ASSIGNMENT[1:],
    "%E2%80%A8" + ASSIGNMENT[3:],
    ASSIGNMENT[:-1] + "\udcc3",
    "%5B" + ASSIGNMENT + "%5D",
    "%3C" + ASSIGNMENT + "%3E",
    "%22" + ASSIGNMENT + "%22",
    "urn:uuid:" + ASSIGNMENT + "x",
    "urn-uuid-" + ASSIGNMENT,
    "a" * 36,
    "-" * 36,
    "." * 36,
    "%2E",
)


def fam_ids(rng: random.Random) -> tuple[list[Draft], Callable[[], Draft]]:
    fixed: list[Draft] = []

    def draft(op: Op, s: str = SECTION, a: str = ASSIGNMENT, u: str = USER, note: str = "") -> Draft:
        body = None
        if op.model is not None:
            body = J(Obj(tuple(valid_pairs(op.model, rng, create=op.name == "createAssignment", extra=0.2))))
        return body_draft(rng, op, body, note, path=op.path(s, a, u))

    for op in OPS:
        for s in MONGO_VARIANTS:
            fixed.append(draft(op, s=s, note=f"section_id {s!r}"))
        if "{a}" in op.template:
            for a in UUID_VARIANTS:
                fixed.append(draft(op, a=a, note=f"assignment_id {a!r}"))
        if "{u}" in op.template:
            for u in MONGO_VARIANTS:
                fixed.append(draft(op, u=u, note=f"user_id {u!r}"))

    def make() -> Draft:
        op = rng.choice(OPS)
        s = rng.choice(MONGO_VARIANTS) if rng.random() < 0.6 else SECTION
        a = rng.choice(UUID_VARIANTS) if rng.random() < 0.6 else ASSIGNMENT
        u = rng.choice(MONGO_VARIANTS) if rng.random() < 0.6 else USER
        if rng.random() < 0.2:
            s = pct(noisy(rng, SECTION))
        if rng.random() < 0.1:
            a = pct(noisy(rng, ASSIGNMENT))
        if rng.random() < 0.2:
            u = pct(noisy(rng, USER))
        d = draft(op, s, a, u, f"ids {s!r} {a!r} {u!r}")
        if op.model is not None and rng.random() < 0.4:
            bad = rng.choice(
                (
                    b"{",
                    b'{"title":1}',
                    b"",
                    b'{"state":"bogus","assignee_mode":"bogus"}',
                    b"[]",
                    b'{"due_date":"x"}',
                    b'{"override_due_date":"2099-02-30"}',
                )
            )
            d = Draft(d.method, d.target, d.headers, bad, d.note + f" + body {bad!r}")
        return d

    return fixed, make


# --- query ----------------------------------------------------------------------------------------

LIMIT_QUERIES: tuple[str, ...] = (
    "limit=1",
    "limit=50",
    "limit=100",
    "limit=0",
    "limit=101",
    "limit=-1",
    "limit=abc",
    "limit=",
    "limit",
    "limit=+5",
    "limit=%2B5",
    "limit=1e2",
    "limit=99999999999999999999",
    "limit=9223372036854775807",
    "limit=-9223372036854775808",
    "limit=9223372036854775808",
    "limit=-9223372036854775809",
    "limit=5&limit=abc",
    "limit=abc&limit=5",
    "limit=5;x=1",
    "limit=abc;x",
    "x=1;limit=abc",
    "limit=%zz",
    "limit=5&x=%zz",
    "x=%zz&limit=abc",
    "limit=%35",
    "limit=%205",
    "limit=5%20",
    "limit=0x10",
    "limit=1_0",
    "limit=05",
    "limit=-0",
    "limit=+0",
    "limit=%E2%91%A4",
    "limit=%D9%A1",
    "LIMIT=abc",
    "Limit=0",
    "limit[]=5",
    "limit=5.0",
    "limit=1.5",
    "limit=%00",
    "cursor=abc",
    "cursor=abc&limit=0",
    "starting_after=5f1b2c3d4e5f6a7b8c9d0e2a&limit=1000",
    "limit=1000&starting_after=5f1b2c3d4e5f6a7b8c9d0e2a",
    "",
    "&&limit=0",
    "limit=0&",
    "=",
    "&",
    "limit==5",
    "limit=5=5",
    "limit=%2D1",
    "limit=1%2B1",
    "limit=++5",
    "limit=%095",
    "limit=5&limit=",
    "limit=&limit=5",
    "limit=+",
    "limit=-",
    "limit=00000000000000000000000000000100",
    "limit=1%00",
    "lim%69t=abc",
    "limit=%E2%80%A8",
    "limit=abc%22%3C",
    "limit=\udcff",
    "limit=%FF",
    "limit=5+",
    "limit=%20",
    "limit=1,2",
    "limit=true",
    "limit=null",
)


def fam_query(rng: random.Random) -> tuple[list[Draft], Callable[[], Draft]]:
    fixed: list[Draft] = []
    op = OP["listSubmissions"]
    for q in LIMIT_QUERIES:
        target = op.path() + "?" + q if q or rng.random() < 0.5 else op.path()
        fixed.append(Draft("GET", target, headers(rng, body=False), None, f"query {q!r}"))
        bad_s = rng.choice(MONGO_VARIANTS[5:12])
        fixed.append(
            Draft(
                "GET",
                op.path(s=bad_s) + "?" + q,
                headers(rng, body=False),
                None,
                f"query {q!r} + section {bad_s!r}",
            )
        )
        bad_a = rng.choice(UUID_VARIANTS[1:20])
        fixed.append(
            Draft(
                "GET",
                op.path(a=bad_a) + "?" + q,
                headers(rng, body=False),
                None,
                f"query {q!r} + assignment {bad_a!r}",
            )
        )
    for other in OPS:
        if other is op:
            continue
        for q in ("limit=abc", "limit=0", "limit=1000", "limit=5;x", "x=%zz"):
            body = None
            if other.model is not None:
                body = J(Obj(tuple(valid_pairs(other.model, rng, create=other.name == "createAssignment"))))
            fixed.append(body_draft(rng, other, body, f"query {q!r} on {other.name}", query=q))

    def make() -> Draft:
        parts = rng.sample(LIMIT_QUERIES, rng.randint(1, 3))
        if rng.random() < 0.25:
            parts.insert(0, "limit=" + pct(noisy(rng, str(rng.choice((5, 50, 100, 0, -1))), 1)))
        q = "&".join(parts)
        s = SECTION if rng.random() < 0.7 else rng.choice(MONGO_VARIANTS)
        a = ASSIGNMENT if rng.random() < 0.7 else rng.choice(UUID_VARIANTS)
        return Draft(
            "GET", op.path(s=s, a=a) + "?" + q, headers(rng, body=False), None, f"query {q!r} ids {s!r} {a!r}"
        )

    return fixed, make


# --- methods, auth, headers, paths ----------------------------------------------------------------

METHODS = (
    "GET",
    "POST",
    "PUT",
    "PATCH",
    "DELETE",
    "HEAD",
    "OPTIONS",
    "TRACE",
    "FOO",
    "get",
    "Patch",
    "PROPFIND",
)


def route_paths() -> list[str]:
    return [t.format(s=SECTION, a=ASSIGNMENT, u=USER) for t in TEMPLATES]


def fam_methods(rng: random.Random) -> tuple[list[Draft], Callable[[], Draft]]:
    fixed: list[Draft] = []
    bodies: tuple[bytes | None, ...] = (None, b"", CREATE_MIN, b"{", GRADE_MIN)
    for path in route_paths():
        for method in METHODS:
            for auth in (True, False):
                for body in bodies:
                    if method in ("HEAD", "TRACE") and body:
                        continue
                    hs = headers(rng, body=body is not None, auth=auth)
                    fixed.append(Draft(method, path, hs, body, f"{method} auth={auth} body={body!r:.20}"))

    def make() -> Draft:
        template = rng.choice(TEMPLATES)
        path = template.format(
            s=rng.choice(MONGO_VARIANTS) if rng.random() < 0.3 else SECTION,
            a=rng.choice(UUID_VARIANTS) if rng.random() < 0.3 else ASSIGNMENT,
            u=rng.choice(MONGO_VARIANTS) if rng.random() < 0.3 else USER,
        )
        method = rng.choice(METHODS)
        body = rng.choice(bodies) if method not in ("HEAD", "TRACE") else None
        auth = rng.random() < 0.7
        return Draft(
            method, path, headers(rng, body=body is not None, auth=auth), body, f"{method} {path} auth={auth}"
        )

    return fixed, make


AUTH_VARIANTS: tuple[tuple[str, tuple[Header, ...]], ...] = (
    ("absent", ()),
    ("empty", (("Authorization", ""),)),
    ("Bearer", (("Authorization", "Bearer"),)),
    ("Bearer space", (("Authorization", "Bearer "),)),
    ("valid", (AUTH,)),
    ("Bearer<tok>", (("Authorization", f"Bearer{TOKEN}"),)),
    ("lower bearer", (("Authorization", "bearer x"),)),
    ("upper BEARER", (("Authorization", "BEARER x"),)),
    ("Basic", (("Authorization", "Basic dXNlcjpwYXNz"),)),
    ("two words", (("Authorization", "Bearer a b"),)),
    ("two spaces", (("Authorization", "Bearer  x"),)),
    ("Token", (("Authorization", "Token x"),)),
    ("tab", (("Authorization", "Bearer\tx"),)),
    ("non-ASCII", (("Authorization", "Bearer tökén"),)),
    ("two headers", (("Authorization", "Bearer a"), ("Authorization", "Bearer b"))),
    ("two headers one empty", (("Authorization", ""), ("Authorization", f"Bearer {TOKEN}"))),
    ("lower-case name", (("authorization", f"Bearer {TOKEN}"),)),
    ("upper-case name", (("AUTHORIZATION", f"Bearer {TOKEN}"),)),
    ("placeholder", (("Authorization", "Bearer <token>"),)),
    ("quoted", (("Authorization", f'Bearer "{TOKEN}"'),)),
    ("Proxy-Authorization only", (("Proxy-Authorization", f"Bearer {TOKEN}"),)),
    ("X-Authorization only", (("X-Authorization", f"Bearer {TOKEN}"),)),
    ("Bearer token with comma", (("Authorization", "Bearer a,b"),)),
)


def fam_auth(rng: random.Random) -> tuple[list[Draft], Callable[[], Draft]]:
    fixed: list[Draft] = []
    body_choices: tuple[bytes | None, ...] = (None, b"", b"{", b'{"title":1}')
    for label, auth in AUTH_VARIANTS:
        for op in OPS:
            for choice in body_choices if op.model else (None, b"x"):
                body = choice
                if op.model is not None and choice is None:
                    body = J(Obj(tuple(valid_pairs(op.model, rng, create=op.name == "createAssignment"))))
                hs = auth + headers(rng, body=body is not None, auth=False)
                fixed.append(Draft(op.method, op.path(), hs, body, f"auth {label} on {op.name}"))
        for method, path in (
            ("PUT", OP["getAssignment"].path()),
            ("OPTIONS", OP["createAssignment"].path()),
            ("HEAD", OP["getAssignment"].path()),
            ("GET", "/v3.1/sections/" + SECTION),
            ("GET", OP["getAssignment"].path(s="bad")),
        ):
            fixed.append(
                Draft(
                    method,
                    path,
                    auth + headers(rng, body=False, auth=False),
                    None,
                    f"auth {label} {method} {path}",
                )
            )

    def make() -> Draft:
        label, auth = rng.choice(AUTH_VARIANTS)
        op = rng.choice(OPS)
        s = rng.choice(MONGO_VARIANTS) if rng.random() < 0.2 else SECTION
        body: bytes | None = None
        if op.model is not None:
            body = rng.choice(
                (b"", b"{", J(Obj(tuple(valid_pairs(op.model, rng, create=op.name == "createAssignment")))))
            )
        method = op.method if rng.random() < 0.8 else rng.choice(METHODS)
        hs = auth + headers(rng, body=body is not None, auth=False, ae_rate=0.3)
        return Draft(method, op.path(s=s), hs, body, f"auth {label} {method} {op.name} section {s!r}")

    return fixed, make


# A request of each outcome class, for the header families.
def outcome_samples(rng: random.Random) -> list[tuple[str, str, str, bytes | None, bool]]:
    return [
        ("no auth", "GET", OP["getAssignment"].path(), None, False),
        ("no auth POST", "POST", OP["createAssignment"].path(), CREATE_MIN, False),
        ("405", "PUT", OP["getAssignment"].path(), None, True),
        ("405 with body", "POST", OP["getSubmission"].path(), b"{}", True),
        ("body required", "POST", OP["createAssignment"].path(), b"", True),
        ("syntax", "PATCH", OP["updateSubmission"].path(), b"{", True),
        ("type", "PATCH", OP["updateAssignment"].path(), b'{"title":1}', True),
        ("date", "PATCH", OP["updateAssignment"].path(), b'{"due_date":"2099-02-30"}', True),
        ("limit", "GET", OP["listSubmissions"].path() + "?limit=abc", None, True),
        ("limit range", "GET", OP["listSubmissions"].path() + "?limit=0", None, True),
        ("section", "GET", OP["getSubmission"].path(s="bad<&>"), None, True),
        ("enum", "PATCH", OP["updateSubmission"].path(), b'{"state":"bogus","flags":["x"]}', True),
        ("required", "POST", OP["createAssignment"].path(), b"{}", True),
        (
            "past",
            "POST",
            OP["createAssignment"].path(),
            J({"title": "a", "description": "b", "due_date": PAST}),
            True,
        ),
        ("invalid id", "GET", OP["getAssignment"].path(a="abc"), None, True),
        ("pass", "GET", OP["getAssignment"].path(), None, True),
        ("pass create", "POST", OP["createAssignment"].path(), CREATE_FULL, True),
        ("uncertain", "PATCH", OP["updateSubmission"].path(), b'{"state":""}', True),
        ("not a route", "GET", "/v3.1/districts", None, True),
        ("HEAD", "HEAD", OP["getAssignment"].path(), None, True),
    ]


def fam_headers(rng: random.Random) -> tuple[list[Draft], Callable[[], Draft]]:
    fixed: list[Draft] = []
    samples = outcome_samples(rng)
    for label, method, target, body, auth in samples:
        base = [AUTH] if auth else []
        if body is not None:
            base.append(JSON_CT)
        for ae in AE_VARIANTS:
            fixed.append(Draft(method, target, (*base, ("Accept-Encoding", ae)), body, f"{label} AE {ae!r}"))
        for ae1, ae2 in (("br", "gzip"), ("gzip", "deflate"), ("identity", "gzip"), ("", "gzip")):
            hs = (*base, ("Accept-Encoding", ae1), ("Accept-Encoding", ae2))
            fixed.append(Draft(method, target, hs, body, f"{label} AE {ae1!r} then {ae2!r}"))
        plain = tuple(h for h in base if h[0] != "Content-Type")
        for ct in CT_VARIANTS:
            hs = (*plain, ("Content-Type", ct)) if ct else plain
            fixed.append(Draft(method, target, hs, body, f"{label} CT {ct!r}"))
        hs = (*plain, ("Content-Type", "application/json"), ("Content-Type", "text/plain"))
        fixed.append(Draft(method, target, hs, body, f"{label} two Content-Type headers"))
        fixed.append(
            Draft(
                method,
                target,
                (*base, ("Accept-Encoding", "gzip"), ("Upgrade", "h2c")),
                body,
                f"{label} gzip + Upgrade",
            )
        )
        fixed.append(
            Draft(
                method,
                target,
                (*base, ("Accept-Encoding", "gzip"), ("Connection", "keep-alive")),
                body,
                f"{label} gzip + keep-alive",
            )
        )
        if body is not None:
            hs = (*base, ("Transfer-Encoding", "chunked"))
            fixed.append(Draft(method, target, hs, body, f"{label} chunked"))
            hs = (*base, ("Transfer-Encoding", "chunked"), ("Accept-Encoding", "deflate"))
            fixed.append(Draft(method, target, hs, body, f"{label} chunked + deflate"))
            fixed.append(
                Draft(
                    method, target, (*base, ("Expect", "100-continue")), body, f"{label} Expect 100-continue"
                )
            )
        fixed.append(
            Draft(method, target, (*base, ("X-Forwarded-For", "10.0.0.1")), body, f"{label} X-Forwarded-For")
        )
        fixed.append(
            Draft(
                method,
                target,
                (*base, ("Content-Encoding", "gzip")),
                body,
                f"{label} Content-Encoding gzip (not encoded)",
            )
        )
        if body:
            hs = (*base, ("Content-Encoding", "gzip"))
            fixed.append(
                Draft(method, target, hs, gzip.compress(body, mtime=0), f"{label} gzip-encoded body")
            )
            hs = (*base, ("Content-Encoding", "deflate"))
            fixed.append(Draft(method, target, hs, zlib.compress(body), f"{label} deflate-encoded body"))

    def make() -> Draft:
        label, method, target, body, auth = rng.choice(samples)
        hs: list[Header] = [AUTH] if auth else []
        for k in rng.sample(
            ("Accept-Encoding", "Content-Type", "Accept", "Accept-Language", "Cache-Control", "X-Request-Id"),
            rng.randint(1, 3),
        ):
            v = (
                rng.choice(AE_VARIANTS)
                if k == "Accept-Encoding"
                else rng.choice(CT_VARIANTS)
                if k == "Content-Type"
                else "x"
            )
            hs.append((k, v))
        rng.shuffle(hs)
        return Draft(method, target, tuple(hs), body, f"{label} headers {hs!r}")

    return fixed, make


PATH_VARIANTS: tuple[str, ...] = (
    "/v3.1/sections/{s}",
    "/v3.1/sections/{s}/assignment",
    "/v3.1/sections/{s}/Assignments",
    "/v3.1/Sections/{s}/assignments",
    "/V3.1/sections/{s}/assignments",
    "/v3.0/sections/{s}/assignments",
    "/v3.0/sections/{s}/assignments/{a}",
    "/v2.1/sections/{s}/assignments",
    "/v3.1/assignments",
    "/v3.1/assignments/{a}",
    "/v3.1/sections/{s}/assignments/{a}/submissions/{u}/extra",
    "/v3.1/sections/{s}/assignments/",
    "/v3.1/sections/{s}/assignments/{a}/",
    "/v3.1/sections/{s}/assignments/{a}/submissions/",
    "/v3.1/sections/{s}/assignments/{a}/submissions/{u}/",
    "/v3.1/sections//assignments",
    "/v3.1/sections/{s}//assignments",
    "//v3.1/sections/{s}/assignments",
    "/v3.1//sections/{s}/assignments",
    "/v3.1/sections/{s}/assignments//submissions",
    "/v3.1/sections/{s}/assignments/{a}/submissions//",
    "/v3.1/sections/./assignments",
    "/v3.1/sections/../assignments",
    "/v3.1/sections/{s}/./assignments",
    "/v3.1/sections/{s}/assignments/../assignments",
    "/v3.1/sections/{s}/assignments/{a}/./submissions",
    "/v3.1/sections/{s}/assignments/.",
    "/v3.1/sections/{s}/assignments/..",
    "/v3.1/sections/{s}/assignments/%2e",
    "/v3.1/sections/{s}/assignments/%2E%2E",
    "/v3.1/%73ections/{s}/assignments",
    "/v3.1/sections/{s}/%61ssignments",
    "/v3%2E1/sections/{s}/assignments",
    "/v3.1%2Fsections/{s}/assignments",
    "/v3.1/sections/{s}/assignments%2F{a}",
    "/",
    "/v3.1",
    "/v3.1/",
    "/v3.1/sections",
    "/v3.1/districts",
    "/v3.1/me",
    "/lms/v1/sections/{s}/assignments/{a}",
    "/v3.1/sections/{s}/assignments?",
    "/v3.1/sections/{s}/assignments/{a}?x=1#frag",
    "/v3.1/sections/{s}/assignments/{a}#frag",
    "/v3.1/sections/{s}/assignments/{a}/submissions?limit=0#x",
    "/v3.1/sections/{s}/assignments/{a}/submissions/{u}/../{u}",
    "/v3.1/sections/{s}/assignments/{a}\\",
    "/v3.1/sections/{s}/assignments/{a}%5C",
    "/v3.1/sections/{s};x/assignments",
    "/v3.1/sections/{s}/assignments;x",
    "/v3.1/sections/{s}/assignments/{a};v=1",
    "/v3.1/sections/{s}/assignments/%7B{a}%7D",
    '/v3.1/sections/{s}/assignments/"{a}"',
    "/v3.1/sections/{s}/assignments/{a}|x",
    "/v3.1/sections/{s}/assignments/{a}^",
    "/v3.1/sections/{s}/assignments/`{a}`",
    "/v3.1/sections/{s}/assignments/<{a}>",
    "/v3.1/sections/{s}/assignments/{a}/submissions/{u}%3F",
    "/v3.1/sections/{s}/assignments/{a}/submissions%3Flimit=0",
)


def fam_paths(rng: random.Random) -> tuple[list[Draft], Callable[[], Draft]]:
    fixed: list[Draft] = []
    for template in PATH_VARIANTS:
        target = template.replace("{s}", SECTION).replace("{a}", ASSIGNMENT).replace("{u}", USER)
        for method in ("GET", "POST", "PATCH", "PUT", "DELETE"):
            for auth in (True, False):
                body = CREATE_MIN if method in ("POST", "PATCH") else None
                fixed.append(
                    Draft(
                        method,
                        target,
                        headers(rng, body=body is not None, auth=auth),
                        body,
                        f"{method} {template} auth={auth}",
                    )
                )
        fixed.append(Draft("POST", target, headers(rng, body=True), b"{", f"POST {template} bad body"))
        fixed.append(Draft("GET", target, headers(rng, body=False), None, "GET " + template))

    def make() -> Draft:
        template = rng.choice(PATH_VARIANTS)
        s = rng.choice(MONGO_VARIANTS) if rng.random() < 0.3 else SECTION
        target = template.replace("{s}", s).replace("{a}", rng.choice(UUID_VARIANTS)).replace("{u}", USER)
        method = rng.choice(METHODS[:8])
        body = rng.choice((None, b"", b"{", CREATE_MIN)) if method not in ("HEAD", "TRACE") else None
        auth = rng.random() < 0.8
        return Draft(
            method,
            target,
            headers(rng, body=body is not None, auth=auth),
            body,
            f"{method} {template} auth={auth}",
        )

    return fixed, make


# --- field cases (config/examples) ----------------------------------------------------------------


def load_examples() -> list[tuple[str, Draft]]:
    out: list[tuple[str, Draft]] = []
    for path in sorted(EXAMPLES_DIR.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            if row.get("body_b64") is not None:
                body: bytes | None = base64.b64decode(row["body_b64"])
            elif row.get("body") is not None:
                body = str(row["body"]).encode("utf-8", "surrogateescape")
            else:
                body = None
            hs = tuple(
                (str(k), str(v).replace("<token>", TOKEN)) for k, v in dict(row.get("headers") or {}).items()
            )
            out.append(
                (
                    str(row["id"]),
                    Draft(str(row["method"]), str(row["path"]), hs, body, f"example {row['id']}"),
                )
            )
    return out


def fam_field_cases(rng: random.Random) -> tuple[list[Draft], Callable[[], Draft]]:
    examples = load_examples()
    fixed = [d for _, d in examples]

    def make() -> Draft:
        ident, d = rng.choice(examples)
        variant = rng.randrange(4)
        if variant == 0:
            return Draft(
                d.method,
                d.target,
                (*d.headers, ("Accept-Encoding", rng.choice(AE_VARIANTS))),
                d.body,
                f"example {ident} + AE",
            )
        if variant == 1 and d.body:
            return Draft(
                d.method,
                d.target,
                (*d.headers, ("Transfer-Encoding", "chunked")),
                d.body,
                f"example {ident} chunked",
            )
        if variant == 2 and d.body:
            body, note = mutate(rng, d.body)
            return Draft(d.method, d.target, d.headers, body, f"example {ident} {note}")
        hs = tuple(h for h in d.headers if h[0].lower() != "authorization")
        return Draft(d.method, d.target, hs, d.body, f"example {ident} without auth")

    return fixed, make


# --- several defects at once (stage order) --------------------------------------------------------


def fam_mixed(rng: random.Random) -> tuple[list[Draft], Callable[[], Draft]]:
    makers = [
        fam(random.Random(rng.random()))[1]
        for fam in (fam_json_mut, fam_types, fam_enums, fam_dates, fam_create_rules, fam_go_semantics)
    ]

    def make() -> Draft:
        op = rng.choice(OPS)
        s = rng.choice(MONGO_VARIANTS[:40]) if rng.random() < 0.4 else SECTION
        a = rng.choice(UUID_VARIANTS[:30]) if rng.random() < 0.4 else ASSIGNMENT
        u = rng.choice(MONGO_VARIANTS[:40]) if rng.random() < 0.4 else USER
        body: bytes | None = None
        if op.model is not None:
            for _ in range(20):
                d = rng.choice(makers)()
                if (op.model == "submission") == ("submissions/" in d.target):
                    body = d.body
                    break
            else:
                body = b"{}"
        query = rng.choice(LIMIT_QUERIES) if op.name == "listSubmissions" and rng.random() < 0.5 else ""
        method = op.method if rng.random() < 0.85 else rng.choice(METHODS[:8])
        auth = rng.random() < 0.9
        if op.model is None and rng.random() < 0.1:
            body = b"{}"
        target = op.path(s, a, u) + (f"?{query}" if query else "")
        hs = headers(rng, body=body is not None, auth=auth, ae_rate=0.3)
        return Draft(
            method, target, hs, body, f"mixed {method} {op.name} s={s!r} a={a!r} u={u!r} q={query!r}"
        )

    return [], make


# --- assembly -------------------------------------------------------------------------------------

Family = Callable[[random.Random], tuple[list[Draft], Callable[[], Draft]]]
FAMILIES: tuple[tuple[str, int, Family], ...] = (
    ("json_trunc", 10, fam_json_trunc),
    ("json_mut", 10, fam_json_mut),
    ("go_semantics", 10, fam_go_semantics),
    ("types", 9, fam_types),
    ("enums", 9, fam_enums),
    ("dates", 10, fam_dates),
    ("create_rules", 5, fam_create_rules),
    ("ids", 8, fam_ids),
    ("query", 5, fam_query),
    ("methods", 4, fam_methods),
    ("auth", 4, fam_auth),
    ("headers", 6, fam_headers),
    ("paths", 4, fam_paths),
    ("field_cases", 2, fam_field_cases),
    ("mixed", 4, fam_mixed),
)
FAMILY_NAMES = tuple(name for name, _, _ in FAMILIES)


def quotas(count: int, names: Sequence[str] | None = None) -> dict[str, int]:
    """Each family's share of `count` by weight; every family gets at least one case when count allows."""
    chosen = [(n, w) for n, w, _ in FAMILIES if names is None or n in names]
    total = sum(w for _, w in chosen)
    out = {n: max(1, count * w // total) if count >= len(chosen) else 0 for n, w in chosen}
    rest = count - sum(out.values())
    order = sorted(chosen, key=lambda nw: -nw[1])
    i = 0
    while rest != 0 and order:
        n = order[i % len(order)][0]
        if rest > 0:
            out[n] += 1
            rest -= 1
        elif out[n] > 1:
            out[n] -= 1
            rest += 1
        i += 1
    return out


_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def generate(seed: int, count: int, families: Sequence[str] | None = None) -> list[Case]:
    """`count` cases, spread over the families by weight; the same (seed, count) gives the same cases."""
    cases: list[Case] = []
    shares = quotas(count, families)
    for name, _, family in FAMILIES:
        if families is not None and name not in families:
            continue
        quota = shares[name]
        if quota == 0:
            continue
        rng = random.Random(f"{seed}:{name}")
        fixed, make = family(rng)
        if len(fixed) >= quota:
            picked = sorted(rng.sample(range(len(fixed)), quota))
            drafts = [fixed[i] for i in picked]
        else:
            drafts = fixed + [make() for _ in range(quota - len(fixed))]
        for i, d in enumerate(drafts):
            method = d.method
            if method == "HEAD" and _BAD_ESCAPE.search(d.target):
                method = "GET"  # net/http answers a malformed target with a body even to HEAD
            cases.append(Case(f"{name}-{i:05d}", name, method, d.target, d.headers, d.body, d.note))
    return cases


def main() -> None:
    import argparse
    import collections

    parser = argparse.ArgumentParser(description="Print a summary (or JSON lines) of generated cases.")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--jsonl", action="store_true")
    args = parser.parse_args()
    cases = generate(args.seed, args.count)
    if args.jsonl:
        for c in cases:
            print(json.dumps(c.to_json(), ensure_ascii=True))
        return
    counter = collections.Counter(c.family for c in cases)
    for name in FAMILY_NAMES:
        print(f"{name:14} {counter[name]:6}")
    print(f"{'total':14} {len(cases):6}  largest body {max(len(c.body or b'') for c in cases)} bytes")


if __name__ == "__main__":
    main()
