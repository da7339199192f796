"""The reference server answers the contract's documented examples exactly.

Checks the seed examples of clever-contract.md §3-§8 and research-notes.md §2-§4, §6 byte for
byte, a sample of the §9 uncertainty rules (answered 200 with X-Reference-Uncertain), and all
field cases (config/examples/03-field-cases.jsonl). Raw http.client requests, so every header
and byte is ours.
"""

from __future__ import annotations

import base64
import gzip
import http.client
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.reference.fixture import (
    CleverReference,
    ReferenceUnavailable,
    build_reference,
    run_reference,
)

pytestmark = pytest.mark.needs_go

SECTION = "5f1b2c3d4e5f6a7b8c9d0e1f"
USER = "5f1b2c3d4e5f6a7b8c9d0e2a"
ASSIGNMENT = "6a1e9f3c-2b7d-4c8e-9f01-23456789abcd"
CREATE = f"/v3.1/sections/{SECTION}/assignments"
ASSIGNMENT_PATH = f"{CREATE}/{ASSIGNMENT}"
SUBMISSIONS = f"{ASSIGNMENT_PATH}/submissions"
SUBMISSION = f"{SUBMISSIONS}/{USER}"
AUTH = {"Authorization": "Bearer 0123456789abcdef"}
VALID_CREATE = b'{"title":"Quiz","description":"Ch. 3","due_date":"2099-01-01T00:00:00Z"}'
# The project's copy of the real-world requests (with provenance), used by the demo too.
FIELD_CASES = Path(__file__).resolve().parents[2] / "config" / "examples" / "03-field-cases.jsonl"


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    raw_body: bytes

    def header(self, name: str) -> str | None:
        values = self.header_all(name)
        return values[0] if values else None

    def header_all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def body(self) -> bytes:
        """The body after content decoding (what the contract compares)."""
        if self.header("Content-Encoding") == "gzip":
            return gzip.decompress(self.raw_body)
        return self.raw_body

    @property
    def uncertain(self) -> str | None:
        return self.header("X-Reference-Uncertain")

    @property
    def message(self) -> str:
        return str(json.loads(self.body)["message"])


def call(
    base_url: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """One request on a fresh connection, exactly these headers (plus Host and Content-Length)."""
    parts = urlsplit(base_url)
    assert parts.hostname is not None
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in (headers if headers is not None else AUTH).items():
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return Answer(resp.status, resp.getheaders(), resp.read())
    finally:
        conn.close()


def type_error(kind: str, field: str, go_type: str) -> str:
    """encoding/json's UnmarshalTypeError text for a struct field."""
    return f"json: cannot unmarshal {kind} into Go struct field {field} of type {go_type}"


def go_message_bytes(message: str) -> bytes:
    """What wag writes: Go json.Marshal({"message": m}) (HTML-safe) plus http.Error's newline."""
    text = json.dumps({"message": message}, ensure_ascii=False, separators=(",", ":"))
    for raw, esc in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, esc)
    return text.encode() + b"\n"


def expect_400(ans: Answer, message: str) -> None:
    assert (ans.status, ans.uncertain, ans.body) == (400, None, go_message_bytes(message))
    assert ans.header("Content-Type") == "text/plain; charset=utf-8"
    assert ans.header("X-Content-Type-Options") == "nosniff"
    assert ans.header("Vary") == "Accept-Encoding"
    assert ans.header("X-Clever-Reference") == "1"


def expect_uncertain(ans: Answer, stage: str) -> None:
    assert (ans.status, ans.uncertain) == (200, stage), ans.body
    assert ans.header("Content-Type") == "application/json"
    assert ans.header("X-Clever-Reference") == "1"
    assert json.loads(ans.body)["uncertain"] == stage


def expect_success(ans: Answer) -> None:
    assert (ans.status, ans.uncertain) == (200, None), ans.body
    assert ans.header("Content-Type") == "application/json"
    assert ans.header("X-Clever-Reference") == "1"
    assert "data" in json.loads(ans.body)
    assert not ans.body.endswith(b"\n")


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def pointer_reference() -> Iterator[CleverReference]:
    """A reference pinned to one model shape: pointer $ref enums, public attachment enum."""
    try:
        with run_reference(extra_args=("-schema", "pointer")) as ref:
            yield ref
    except ReferenceUnavailable as exc:
        pytest.skip(f"Clever reference server unavailable: {exc}")


@pytest.fixture(scope="module")
def value_reference() -> Iterator[CleverReference]:
    """A reference pinned to value-typed $ref enums."""
    try:
        with run_reference(extra_args=("-schema", "value")) as ref:
            yield ref
    except ReferenceUnavailable as exc:
        pytest.skip(f"Clever reference server unavailable: {exc}")


# --- exact bytes (contract §8, research-notes §2.2, §6) -------------------------------------------


def test_wag_400_exact_bytes(clever_reference: CleverReference) -> None:
    ans = call(clever_reference.url, "POST", CREATE, b'{"assignee_mode": ,}')
    assert ans.raw_body == b'{"message":"invalid character \',\' looking for beginning of value"}\n'
    expect_400(ans, "invalid character ',' looking for beginning of value")
    assert ans.header("Content-Length") == str(len(ans.raw_body))


def test_wag_400_gzip(clever_reference: CleverReference) -> None:
    headers = {**AUTH, "Accept-Encoding": "gzip"}
    ans = call(clever_reference.url, "POST", CREATE, b"{", headers)
    assert ans.header("Content-Encoding") == "gzip"
    assert ans.raw_body[:2] == b"\x1f\x8b"
    expect_400(ans, "unexpected EOF")


def test_405_is_empty(clever_reference: CleverReference) -> None:
    ans = call(clever_reference.url, "PUT", ASSIGNMENT_PATH)
    assert (ans.status, ans.raw_body, ans.uncertain) == (405, b"", None)
    assert ans.header("Content-Length") == "0"
    assert ans.header("Content-Type") is None
    assert ans.header("Allow") is None
    assert ans.header("Vary") == "Accept-Encoding"
    assert ans.header("X-Clever-Reference") == "1"


def test_405_gzip_is_a_23_byte_stream(clever_reference: CleverReference) -> None:
    ans = call(clever_reference.url, "PUT", ASSIGNMENT_PATH, None, {**AUTH, "Accept-Encoding": "gzip"})
    assert (ans.status, ans.header("Content-Encoding"), ans.header("Content-Length")) == (405, "gzip", "23")
    assert ans.body == b""


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "PATCH", "HEAD", "PUT"])
def test_401_without_authorization(clever_reference: CleverReference, method: str) -> None:
    ans = call(clever_reference.url, method, SUBMISSION, None, {"Accept-Encoding": "gzip"})
    assert ans.status == 401
    assert ans.header("Content-Type") == "application/json; charset=utf-8"
    assert ans.header("Content-Encoding") is None
    assert ans.header("X-Clever-Reference") == "1"
    assert ans.raw_body == (b"" if method == "HEAD" else b'{"message": "No authorization provided"}')


def test_success_shapes(clever_reference: CleverReference) -> None:
    expect_success(call(clever_reference.url, "POST", CREATE, VALID_CREATE))
    expect_success(call(clever_reference.url, "GET", ASSIGNMENT_PATH))
    expect_success(call(clever_reference.url, "PATCH", SUBMISSION, b"{}"))
    listed = call(clever_reference.url, "GET", SUBMISSIONS + "?limit=100&cursor=abc")
    expect_success(listed)
    assert json.loads(listed.body) == {"data": [], "links": []}


def test_delete_success_is_empty(clever_reference: CleverReference) -> None:
    ans = call(clever_reference.url, "DELETE", ASSIGNMENT_PATH)
    assert (ans.status, ans.raw_body, ans.uncertain) == (200, b"", None)
    assert ans.header("Content-Type") is None


# --- body decoding (contract §4, research-notes §2.1, §4.2, §6) --------------------------------------

