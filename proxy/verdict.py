"""The pipeline's decision, as a value: answer locally (Reject) or send upstream (Forward).

Rule: a rejection is never an exception. Checks return one of these; an exception inside a check is a
bug, and the pipeline turns it into a Forward, so that "reject only when certain" holds by structure.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Reject:
    """Answer locally with the contract's response class `response`, carrying `message` if it has one."""

    rule: str
    stage: str
    response: str
    message: str = ""


@dataclass(frozen=True, slots=True)
class Forward:
    """Send upstream. `reason` says why: passed, uncertain, a rule switched off or in shadow mode, a
    check error, ... In shadow mode `predicted` holds the answer the rule would have given."""

    reason: str
    stage: str = ""
    predicted: Reject | None = None


Verdict = Reject | Forward


class Uncertain(Exception):
    """Raised by contract-level helpers (never by checks) when an input's verdict depends on something
    the evidence does not settle; the check that called them forwards the request."""


PASSED = Forward("passed")
NOT_A_ROUTE = Forward("not_a_route", "method")
