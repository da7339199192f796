"""The requests every benchmark sends: valid forwards, one local rejection per rule class, big bodies.

One source for the socket benchmarks (`run.py` writes them out for wrk's Lua script) and for the
pipeline microbenchmark (`micro.py`), so both measure the same bytes. Headers are what a typical
LMS integration sends (a bearer token, JSON content type, a compressing HTTP client).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

SECTION = "5f1b2c3d4e5f6a7b8c9d0e1f"
ASSIGNMENT = "6a1e9f3c-2b7d-4c8e-9f01-23456789abcd"
USER = "5f1b2c3d4e5f6a7b8c9d0e2a"
CREATE = f"/v3.1/sections/{SECTION}/assignments"
ONE = f"{CREATE}/{ASSIGNMENT}"
SUBS = f"{ONE}/submissions"
GRADE = f"{SUBS}/{USER}"
FUTURE = "2099-05-01T17:00:00Z"

BASE_HEADERS: dict[str, str] = {
    "Authorization": "Bearer 3f9c1e0a7b2d4c6e8f0a1b2c3d4e5f60718293a4",
    "Accept": "application/json",
    "Accept-Encoding": "gzip, deflate",
    "User-Agent": "lms-sync/2.4 (+perf)",
}
JSON_HEADERS: dict[str, str] = {**BASE_HEADERS, "Content-Type": "application/json"}


@dataclass(frozen=True)
class Req:
    """One HTTP request as sent on the wire (wrk adds Host and Content-Length)."""

    name: str
    method: str
    target: str
    headers: dict[str, str] = field(default_factory=lambda: dict(BASE_HEADERS))
    body: bytes | None = None
    expect_status: int = 200
    expect_rule: str = ""  # the X-Clever-Proxy rule of a local answer; "" for a forwarded request


def _assignment(description: str, assignee_ids: list[str]) -> dict[str, object]:
    return {
        "title": "Photosynthesis lab report",
        "description": description,
        "description_plaintext": "Write up the leaf-disk experiment: hypothesis, method, results.",
        "due_date": FUTURE,
        "display_date": "2099-04-20T08:00:00Z",
        "points_possible": 20,
        "grading_type": "points",
        "submission_types": ["file", "text"],
        "assignee_mode": "individuals" if assignee_ids else "all",
        "assignee_ids": assignee_ids,
        "max_attempts": 3,
        "term_id": "6a0b1c2d3e4f5a6b7c8d9e0f",
        "attachments": [
            {
                "type": "file",
                "title": "Lab sheet",
                "url": "https://files.example.edu/biology/leaf-disk-lab-sheet.pdf",
                "description": "Print and bring to class",
            }
        ],
    }


def _sized(size: int, description_from: str, ids: list[str]) -> bytes:
    """A valid create body of exactly `size` bytes, padded in its description."""
    text = description_from
    body = json.dumps(_assignment(text, ids), separators=(",", ":")).encode()
    if len(body) > size:
        raise ValueError(f"base body is already {len(body)} bytes")
    filler = "Measure the time for the disks to float in each light level and graph it. "
    while len(body) < size:
        missing = size - len(body)
        text += (filler * (missing // len(filler) + 1))[:missing]
        body = json.dumps(_assignment(text, ids), separators=(",", ":")).encode()
    return body


def _ids(count: int) -> list[str]:
    return [f"{0x5F1B2C3D4E5F6A7B8C9D0000 + i:024x}" for i in range(count)]


CREATE_1K = _sized(1024, "Write up the leaf-disk experiment. ", _ids(6))
# 100 KiB two ways: one long string (cheap to scan) and many small values (the typed walk's worst case).
CREATE_100K_TEXT = _sized(100 * 1024, "Long instructions. ", _ids(6))
CREATE_100K_IDS = _sized(100 * 1024, "Everyone in the section. ", _ids(3700))
GRADE_BODY = b'{"grade_points": 18, "grade_comment": "Clear method; check your units", "state": "returned"}'

# The valid requests clever-proxy forwards: read an assignment, create one (1 KiB), grade a student.
FORWARD: tuple[Req, ...] = (
    Req("get", "GET", ONE),
    Req("post", "POST", CREATE, dict(JSON_HEADERS), CREATE_1K),
    Req("patch", "PATCH", GRADE, dict(JSON_HEADERS), GRADE_BODY),
)


def _reject(name: str, method: str, target: str, body: bytes | None, status: int = 400, **kw: str) -> Req:
    headers = dict(JSON_HEADERS if body is not None else BASE_HEADERS)
    if kw.get("drop"):
        headers.pop(kw["drop"])
    return Req(name, method, target, headers, body, status, name)


# One request per rule class that clever-proxy answers locally, named after the rule.
REJECT: tuple[Req, ...] = (
    _reject("auth", "GET", ONE, None, 401, drop="Authorization"),
    _reject("method", "PUT", ONE, b'{"title":"Quiz 1"}', 405),
    _reject("body_required", "POST", CREATE, b""),
    _reject("json", "POST", CREATE, b'{"title":"Quiz 1","points_possible":"20","due_date":"2099-05-01"}'),
    _reject("query", "GET", f"{SUBS}?limit=500", None),
    _reject("path_format", "GET", f"/v3.1/sections/{SECTION[:-1]}/assignments/{ASSIGNMENT}", None),
    _reject(
        "schema",
        "POST",
        CREATE,
        b'{"title":"Essay","description":"500 words","due_date":"'
        + FUTURE.encode()
        + b'","submission_types":["essay"]}',
    ),
    _reject("required_fields", "POST", CREATE, b'{"points_possible":10,"grading_type":"points"}'),
    _reject(
        "due_date",
        "POST",
        CREATE,
        b'{"title":"Quiz","description":"Unit 1","due_date":"2023-01-15T17:00:00Z"}',
    ),
    _reject("assignment_id", "GET", f"{CREATE}/quiz-1", None),
)
RULES: tuple[str, ...] = tuple(r.name for r in REJECT)


def without_encoding(reqs: tuple[Req, ...]) -> tuple[Req, ...]:
    """The same requests from a client that asks for no compression."""
    out = []
    for r in reqs:
        headers = {k: v for k, v in r.headers.items() if k != "Accept-Encoding"}
        out.append(Req(r.name, r.method, r.target, headers, r.body, r.expect_status, r.expect_rule))
    return tuple(out)


def lua_string(data: bytes | str) -> str:
    """A Lua string literal holding exactly these bytes."""
    raw = data.encode() if isinstance(data, str) else data
    out = ['"']
    for b in raw:
        if b in (0x22, 0x5C):
            out.append("\\" + chr(b))
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append(f"\\{b:03d}")
    out.append('"')
    return "".join(out)


def to_lua(reqs: tuple[Req, ...]) -> str:
    """A Lua chunk returning {{method, path, headers, body}, ...}, for wrk's requests.lua to load."""
    lines = ["return {"]
    for r in reqs:
        headers = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in r.headers.items())
        body = "nil" if r.body is None else lua_string(r.body)
        lines.append(f"  {{{lua_string(r.method)}, {lua_string(r.target)}, {{{headers}}}, {body}}},")
    lines.append("}")
    return "\n".join(lines) + "\n"