DECODE_CASES: list[tuple[bytes, str]] = [
    (b"", "request body is required, but was empty"),
    (b"   ", "EOF"),
    (b"{", "unexpected EOF"),
    (b'{"title":', "unexpected EOF"),
    (b'{"title":"abc', "unexpected EOF"),
    (b"<html>", "invalid character '<' looking for beginning of value"),
    (b'{"title":"a" : "b"}', "invalid character ':' after object key:value pair"),
    (b'{"title" "a"}', "invalid character '\"' after object key"),
    (b"{'title':1}", "invalid character '\\'' looking for beginning of object key string"),
    (b'{"t":[1 2]}', "invalid character '2' after array element"),
    (b'{"t":"a\nb"}', "invalid character '\\n' in string literal"),
    (b'{"t":"a\\ b"}', "invalid character ' ' in string escape code"),
    (b'{"t":"\\u12x4"}', "invalid character 'x' in \\u hexadecimal character escape"),
    (b'{"t":-x}', "invalid character 'x' in numeric literal"),
    # contexts the contract does not list (encoding/json/scanner.go)
    (b'{"t":1.x}', "invalid character 'x' after decimal point in numeric literal"),
    (b'{"t":1ex}', "invalid character 'x' in exponent of numeric literal"),
    (b'{"t":1e-}', "invalid character '}' in exponent of numeric literal"),
    (b"[" * 10001, "invalid character '[' exceeded max depth"),
    (b'{"t":trte}', "invalid character 't' in literal true (expecting 'u')"),
    (b'{"t":nul}', "invalid character '}' in literal null (expecting 'l')"),
    (b"\xef\xbb\xbf{}", "invalid character '\u00ef' looking for beginning of value"),
    (b"[1]", "json: cannot unmarshal array into Go value of type models.AssignmentRequest"),
    (b"123abc", "json: cannot unmarshal number into Go value of type models.AssignmentRequest"),
    (b'"x"', "json: cannot unmarshal string into Go value of type models.AssignmentRequest"),
    (
        b'{"title":5}',
        type_error("number", "AssignmentRequest.title", "string"),
    ),
    (
        b'{"TITLE":true}',
        type_error("bool", "AssignmentRequest.title", "string"),
    ),
    (
        b'{"points_possible":"1"}',
        type_error("string", "AssignmentRequest.points_possible", "float32"),
    ),
    (
        b'{"points_possible":1e39}',
        type_error("number 1e39", "AssignmentRequest.points_possible", "float32"),
    ),
    (
        b'{"max_attempts":2.5}',
        type_error("number 2.5", "AssignmentRequest.max_attempts", "int64"),
    ),
    (
        b'{"submission_types":"link"}',
        type_error("string", "AssignmentRequest.submission_types", "[]models.SubmissionType"),
    ),
    (
        b'{"submission_types":[5]}',
        type_error("number", "AssignmentRequest.submission_types", "models.SubmissionType"),
    ),
    (
        b'{"attachments":{}}',
        type_error("object", "AssignmentRequest.attachments", "[]*models.AttachmentRequest"),
    ),
    (
        b'{"attachments":[{"title":5}]}',
        type_error("number", "AttachmentRequest.attachments.title", "string"),
    ),
    (
        b'{"due_date":5}',
        type_error("number", "AssignmentRequest.due_date", "string"),
    ),
    # the first type error is reported, the whole value having been scanned for syntax
    (
        b'{"title":5,"description":[1]}',
        type_error("number", "AssignmentRequest.title", "string"),
    ),
    (b'{"title":5,"x":}', "invalid character '}' looking for beginning of value"),
    # a date error stops the decoder at once, winning over an earlier type error
    (
        b'{"title":5,"due_date":"bad"}',
        'parsing time "bad" as "2006-01-02": cannot parse "bad" as "2006"',
    ),
    (
        b'{"title":5,"due_date":7}',
        type_error("number", "AssignmentRequest.due_date", "string"),
    ),
    # duplicate keys: every occurrence is decoded
    (
        b'{"title":"a","title":5}',
        type_error("number", "AssignmentRequest.title", "string"),
    ),
]


@pytest.mark.parametrize(("body", "message"), DECODE_CASES)
def test_decode_errors(clever_reference: CleverReference, body: bytes, message: str) -> None:
    # a bad section_id too: the body is checked first (contract §3)
    expect_400(call(clever_reference.url, "POST", "/v3.1/sections/abc/assignments", body), message)


def test_submission_type_error(clever_reference: CleverReference) -> None:
    expect_400(
        call(clever_reference.url, "PATCH", SUBMISSION, b'{"grade_points":"95"}'),
        type_error("string", "SubmissionRequest.grade_points", "float32"),
    )


@pytest.mark.parametrize(
    "body",
    [
        VALID_CREATE + b" garbage",
        VALID_CREATE + b"}",
        b'{"TITLE":"a","Description":"b","DUE_DATE":"2099-01-01","unknown":[1]}',
        b'{"title":"\\ud800","description":"\xff","due_date":"2099-01-01"}',
        b'{"title":null,"title":"a","description":"b","due_date":"2099-01-01"}',
    ],
)
def test_decode_passes(clever_reference: CleverReference, body: bytes) -> None:
    expect_success(call(clever_reference.url, "POST", CREATE, body))


# --- date-time values (contract §5, research-notes §4.1) --------------------------------------------

DATE_ERRORS = [
    ("2024-02-30", 'parsing time "2024-02-30": day out of range'),
    ("2023-02-29", 'parsing time "2023-02-29": day out of range'),
    ("2024-01-32", 'parsing time "2024-01-32": day out of range'),
    ("not a date", 'parsing time "not a date" as "2006-01-02": cannot parse "not a date" as "2006"'),
    ("2024-02-30T00:00:00Z", 'parsing time "2024-02-30T00:00:00Z": extra text: "T00:00:00Z"'),
    ("2024-13-01T00:00:00Z", 'parsing time "2024-13-01T00:00:00Z": month out of range'),
    ("2024-01-01T25:00:00Z", 'parsing time "2024-01-01T25:00:00Z": extra text: "T25:00:00Z"'),
    ("2024-05-01T10:00:00+0530", 'parsing time "2024-05-01T10:00:00+0530": extra text: "T10:00:00+0530"'),
    ("caf\u00e9", 'parsing time "caf\\xc3\\xa9" as "2006-01-02": cannot parse "caf\\xc3\\xa9" as "2006"'),
]


