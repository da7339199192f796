"""A fast, seeded mutation fuzzer of the check pipeline, in-process.

Inputs are built from realistic material (the demo examples' bodies and paths, the contract's routes,
field names and enum values) and mutated at byte and JSON level; every input is a request line,
headers and body as the server would hand them to `request.inspect`. For each input the harness
checks that nothing raises (building the request, running the pipeline, rendering a rejection), that
no stage failed (the pipeline turns a raising stage into Forward("check_error") - a failure here),
that no rejection renders a 5xx, and that verdicts are deterministic: a share of the inputs is run
again at the end of the worker, after everything else ran, and must get the same verdict.

`run_worker(seed, count)` is what each process runs; `python -m tests.reliability.fuzzing [COUNT]`
runs it from a shell with the same seeds the test uses.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import sys
import time
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from proxy import contract as contract_mod
from proxy.pipeline import Pipeline, Policy
from proxy.respond import Responder
from proxy.verdict import Reject
from tests.factories import parsed
from tests.reliability.harness import TOKEN

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "config" / "examples"
RECHECK_EVERY = 8  # one input in this many is run a second time at the end

SECTION = "5f1b2c3d4e5f6a7b8c9d0e1f"
ASSIGNMENT = "6a1e9f3c-2b7d-4c8e-9f01-23456789abcd"
USER = "5f1b2c3d4e5f6a7b8c9d0e2a"

METHODS = (
    "GET",
    "POST",
    "PATCH",
    "DELETE",
    "PUT",
    "HEAD",
    "OPTIONS",
    "TRACE",
    "CONNECT",
    "get",
    "PATCH2",
    "",
)
HEX_IDS = (
    SECTION,
    USER,
    SECTION.upper(),
    SECTION[:23],
    SECTION + "0",
    "abc",
    "",
    "5f1b2c3d4e5f6a7b8c9d0e1g",
    "%35f1b2c3d4e5f6a7b8c9d0e1f",
    "5f1b2c3d4e5f6a7b8c9d0e1%66",
    "5f1b2c3d4e5f6a7b8c9d0e1\u00e9",
    "%3Cmongo-id%3E",
    "000000000000000000000000",
    "ffffffffffffffffffffffff",
    "5f1b2c3d4e5f6a7b8c9d0e1f%00",
    "..",
    ".",
    "%2e%2e",
)
UUIDS = (
    ASSIGNMENT,
    ASSIGNMENT.upper(),
    "{" + ASSIGNMENT + "}",
    "urn:uuid:" + ASSIGNMENT,
    ASSIGNMENT.replace("-", ""),
    "quiz-1",
    "",
    "%7B%7Bassignment_id%7D%7D",
    ASSIGNMENT[:-1],
    ASSIGNMENT + "0",
    "x" + ASSIGNMENT + "x",
    ASSIGNMENT.replace("-", "_"),
    "6a1e9f3c-2b7d-4c8e-9f01-23456789abcg",
    "00000000-0000-0000-0000-000000000000",
    "%36a1e9f3c-2b7d-4c8e-9f01-23456789abcd",
    "6a1e9f3c-2b7d-4c8e-9f01-23456789abcd%20",
    "\u0661" * 36,
)
TEMPLATES = (
    "/v3.1/sections/{s}/assignments",
    "/v3.1/sections/{s}/assignments/{a}",
    "/v3.1/sections/{s}/assignments/{a}/submissions",
    "/v3.1/sections/{s}/assignments/{a}/submissions/{u}",
)
PATH_NOISE = (
    "/",
    "//",
    "/.",
    "/..",
    "%2F",
    "%2f",
    "%",
    "%%",
    "%zz",
    "%C3%A9",
    "\u00e9",
    ";",
    ";x=1",
    "?",
    "#",
    "~",
    "+",
    " ",
    "\t",
    "*",
    "@",
    ":",
    "'",
    '"',
    "<",
    ">",
    "{",
    "}",
    "|",
    "\\",
    "^",
    "`",
    "[",
    "]",
    "%00",
    "\x00",
    "\x7f",
    "\u2028",
)
QUERIES = (
    "",
    "limit=1",
    "limit=100",
    "limit=101",
    "limit=0",
    "limit=-1",
    "limit=abc",
    "limit=",
    "limit",
    "limit=1e2",
    "limit=+5",
    "limit=0x10",
    "limit=%31",
    "limit=\u0661",
    "limit=99999999999999999999",
    "limit=1&limit=500",
    "limit=5;x=1",
    "x=1;y=2",
    "starting_after=abc",
    "ending_before=" + ASSIGNMENT,
    "limit=%",
    "a=%zz",
    "limit=5&limit=abc",
    "=",
    "&&",
    "limit= 5",
    "LIMIT=500",
    "cursor=x&limit=2",
)
AUTHS = (
    None,
    f"Bearer {TOKEN}",
    "Bearer",
    "Bearer ",
    "bearer x",
    "Basic dXNlcjpwYXNz",
    "",
    "Bearer  x",
    "Bearer x y",
    "Bearer \u00e9",
    "Bearer\tx",
    f"Bearer {TOKEN}\x00",
)
ENCODINGS = (
    None,
    "gzip",
    "deflate",
    "gzip, deflate",
    "br",
    "identity",
    "*",
    " gzip",
    "x, gzip",
    "gzip;q=0",
    "",
)
TOKENS = (
    b'"',
    b"\\",
    b"\\u0000",
    b"\\ud800",
    b"\\udc00\\ud800",
    b"\\u00e9",
    b"\\x",
    b"\\/",
    b"1e400",
    b"-0",
    b"-",
    b"0.1e-",
    b"01",
    b"1.",
    b".5",
    b"1e",
    b"null",
    b"true",
    b"false",
    b"nul",
    b"[",
    b"]",
    b"{",
    b"}",
    b",",
    b":",
    b" ",
    b"\t",
    b"\n",
    b"\r",
    b"\xff",
    b"\xc3\x28",
    b"\xe2\x82",
    b"\x00",
    b"\xef\xbb\xbf",
    b"9" * 40,
    b"\xf0\x9f\x98\x80",
    b'"2023-02-29"',
    b'"2099-13-01T00:00:00Z"',
    b'"24:00"',
    b'"2099-01-01T00:00:00+25:00"',
    b'"2006-01-02T15:04:05.999999999Z07:00"',
    b'"2020-01-01"',
    b'"2099-12-31T23:59:60Z"',
    b"[]",
    b"{}",
    b'""',
)
JSON_VALUES: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    -1,
    1.5,
    1e308,
    -1e-300,
    2**63,
    -(2**63) - 1,
    3.4e38,
    3.5e38,
    "",
    "x",
    "all",
    "points",
    "file",
    "link",
    "text",
    "excused",
    "returned",
    "individuals",
    "pass_fail",
    "letter_grade",
    "<string>",
    "2099-05-01T17:00:00Z",
    "2020-05-01T17:00:00Z",
    "2026-12-03T11:58:00Z",
    "2023-02-29",
    "2099-05-01 17:00:00",
    "2099-05-01T17:00",
    "2099-05-01T17:00Z",
    "not a date",
    "\u0000",
    "\ud7ff",
    "\u2028",
    "<>&",
    [],
    {},
    ["file"],
    ["bogus"],
    ["file", "zzz", 3],
    [None],
    [{"type": "file"}],
    [{"type": "link", "url": "u"}],
    [{"type": 3}],
    {"type": "file"},
    [[]],
    12345678901234567890,
    "1e400",
)


def _examples() -> tuple[list[tuple[str, str, bytes | None]], list[bytes]]:
    """(method, path, body) of every example, and every example body."""
    requests: list[tuple[str, str, bytes | None]] = []
    bodies: list[bytes] = []
    for path in sorted(EXAMPLES.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            body: bytes | None = None
            if row.get("body_b64") is not None:
                body = base64.b64decode(row["body_b64"])
            elif row.get("body") is not None:
                body = row["body"].replace("{future}", "2099-05-01T17:00:00Z").encode()
            target = row["path"].replace("{assignment_id}", ASSIGNMENT)
            requests.append((row["method"], target, body))
            if body:
                bodies.append(body)
    return requests, bodies


@dataclass
class Case:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes | None

    def describe(self) -> str:
        return f"{self.method!r} {self.target!r} headers={self.headers!r} body={self.body!r}"


class Generator:
    """Seeded input generator: index i of seed s is always the same Case."""

    def __init__(self, contract: contract_mod.Contract) -> None:
        self.requests, self.bodies = _examples()
        self.json_bodies = [json.loads(b) for b in self.bodies if _loads(b) is not None]
        self.json_bodies = [b for b in self.json_bodies if isinstance(b, dict)]
        fields: set[str] = set()
        with (ROOT / "config" / "contract.toml").open("rb") as f:
            for model in tomllib.load(f)["models"].values():
                fields.update(model["fields"])
        self.fields = [*sorted(fields), "", "Title", "due_date ", "extra", "grade_points\u0000"]

    def case(self, rng: random.Random) -> Case:
        roll = rng.random()
        if roll < 0.25:
            method, target, body = rng.choice(self.requests)
        else:
            method, target, body = self._synthetic(rng)
        if rng.random() < 0.15:
            method = rng.choice(METHODS)
        if rng.random() < 0.3:
            target = self._mutate_target(rng, target)
        if body is not None or rng.random() < 0.5:
            body = self._body(rng, body)
        headers: dict[str, str] = {}
        auth = rng.choice(AUTHS) if rng.random() < 0.3 else f"Bearer {TOKEN}"
        if auth is not None:
            headers["Authorization"] = auth
        encoding = rng.choice(ENCODINGS)
        if encoding is not None:
            headers["Accept-Encoding"] = encoding
        if rng.random() < 0.05:
            headers["Upgrade"] = "websocket"
        if body is None and rng.random() < 0.05:
            headers["Transfer-Encoding"] = "chunked"
        return Case(method, target, headers, body)

    def _synthetic(self, rng: random.Random) -> tuple[str, str, bytes | None]:
        template = rng.choice(TEMPLATES)
        hex_ids = HEX_IDS if rng.random() < 0.4 else (SECTION,)
        uuids = UUIDS if rng.random() < 0.4 else (ASSIGNMENT,)
        path = template.format(s=rng.choice(hex_ids), a=rng.choice(uuids), u=rng.choice(hex_ids))
        if rng.random() < 0.3:
            query = rng.choice(QUERIES)
            if query:
                path += "?" + query
        method = rng.choice(("GET", "POST", "PATCH", "DELETE")) if rng.random() < 0.9 else rng.choice(METHODS)
        body = rng.choice(self.bodies) if method in ("POST", "PATCH", "PUT") else None
        return method, path, body

    def _mutate_target(self, rng: random.Random, target: str) -> str:
        for _ in range(rng.randint(1, 3)):
            op = rng.random()
            pos = rng.randint(0, len(target))
            if op < 0.4:
                target = target[:pos] + rng.choice(PATH_NOISE) + target[pos:]
            elif op < 0.6 and target:
                end = min(len(target), pos + rng.randint(1, 6))
                target = target[:pos] + target[end:]
            elif op < 0.7:
                target = target.replace(
                    "/v3.1/", rng.choice(("/V3.1/", "/v3.0/", "/v3.1//", "/lms/v1/", "v3.1/")), 1
                )
            elif op < 0.8:
                target = target.upper() if rng.random() < 0.5 else target.lower()
            else:
                target = target.split("?", 1)[0] + "?" + rng.choice(QUERIES)
        return target

    def _body(self, rng: random.Random, body: bytes | None) -> bytes:
        roll = rng.random()
        if roll < 0.35 and self.json_bodies:
            return self._json_mutation(rng)
        data = bytearray(body if body is not None else rng.choice(self.bodies))
        for _ in range(rng.randint(0, 4)):
            op = rng.random()
            pos = rng.randint(0, len(data))
            if op < 0.3:
                data[pos:pos] = rng.choice(TOKENS)
            elif op < 0.45 and data:
                data[min(pos, len(data) - 1)] = rng.randrange(256)
            elif op < 0.6 and data:
                del data[pos : pos + rng.randint(1, 8)]
            elif op < 0.7:
                del data[pos:]
            elif op < 0.8 and data:
                end = min(len(data), pos + rng.randint(1, 30))
                data[pos:pos] = data[pos:end]
            elif op < 0.9:
                other = rng.choice(self.bodies)
                cut = rng.randint(0, len(other))
                data[pos:] = other[cut:]
            else:
                data = bytearray(b" \t\n" * rng.randint(0, 2)) + data + bytearray(b"\n" * rng.randint(0, 2))
        return bytes(data)

    def _json_mutation(self, rng: random.Random) -> bytes:
        doc: dict[str, Any] = dict(rng.choice(self.json_bodies))
        for _ in range(rng.randint(1, 4)):
            op = rng.random()
            if op < 0.5 or not doc:
                doc[rng.choice(self.fields)] = rng.choice(JSON_VALUES)
            elif op < 0.7:
                doc.pop(rng.choice(list(doc)))
            elif op < 0.8:
                key = rng.choice(list(doc))
                doc[key] = [doc[key], rng.choice(JSON_VALUES)]
            elif op < 0.9:
                key = rng.choice(list(doc))
                doc = {key: doc[key], **doc}
            else:
                doc = {"attachments": [doc]} if rng.random() < 0.5 else doc
        text = json.dumps(
            doc, ensure_ascii=rng.random() < 0.5, separators=rng.choice(((",", ":"), (", ", ": ")))
        )
        if rng.random() < 0.1:  # a duplicated key, which Go's decoder takes the last of
            key = rng.choice(self.fields)
            text = (
                text[:-1]
                + (", " if len(text) > 2 else "")
                + json.dumps(key)
                + ": "
                + json.dumps(rng.choice(JSON_VALUES))
                + "}"
            )
        return text.encode("utf-8", "surrogatepass")


def _loads(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


@dataclass
class Outcome:
    inputs: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)
    verdicts: Counter[str] = field(default_factory=Counter)
    log: list[str] = field(default_factory=list)


class _Collect(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.sink) < 200:
            self.sink.append(self.format(record))


class Checker:
    """Runs one Case through request parsing, the pipeline and the responder, and judges it."""

    def __init__(self) -> None:
        self.contract = contract_mod.load()
        self.pipeline = Pipeline(self.contract, Policy())
        self.responder = Responder(self.contract, "X-Clever-Proxy")

    def verdict(self, case: Case) -> tuple[object, str | None]:
        """(verdict, failure description or None)."""
        try:
            req = parsed(self.contract, case.method, case.target, case.body, case.headers)
        except Exception as exc:
            return None, f"request parsing raised {type(exc).__name__}: {exc}"
        try:
            verdict = self.pipeline.run(req, NOW)
        except Exception as exc:
            return None, f"the pipeline raised {type(exc).__name__}: {exc}"
        if type(verdict) is Reject:
            try:
                response = self.responder.reject(verdict, req.accept_encoding, req.has_upgrade)
            except Exception as exc:
                return verdict, f"rendering raised {type(exc).__name__}: {exc}"
            if response.status >= 500:
                return verdict, f"a rejection renders {response.status}"
        elif verdict.reason == "check_error":  # type: ignore[union-attr]
            return verdict, f"stage {verdict.stage} raised"  # type: ignore[union-attr]
        return verdict, None


def _label(verdict: object) -> str:
    if type(verdict) is Reject:
        return f"reject:{verdict.rule}"
    return f"forward:{getattr(verdict, 'reason', '?')}"


def run_worker(seed: int, count: int, max_failures: int = 20) -> Outcome:
    """Generate and check `count` inputs from `seed`; the last step re-runs every RECHECK_EVERY-th."""
    outcome = Outcome()
    handler = _Collect(outcome.log)
    app_log = logging.getLogger("clever_proxy")
    app_log.addHandler(handler)
    try:
        checker = Checker()
        generator = Generator(checker.contract)
        rng = random.Random(seed)
        kept: list[tuple[Case, object]] = []
        started = time.perf_counter()
        for i in range(count):
            case = generator.case(rng)
            verdict, failure = checker.verdict(case)
            outcome.verdicts[_label(verdict)] += 1
            if failure is not None and len(outcome.failures) < max_failures:
                outcome.failures.append(f"seed {seed} input {i}: {failure}: {case.describe()}")
            if i % RECHECK_EVERY == 0:
                kept.append((case, verdict))
        for case, first in kept:
            again, _ = checker.verdict(case)
            if again != first and len(outcome.failures) < max_failures:
                outcome.failures.append(
                    f"seed {seed}: verdict changed from {first!r} to {again!r}: {case.describe()}"
                )
        outcome.inputs = count + len(kept)
        outcome.seconds = time.perf_counter() - started
    finally:
        app_log.removeHandler(handler)
    return outcome


if __name__ == "__main__":
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    result = run_worker(1, total)
    print(f"{result.inputs} inputs in {result.seconds:.1f}s, {len(result.failures)} failures")
    for line in result.failures:
        print(line)
    print(dict(result.verdicts))
