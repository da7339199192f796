"""Runs the contract's stages in order; the first stage with a verdict decides.

Rules: a rejection from a rule that is switched off becomes a Forward (a later stage must not answer
for a request an earlier one would have failed); a stage that raises is a bug, logged and counted by
the caller, and the request is forwarded. The pipeline reads no clock: `now` is passed in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from proxy.checks import STAGES, CheckState, Stage
from proxy.contract import RULE_NAMES, Contract
from proxy.request import ParsedRequest
from proxy.verdict import PASSED, Forward, Reject, Verdict

log = logging.getLogger("clever_proxy")


@dataclass(frozen=True, slots=True)
class Policy:
    """The operator's choices that shape verdicts: which rules answer locally, and the clock margin."""

    enabled_rules: frozenset[str] = frozenset(RULE_NAMES)
    due_date_skew: timedelta = timedelta(minutes=5)


class Pipeline:
    __slots__ = ("_contract", "_enabled", "_skew", "_stages")

    def __init__(self, contract: Contract, policy: Policy) -> None:
        self._contract = contract
        self._enabled = policy.enabled_rules
        self._skew = policy.due_date_skew
        self._stages: tuple[tuple[str, str, Stage], ...] = tuple(
            (s.name, s.rule, STAGES[s.name]) for s in contract.stages
        )

    @property
    def contract(self) -> Contract:
        return self._contract

    def run(self, req: ParsedRequest, now: datetime) -> Verdict:
        state = CheckState(now, self._skew)
        contract = self._contract
        for name, rule, stage in self._stages:
            try:
                verdict = stage(req, state, contract)
            except Exception as exc:
                # Only the type: an exception's text may quote the body, and bodies may hold tokens.
                log.error("check stage %s failed (%s); forwarding the request", name, type(exc).__name__)
                return Forward("check_error", name)
            if verdict is None:
                continue
            if type(verdict) is Reject and rule not in self._enabled:
                return Forward("rule_off", name)
            return verdict
        return PASSED