@pytest.mark.parametrize(("value", "message"), DATE_ERRORS)
def test_date_parse_errors(clever_reference: CleverReference, value: str, message: str) -> None:
    body = json.dumps({"start_date": value}, ensure_ascii=False).encode()
    expect_400(call(clever_reference.url, "PATCH", ASSIGNMENT_PATH, body), message)


@pytest.mark.parametrize(
    "value",
    ["2024-05-01", "2024-05-01 10:00:00", "2024-05-01T10:00", "2024-05-01T10:00:00.123+05:30", "", None],
)
def test_dates_that_decode(clever_reference: CleverReference, value: str | None) -> None:
    body = json.dumps({"title": "a", "description": "b", "due_date": "2099-01-01", "start_date": value})
    expect_success(call(clever_reference.url, "POST", CREATE, body.encode()))


# --- path and query parameters (contract §3, research-notes §2.1, §6) ---------------------------------


def test_mongo_id_message_quotes_like_go(clever_reference: CleverReference) -> None:
    ans = call(clever_reference.url, "GET", "/v3.1/sections/%3Cb%3E%C3%A9%E2%80%A8%01%FF%22/assignments/x")
    assert ans.raw_body == (
        b'{"message":"section_id in path must be of type mongo-id: '
        b'\\"\\u003cb\\u003e\xc3\xa9\\\\u2028\\\\x01\\\\xff\\\\\\"\\""}\n'
    )


def test_mongo_id_accepts_upper_case_hex(clever_reference: CleverReference) -> None:
    expect_success(
        call(clever_reference.url, "GET", f"/v3.1/sections/{SECTION.upper()}/assignments/{ASSIGNMENT}")
    )


@pytest.mark.parametrize(
    ("method", "path", "message"),
    [
        (
            "GET",
            f"/v3.1/sections/{SECTION}0/assignments/{ASSIGNMENT}",
            f'section_id in path must be of type mongo-id: "{SECTION}0"',
        ),
        ("GET", f"{SUBMISSIONS}/abc", 'user_id in path must be of type mongo-id: "abc"'),
        # section_id is validated before user_id
        (
            "GET",
            f"/v3.1/sections/xyz/assignments/{ASSIGNMENT}/submissions/abc",
            'section_id in path must be of type mongo-id: "xyz"',
        ),
        ("GET", f"{SUBMISSIONS}?limit=0", "limit in query should be greater than or equal to 1"),
        ("GET", f"{SUBMISSIONS}?limit=101", "limit in query should be less than or equal to 100"),
        ("GET", f"{SUBMISSIONS}?limit=abc", 'strconv.ParseInt: parsing "abc": invalid syntax'),
        ("GET", f"{SUBMISSIONS}?limit=", 'strconv.ParseInt: parsing "": invalid syntax'),
        (
            "GET",
            f"{SUBMISSIONS}?limit=99999999999999999999",
            'strconv.ParseInt: parsing "99999999999999999999": value out of range',
        ),
        ("GET", f"{SUBMISSIONS}?limit=abc&limit=5", 'strconv.ParseInt: parsing "abc": invalid syntax'),
        # limit is parsed before section_id is validated, section_id before the range check
        (
            "GET",
            f"/v3.1/sections/abc/assignments/{ASSIGNMENT}/submissions?limit=x",
            'strconv.ParseInt: parsing "x": invalid syntax',
        ),
        (
            "GET",
            f"/v3.1/sections/abc/assignments/{ASSIGNMENT}/submissions?limit=500",
            'section_id in path must be of type mongo-id: "abc"',
        ),
        (
            "DELETE",
            f"/v3.1/sections/abc/assignments/{ASSIGNMENT}",
            'section_id in path must be of type mongo-id: "abc"',
        ),
    ],
)
def test_parameter_errors(clever_reference: CleverReference, method: str, path: str, message: str) -> None:
    expect_400(call(clever_reference.url, method, path), message)


@pytest.mark.parametrize("query", ["limit=5&limit=abc", "limit=%2B5", "limit=%zz", "LIMIT=abc", "cursor="])
def test_query_values_that_pass(clever_reference: CleverReference, query: str) -> None:
    expect_success(call(clever_reference.url, "GET", f"{SUBMISSIONS}?{query}"))


