"""A stand-in for Clever's LMS Connect API, for the demo and for trying an integration without Clever.

It keeps assignments and submissions in memory and answers in Clever's shapes: 401 without a token,
403 for a token it does not know, the contract's 400/405 answers (from the same check pipeline the
proxy runs, with no clock margin), Clever-shaped 200s, and 404 "Assignment does not exist" after a
delete. Requests the contract calls uncertain are accepted, as a lenient Clever would.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from aiohttp import web

from proxy import SANDBOX_TOKEN
from proxy.contract import Contract
from proxy.pipeline import Pipeline, Policy
from proxy.request import ParsedRequest, inspect, wants_body, with_body
from proxy.respond import Responder
from proxy.verdict import Reject

DEFAULT_TOKEN = SANDBOX_TOKEN
FORBIDDEN = b'{"message": "Could not authorize token"}'
NOT_FOUND_PAGE = b"404 page not found\n"
ASSIGNMENT_FIELDS = (
    "assignee_ids",
    "assignee_mode",
    "attachments",
    "description",
    "description_plaintext",
    "display_date",
    "due_date",
    "end_date",
    "grading_type",
    "max_attempts",
    "points_possible",
    "start_date",
    "submission_types",
    "term_id",
    "title",
)
SUBMISSION_FIELDS = (
    "attachments",
    "extra_attempts",
    "flags",
    "grade",
    "grade_comment",
    "grade_points",
    "grader_id",
    "override_due_date",
    "state",
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class SandboxStore:
    assignments: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    submissions: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


class Sandbox:
    def __init__(self, contract: Contract, tokens: tuple[str, ...] = (DEFAULT_TOKEN,)) -> None:
        self.contract = contract
        self.tokens = frozenset(tokens)
        self.store = SandboxStore()
        self.pipeline = Pipeline(contract, Policy(due_date_skew=timedelta(0)))
        self.responder = Responder(contract, marker_header="")

    def app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    def _json(self, status: int, payload: object) -> web.Response:
        return web.Response(
            status=status, body=orjson.dumps(payload), headers={"Content-Type": "application/json"}
        )

    def _controller_error(self, status: int, message: str) -> web.Response:
        """Clever's controller errors go through net/http's Error, like wag's 400s."""
        spec = self.contract.responses["bad_request"]
        return web.Response(
            status=status, body=self.responder.body_of(spec, message), headers=dict(spec.headers)
        )

    async def handle(self, request: web.Request) -> web.StreamResponse:
        parsed = inspect(
            request.method, request.raw_path, request.headers, request.content_length, self.contract
        )
        if wants_body(parsed):
            parsed = with_body(parsed, await request.read())
        if parsed.route is not None and parsed.has_authorization:
            auth = request.headers.get("Authorization", "")
            scheme, _, token = auth.partition(" ")
            if scheme != "Bearer" or token not in self.tokens:
                return web.Response(
                    status=403, body=FORBIDDEN, headers={"Content-Type": "application/json; charset=utf-8"}
                )
        verdict = self.pipeline.run(parsed, datetime.now(UTC))
        if type(verdict) is Reject:
            return self.responder.reject(verdict, parsed.accept_encoding, parsed.has_upgrade)
        if parsed.op is None:
            return web.Response(
                status=404,
                body=NOT_FOUND_PAGE,
                headers={"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"},
            )
        return self._operate(parsed)

    def _operate(self, parsed: ParsedRequest) -> web.StreamResponse:
        assert parsed.op is not None
        op = parsed.op.op_id
        section = parsed.path_vars["section_id"].decode("utf-8", "replace")
        body = _loads(parsed.body)
        if op == "createAssignment":
            now = _now()
            assignment = {
                "id": str(uuid.uuid4()),
                "section_id": section,
                "state": "open",
                "created": now,
                "last_modified": now,
            }
            assignment.update({k: body[k] for k in ASSIGNMENT_FIELDS if k in body})
            self.store.assignments[assignment["id"]] = assignment
            return self._json(200, {"data": assignment})
        assignment_id = parsed.path_vars["assignment_id"].decode("utf-8", "replace")
        assignment = self.store.assignments.get(assignment_id)
        if assignment is None or assignment["section_id"] != section:
            return self._controller_error(404, "Assignment does not exist")
        if op == "getAssignment":
            return self._json(200, {"data": assignment})
        if op == "updateAssignment":
            assignment.update({k: body[k] for k in ASSIGNMENT_FIELDS if k in body})
            assignment["last_modified"] = _now()
            return self._json(200, {"data": assignment})
        if op == "deleteAssignment":
            del self.store.assignments[assignment_id]
            self.store.deleted.add(assignment_id)
            return web.Response(status=200)
        if op == "listSubmissions":
            subs = [s for (a, _), s in self.store.submissions.items() if a == assignment_id]
            return self._json(200, {"data": subs, "links": []})
        user_id = parsed.path_vars["user_id"].decode("utf-8", "replace")
        submission = self.store.submissions.get((assignment_id, user_id))
        if submission is None:
            now = _now()
            submission = {
                "id": "",
                "assignment_id": assignment_id,
                "user_id": user_id,
                "state": "created",
                "created": now,
                "last_modified": now,
                "attachments": [],
                "flags": [],
            }
            self.store.submissions[(assignment_id, user_id)] = submission
        if op == "updateSubmission":
            submission.update({k: body[k] for k in SUBMISSION_FIELDS if k in body})
            submission["last_modified"] = _now()
        return self._json(200, {"data": submission})


def _loads(body: bytes | None) -> dict[str, Any]:
    """The stored copy of a body that Clever accepted; Go-only leniencies (trailing data) store nothing."""
    if not body:
        return {}
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


async def run_sandbox(contract: Contract, host: str, port: int, tokens: tuple[str, ...]) -> web.AppRunner:
    runner = web.AppRunner(Sandbox(contract, tokens).app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner
