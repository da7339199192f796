"""Runs the contract's stages in order; the first stage with a verdict decides.

Rules: each rule has a mode. `enforce` answers locally; `shadow` forwards and carries the predicted
answer so that it can be compared with Clever's; `off` forwards. A rule not enforced stops the run
there: a later stage must not answer for a request an earlier one would have failed. A stage that
raises is a bug, logged and counted by the caller, and the request is forwarded. The pipeline reads no
clock: `now` is passed in.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType

from proxy.checks import STAGES, CheckState, Stage
from proxy.contract import RULE_NAMES, Contract
from proxy.request import ParsedRequest
from proxy.verdict import PASSED, Forward, Reject, Verdict

log = logging.getLogger("clever_proxy")

# (what failed, exception type) already logged with where it was raised: a bug that hits every request
# shows its frames once, then one line per request.
_REPORTED: set[tuple[str, str]] = set()


def report_bug(what: str, exc: BaseException, then: str) -> None:
    """Log a failure of the proxy's own code: the exception's type and, the first time, the frames it
    was raised through, never its text (which may quote a body, and bodies may hold tokens)."""
    kind = type(exc).__name__
    if (what, kind) in _REPORTED:
        log.error("%s failed (%s); %s", what, kind, then)
        return
    _REPORTED.add((what, kind))
    where = "".join(traceback.format_tb(exc.__traceback__)).rstrip()
    log.error("%s failed (%s); %s. Raised at (shown once):\n%s", what, kind, then, where)


MODES = ("enforce", "shadow", "off")


@dataclass(frozen=True, slots=True)
class Policy:
    """The operator's choices that shape verdicts: each rule's mode, and the clock margin."""

    rule_modes: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType(dict.fromkeys(RULE_NAMES, "enforce"))
    )
    due_date_skew: timedelta = timedelta(minutes=5)
    max_judged_body: int = 128 * 1024

    @classmethod
    def with_modes(cls, default: str, overrides: Mapping[str, str] | None = None, **kw: timedelta) -> Policy:
        modes = {rule: (overrides or {}).get(rule, default) for rule in RULE_NAMES}
        return cls(MappingProxyType(modes), **kw)  # type: ignore[arg-type]


class Pipeline:
    __slots__ = ("_contract", "_max_body", "_modes", "_skew", "_stages")

    def __init__(self, contract: Contract, policy: Policy) -> None:
        self._contract = contract
        self._modes = policy.rule_modes
        self._skew = policy.due_date_skew
        self._max_body = policy.max_judged_body
        self._stages: tuple[tuple[str, str, Stage], ...] = tuple(
            (s.name, s.rule, STAGES[s.name]) for s in contract.stages
        )

    @property
    def contract(self) -> Contract:
        return self._contract

    def run(self, req: ParsedRequest, now: datetime) -> Verdict:
        state = CheckState(now, self._skew, self._max_body)
        contract = self._contract
        for name, rule, stage in self._stages:
            try:
                verdict = stage(req, state, contract)
            except Exception as exc:
                report_bug(f"check stage {name}", exc, "forwarding the request")
                return Forward("check_error", name)
            if verdict is None:
                continue
            if type(verdict) is Reject:
                mode = self._modes.get(rule, "enforce")
                if mode == "shadow":
                    return Forward("shadow", name, verdict)
                if mode != "enforce":
                    return Forward("rule_off", name)
            return verdict
        return PASSED