# --- schema validation (contract §6, research-notes §3) -----------------------------------------------

SCHEMA_ERRORS = [
    (
        b'{"submission_types":[""]}',
        "validation failure list:\nsubmission_types.0 in body should be one of [link file text discussion]",
    ),
    (
        b'{"submission_types":[null]}',
        "validation failure list:\nsubmission_types.0 in body should be one of [link file text discussion]",
    ),
    (
        b'{"submission_types":["link","Link","x"]}',
        "validation failure list:\nsubmission_types.1 in body should be one of [link file text discussion]",
    ),
    (
        b'{"assignee_mode":"x","grading_type":"y","submission_types":["z"]}',
        "validation failure list:\nassignee_mode in body should be one of [all individuals]\n"
        "grading_type in body should be one of [points percent pass_fail letter_grade]\n"
        "submission_types.0 in body should be one of [link file text discussion]",
    ),
    (
        b'{"grading_type":"Points","assignee_mode":"ALL"}',
        "validation failure list:\nassignee_mode in body should be one of [all individuals]\n"
        "grading_type in body should be one of [points percent pass_fail letter_grade]",
    ),
]


@pytest.mark.parametrize(("body", "message"), SCHEMA_ERRORS)
def test_schema_errors(clever_reference: CleverReference, body: bytes, message: str) -> None:
    expect_400(call(clever_reference.url, "POST", CREATE, body), message)
    # a valid body but a bad section_id: the section_id wins over the enum error
    expect_400(
        call(clever_reference.url, "POST", "/v3.1/sections/abc/assignments", body),
        'section_id in path must be of type mongo-id: "abc"',
    )


def test_submission_schema_errors(clever_reference: CleverReference) -> None:
    expect_400(
        call(clever_reference.url, "PATCH", SUBMISSION, b'{"flags":["late","nope"],"state":"graded"}'),
        "validation failure list:\nflags.1 in body should be one of [excused late missing]\n"
        "state in body should be one of [created submitted returned reclaimed]",
    )


@pytest.mark.parametrize(
    "body", [b'{"submission_types":[]}', b'{"attachments":[null,{"type":""},{"type":"file"}]}']
)
def test_schema_passes(clever_reference: CleverReference, body: bytes) -> None:
    expect_success(call(clever_reference.url, "PATCH", ASSIGNMENT_PATH, body))


def test_nested_attachment_composite(pointer_reference: CleverReference) -> None:
    """With the public spec's [file] enum the nested composite doubles the header (v0.23)."""
    expect_400(
        call(
            pointer_reference.url, "PATCH", SUBMISSION, b'{"attachments":[{"type":"file"},{"type":"link"}]}'
        ),
        "validation failure list:\nvalidation failure list:\ntype in body should be one of [file]",
    )
    expect_400(
        call(pointer_reference.url, "PATCH", SUBMISSION, b'{"attachments":[{"type":"link"}],"state":"x"}'),
        "validation failure list:\nvalidation failure list:\ntype in body should be one of [file]\n"
        "state in body should be one of [created submitted returned reclaimed]",
    )


def test_empty_enum_depends_on_model_shape(
    pointer_reference: CleverReference, value_reference: CleverReference, clever_reference: CleverReference
) -> None:
    body = b'{"state":""}'
    expect_400(
        call(pointer_reference.url, "PATCH", SUBMISSION, body),
        "validation failure list:\nstate in body should be one of [created submitted returned reclaimed]",
    )
    expect_success(call(value_reference.url, "PATCH", SUBMISSION, body))
    expect_uncertain(call(clever_reference.url, "PATCH", SUBMISSION, body), "schema")


# --- controller rules (contract §7) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{}", "missing required field(s): title, description, due_date"),
        (b"null", "missing required field(s): title, description, due_date"),
        (b'{"title":"a","description":null}', "missing required field(s): description, due_date"),
        (b'{"description":"b","due_date":"2099-01-01"}', "missing required field(s): title"),
        (
            b'{"title":"a","description":"b","due_date":"2020-01-01T00:00:00Z"}',
            "due_date must be in the future",
        ),
    ],
)
def test_create_controller_rules(clever_reference: CleverReference, body: bytes, message: str) -> None:
    expect_400(call(clever_reference.url, "POST", CREATE, body), message)


def test_due_date_skew(clever_reference: CleverReference) -> None:
    skew = timedelta(seconds=clever_reference.skew_seconds)
    now = datetime.now(UTC)

    def create(due: datetime) -> Answer:
        body = json.dumps({"title": "a", "description": "b", "due_date": iso(due)}).encode()
        return call(clever_reference.url, "POST", CREATE, body)

    expect_400(create(now - 2 * skew), "due_date must be in the future")
    expect_uncertain(create(now - skew / 2), "due_date")
    expect_uncertain(create(now + skew / 2), "due_date")
    expect_success(create(now + 2 * skew))


@pytest.mark.parametrize(
    ("assignment_id", "expected"),
    [
        (ASSIGNMENT, "ok"),
        ("00000000-0000-0000-0000-000000000000", "ok"),
        (ASSIGNMENT.upper(), "uncertain"),
        ("%7B" + ASSIGNMENT + "%7D", "uncertain"),
        ("(" + ASSIGNMENT + ")", "uncertain"),
        ("urn:UUID:" + ASSIGNMENT, "uncertain"),
        (ASSIGNMENT.replace("-", ""), "uncertain"),
        ("%7B%7Bassignment_id%7D%7D", "INVALID_ID"),
        ("not-a-uuid", "INVALID_ID"),
        (ASSIGNMENT + "0", "INVALID_ID"),
        (ASSIGNMENT.replace("-", "_"), "INVALID_ID"),
    ],
)
def test_get_assignment_id(clever_reference: CleverReference, assignment_id: str, expected: str) -> None:
    ans = call(clever_reference.url, "GET", f"{CREATE}/{assignment_id}")
    if expected == "ok":
        expect_success(ans)
    elif expected == "uncertain":
        expect_uncertain(ans, "assignment_id")
    else:
        expect_400(ans, expected)


# --- uncertainty (contract §9) -------------------------------------------------------------------------

UNCERTAIN_CASES: list[tuple[str, str, bytes | None, dict[str, str] | None, str]] = [
    ("HEAD", ASSIGNMENT_PATH, None, None, "method"),
    ("OPTIONS", ASSIGNMENT_PATH, None, None, "method"),
    ("OPTIONS", ASSIGNMENT_PATH, None, {}, "method"),
    ("TRACE", ASSIGNMENT_PATH, None, None, "method"),
    ("GET", "/v3.0/sections", None, None, "route"),
    ("GET", "/v3.0/sections", None, {}, "route"),
    ("GET", ASSIGNMENT_PATH + "/", None, None, "route"),
    ("GET", f"/v3.1/sections/{SECTION}//assignments/{ASSIGNMENT}", None, None, "route"),
    ("GET", f"{CREATE}/./{ASSIGNMENT}", None, None, "route"),
    ("GET", f"{CREATE}/%2E%2E", None, None, "route"),
    ("GET", f"{CREATE}/a%2Fsubmissions", None, None, "route"),
    ("GET", f"/v3.1/sections/%zz/assignments/{ASSIGNMENT}", None, None, "route"),
    ("GET", f"/v3.1/sections/%zz/assignments/{ASSIGNMENT}", None, {}, "route"),
    ("OPTIONS", "*", None, None, "route"),
    ("GET", f"{CREATE}/{{{ASSIGNMENT}}}", None, None, "route"),
    ("GET", f"/v3.1/sections/<b>/assignments/{ASSIGNMENT}", None, None, "route"),
    ("GET", f"http://api.clever.com{ASSIGNMENT_PATH}", None, None, "route"),
    ("GET", f"/v3.1/%73ections/{SECTION}/assignments/{ASSIGNMENT}", None, None, "route"),
    ("GET", ASSIGNMENT_PATH, None, {"Authorization": "Bearer<token>"}, "auth"),
    ("GET", ASSIGNMENT_PATH, None, {"Authorization": "bearer abc"}, "auth"),
    ("PUT", ASSIGNMENT_PATH, None, {"Authorization": "Basic abc"}, "auth"),
    ("GET", ASSIGNMENT_PATH, b"{}", None, "body_required"),
    ("DELETE", ASSIGNMENT_PATH, b"x", None, "body_required"),
    ("GET", f"{SUBMISSIONS}?limit=5;cursor=x", None, None, "query"),
    ("POST", CREATE, b'{"assignee_mode":""}', None, "schema"),
    ("PATCH", ASSIGNMENT_PATH, b'{"grading_type":""}', None, "schema"),
    ("PATCH", SUBMISSION, b'{"attachments":[{"type":"text","text":"https://clever.com"}]}', None, "schema"),
    # contagious: the certain grading_type error does not make the stage certain
    ("POST", CREATE, b'{"assignee_mode":"","grading_type":"bogus"}', None, "schema"),
    ("PATCH", SUBMISSION, b'{"state":"graded","state":null}', None, "schema"),
    ("POST", CREATE, b'{"title":"","description":"b","due_date":"2099-01-01"}', None, "required_fields"),
    ("POST", CREATE, b'{"title":"a","due_date":""}', None, "required_fields"),
    ("PATCH", ASSIGNMENT_PATH, b'{"due_date":"2020-01-01"}', None, "due_date"),
    ("PATCH", f"{CREATE}/{ASSIGNMENT.upper()}", b"{}", None, "assignment_id"),
    ("DELETE", f"{CREATE}/not-a-uuid", None, None, "assignment_id"),
    ("GET", f"{CREATE}/x/submissions", None, None, "assignment_id"),
    ("POST", CREATE, b'{"due_date":"2099-01-01T00:00:00+25:00"}', None, "json"),
    ("POST", CREATE, b'{"title":5,"start_date":"2099-01-01T00:00:00+05:75"}', None, "json"),
]


@pytest.mark.parametrize(("method", "path", "body", "headers", "stage"), UNCERTAIN_CASES)
def test_uncertain(
    clever_reference: CleverReference,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str] | None,
    stage: str,
) -> None:
    ans = call(clever_reference.url, method, path, body, headers)
    assert (ans.status, ans.uncertain, ans.header("X-Clever-Reference")) == (200, stage, "1")
    if method != "HEAD":
        assert json.loads(ans.body)["uncertain"] == stage


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "message"),
    [
        # an earlier certain stage wins over a later uncertain one
        (
            "POST",
            CREATE,
            b'{"assignee_mode":"", "x": }',
            None,
            "invalid character '}' looking for beginning of value",
        ),
        (
            "POST",
            "/v3.1/sections/abc/assignments",
            b'{"assignee_mode":""}',
            None,
            'section_id in path must be of type mongo-id: "abc"',
        ),
        (
            "PATCH",
            "/v3.1/sections/abc/assignments/NOT-CANONICAL",
            b'{"due_date":"2020-01-01"}',
            None,
            'section_id in path must be of type mongo-id: "abc"',
        ),
        ("PATCH", SUBMISSION, b'{"state":"x","attachments":[{"type":5}]}', None, None),
    ],
)
def test_certain_before_uncertain(
    clever_reference: CleverReference,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str] | None,
    message: str | None,
) -> None:
    ans = call(clever_reference.url, method, path, body, headers)
    expect_400(
        ans,
        message or type_error("number", "AttachmentRequest.attachments.type", "string"),
    )


def test_raw_non_ascii_target_is_uncertain(clever_reference: CleverReference) -> None:
    parts = urlsplit(clever_reference.url)
    assert parts.hostname is not None
    request = f"GET /v3.1/sections/\u00e9/assignments/{ASSIGNMENT} HTTP/1.1\r\nHost: x\r\n".encode()
    request += b"Authorization: Bearer t\r\nConnection: close\r\n\r\n"
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nX-Reference-Uncertain: route\r\n" in head
    assert json.loads(body)["uncertain"] == "route"


def test_no_authorization_beats_uncertain_stages(clever_reference: CleverReference) -> None:
    for method, body in (("GET", b"{}"), ("HEAD", None), ("POST", b'{"assignee_mode":""}')):
        assert call(clever_reference.url, method, CREATE, body, {}).status == 401


# --- field cases (config/examples) ----------------------------------------------------------------------

# id -> (status, uncertain stage or 400 message or None). Dates in the future are re-judged below.
FIELD_EXPECTED: dict[str, tuple[int, str | None]] = {
    "F01": (400, 'parsing time "<datetime>" as "2006-01-02": cannot parse "<datetime>" as "2006"'),
    "F02": (400, 'section_id in path must be of type mongo-id: "<mongo-id>"'),
    "F04": (400, "missing required field(s): description, due_date"),
    "F05": (
        400,
        type_error("string", "AssignmentRequest.submission_types", "[]models.SubmissionType"),
    ),
    "F07": (200, None),
    "F08": (200, "schema"),
    "F10": (200, None),
    "F11": (200, "schema"),
    "F13": (400, "missing required field(s): due_date"),
    "F14": (200, None),
    "F16": (
        400,
        type_error("string", "AssignmentRequest.points_possible", "float32"),
    ),
    "F17": (200, "schema"),
    "F19": (400, "limit in query should be less than or equal to 100"),
    "F20": (200, "auth"),
    "F22": (200, None),
    "F23": (200, "route"),
    "F25": (400, "invalid character ',' looking for beginning of value"),
    "F26": (400, "request body is required, but was empty"),
    "F28": (400, "due_date must be in the future"),
    "F29": (400, 'parsing time "2024-02-30": day out of range'),
    "F31": (400, "invalid character ' ' in string escape code"),
    "F32": (400, "INVALID_ID"),
    "F34": (200, "schema"),
    "F35": (400, "invalid character 'i' in literal true (expecting 'r')"),
    "F37": (400, "invalid character 'g' looking for beginning of object key string"),
    "F38": (400, "invalid character '\\'' looking for beginning of value"),
    "F40": (400, "invalid character '\u00e2' looking for beginning of object key string"),
    "F41": (400, "invalid character '\u00c2' looking for beginning of object key string"),
    "F43": (400, "invalid character ']' looking for beginning of value"),
    "F44": (400, "invalid character '\u00ef' looking for beginning of value"),
    "F46": (400, "invalid character 'N' looking for beginning of value"),
    "F47": (
        400,
        'parsing time "Tue Feb 11 14:21:51 UTC 2025" as "2006-01-02":'
        ' cannot parse "Tue Feb 11 14:21:51 UTC 2025" as "2006"',
    ),
    "F49": (
        400,
        'parsing time "2031-06-18 10:19:31.800140702+00:00": extra text: " 10:19:31.800140702+00:00"',
    ),
    "F50": (200, None),
    "F52": (
        400,
        type_error("string", "AssignmentRequest.points_possible", "float32"),
    ),
    "F53": (401, "No authorization provided"),
    "F55": (400, "invalid character '/' after object key:value pair"),
    "F56": (400, "due_date must be in the future"),
    "F58": (200, None),
    "F59": (200, "schema"),
    "F61": (400, "missing required field(s): title, description, due_date"),
    "F62": (200, None),
    "F64": (400, "missing required field(s): description, due_date"),
    "F65": (
        400,
        type_error("object", "AssignmentRequest.due_date", "string"),
    ),
}

# Field cases whose verdict turns once their (future) due date comes within the skew margin.
FIELD_DUE_DATES = {
    "F07": "2030-05-01T17:00:00Z",
    "F14": "2030-12-20T23:59:00Z",
    "F50": "2030-06-26T00:00:00Z",
}


def _load_field_cases() -> list[dict[str, Any]]:
    if not FIELD_CASES.exists():
        return []
    return [json.loads(line) for line in FIELD_CASES.read_text(encoding="utf-8").splitlines() if line.strip()]


def _expected(case: dict[str, Any], skew_seconds: float) -> tuple[int, str | None]:
    expected = FIELD_EXPECTED[case["id"]]
    due = FIELD_DUE_DATES.get(case["id"])
    if due is not None:
        limit = datetime.now(UTC) + timedelta(seconds=skew_seconds)
        if datetime.fromisoformat(due) <= limit:  # pragma: no cover - only after 2030
            pytest.skip(f"{case['id']}: its due date {due} is no longer in the future")
    return expected


@pytest.mark.parametrize("case", _load_field_cases(), ids=lambda c: str(c["id"]))
def test_field_case(clever_reference: CleverReference, case: dict[str, Any]) -> None:
    status, detail = _expected(case, clever_reference.skew_seconds)
    body = base64.b64decode(case["body_b64"]) if case["body_b64"] is not None else None
    ans = call(clever_reference.url, case["method"], case["path"], body, dict(case["headers"]))
    assert ans.header("X-Clever-Reference") == "1"
    if status == 400:
        assert detail is not None
        expect_400(ans, detail)
    elif status == 401:
        assert (ans.status, ans.raw_body) == (401, b'{"message": "No authorization provided"}')
    elif detail is not None:
        expect_uncertain(ans, detail)
    elif case["method"] == "DELETE":
        assert (ans.status, ans.raw_body, ans.uncertain) == (200, b"", None)
    else:
        expect_success(ans)


def test_field_cases_are_all_covered() -> None:
    cases = _load_field_cases()
    if not cases:
        pytest.skip(f"no field cases at {FIELD_CASES}")
    assert sorted(c["id"] for c in cases) == sorted(FIELD_EXPECTED)


# --- process behaviour ---------------------------------------------------------------------------------


def test_build_is_idempotent() -> None:
    try:
        first, second = build_reference(), build_reference()
    except ReferenceUnavailable as exc:
        pytest.skip(str(exc))
    assert first == second
    assert first.is_file()


def test_sigterm_exits_cleanly() -> None:
    try:
        with run_reference(skew_seconds=1.5) as ref:
            assert ref.url.startswith("http://127.0.0.1:")
            assert "-skew" in ref.args
            expect_success(call(ref.url, "GET", ASSIGNMENT_PATH))
    except ReferenceUnavailable as exc:
        pytest.skip(str(exc))
    assert ref.process.returncode == 0
