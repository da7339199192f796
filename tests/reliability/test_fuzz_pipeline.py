"""Fuzzing the check pipeline in-process: a million seeded mutations, Hypothesis, and atheris.

Failures are: any exception (building the request, the pipeline, rendering), a stage that raised
(Forward("check_error")), a rejection rendering a 5xx, a verdict that changes when run again.

The mutation run takes about a minute on two cores. CLEVER_PROXY_FUZZ_INPUTS and CLEVER_PROXY_FUZZ_SEED
change its size and seeds (`python -m tests.reliability.fuzzing N` runs one worker from a shell);
CLEVER_PROXY_FUZZ_SECONDS sets the atheris run's length (15 s by default).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxy.contract import RULE_NAMES
from tests.reliability.conftest import SecretsWatch
from tests.reliability.fuzzing import (
    AUTHS,
    JSON_VALUES,
    QUERIES,
    TOKENS,
    Case,
    Checker,
    run_worker,
)
from tests.reliability.harness import TOKEN

ROOT = Path(__file__).resolve().parents[2]
INPUTS = int(os.environ.get("CLEVER_PROXY_FUZZ_INPUTS", "1000000"))
SEED = int(os.environ.get("CLEVER_PROXY_FUZZ_SEED", "20261203"))
ATHERIS_SECONDS = int(os.environ.get("CLEVER_PROXY_FUZZ_SECONDS", "15"))

SECTION = "5f1b2c3d4e5f6a7b8c9d0e1f"
ASSIGNMENT = "6a1e9f3c-2b7d-4c8e-9f01-23456789abcd"
BODY_ROUTES = (
    ("POST", f"/v3.1/sections/{SECTION}/assignments"),
    ("PATCH", f"/v3.1/sections/{SECTION}/assignments/{ASSIGNMENT}"),
    ("PATCH", f"/v3.1/sections/{SECTION}/assignments/{ASSIGNMENT}/submissions/{SECTION}"),
)


def test_a_million_mutated_requests(secrets_watch: SecretsWatch) -> None:
    workers = max(1, min(len(os.sched_getaffinity(0)), 4))
    per_worker = -(-INPUTS // workers)
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        outcomes = pool.starmap(run_worker, [(SEED + k, per_worker) for k in range(workers)])
    elapsed = time.perf_counter() - started
    generated = per_worker * workers
    verdicts: Counter[str] = Counter()
    failures: list[str] = []
    for outcome in outcomes:
        verdicts.update(outcome.verdicts)
        failures.extend(outcome.failures)
        secrets_watch.extra.extend(outcome.log)
    print(
        f"\nfuzz: {generated} generated inputs ({sum(o.inputs for o in outcomes)} runs) in {elapsed:.1f}s "
        f"on {workers} processes; {dict(verdicts.most_common())}"
    )
    assert generated >= INPUTS
    assert failures == []
    # The generator reaches every rule (a fuzzer stuck before the body stages would prove little).
    assert {f"reject:{rule}" for rule in RULE_NAMES} <= set(verdicts)
    assert verdicts["forward:passed"] > 0 and verdicts["forward:uncertain"] > 0


# --- Hypothesis: JSON-shaped bodies ----------------------------------------------------------------

_FIELDS = st.sampled_from(
    (
        "title",
        "description",
        "due_date",
        "display_date",
        "start_date",
        "end_date",
        "points_possible",
        "grading_type",
        "submission_types",
        "assignee_mode",
        "assignee_ids",
        "max_attempts",
        "term_id",
        "attachments",
        "grade_points",
        "grade_comment",
        "grade",
        "state",
        "flags",
        "extra_attempts",
        "override_due_date",
        "type",
        "url",
        "description_plaintext",
        "grader_id",
    )
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from([v for v in JSON_VALUES if isinstance(v, str)]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(_FIELDS | st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=16,
)
_DOCUMENTS = st.dictionaries(_FIELDS, _VALUES, max_size=8)


@st.composite
def _json_bytes(draw: st.DrawFn) -> bytes:
    doc = draw(st.one_of(_DOCUMENTS, _VALUES))
    separators = draw(st.sampled_from(((",", ":"), (", ", ": "), (" ,", " : "))))
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()), separators=separators)
    data = text.encode("utf-8", "surrogatepass")
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(data)))
        edit = draw(st.sampled_from(("insert", "delete", "cut")))
        if edit == "insert":
            data = data[:at] + draw(st.sampled_from(TOKENS) | st.binary(max_size=4)) + data[at:]
        elif edit == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 5)) :]
        else:
            data = data[:at]
    return data


_CHECKER: list[Checker] = []


def _checker() -> Checker:
    if not _CHECKER:
        _CHECKER.append(Checker())
    return _CHECKER[0]


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(route=st.sampled_from(BODY_ROUTES), body=_json_bytes() | st.binary(max_size=64))
def test_hypothesis_json_shaped_bodies(route: tuple[str, str], body: bytes) -> None:
    case = Case(route[0], route[1], {"Authorization": f"Bearer {TOKEN}"}, body)
    first, failure = _checker().verdict(case)
    assert failure is None, failure
    assert _checker().verdict(case)[0] == first


_SEGMENT = st.lists(
    st.characters(codec="utf-8", exclude_characters="/?#") | st.sampled_from(("%", "%2F", "%00", "..", ".")),
    max_size=24,
).map("".join)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(
    method=st.sampled_from(("GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS")),
    shape=st.integers(0, 3),
    section=_SEGMENT,
    assignment=_SEGMENT,
    query=st.sampled_from(QUERIES) | st.text(max_size=20),
    auth=st.sampled_from(AUTHS),
    body=st.none() | _json_bytes(),
)
def test_hypothesis_paths_queries_and_headers(
    method: str, shape: int, section: str, assignment: str, query: str, auth: str | None, body: bytes | None
) -> None:
    parts = ["", "v3.1", "sections", section, "assignments", assignment, "submissions", SECTION]
    target = "/".join(parts[: 4 + shape + (shape > 0)]) + (f"?{query}" if query else "")
    headers = {"Authorization": auth} if auth is not None else {}
    case = Case(method, target, headers, body)
    first, failure = _checker().verdict(case)
    assert failure is None, failure
    assert _checker().verdict(case)[0] == first


# --- atheris: coverage-guided ------------------------------------------------------------------------


def test_atheris_coverage_guided_run(tmp_path: Path, secrets_watch: SecretsWatch) -> None:
    try:
        import atheris  # noqa: F401
    except ImportError:
        pytest.skip("atheris is not installed (pip install atheris); the mutation fuzzer still ran")
    from tests.reliability.atheris_target import write_seeds

    corpus = tmp_path / "corpus"
    assert write_seeds(corpus) > 10
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.reliability.atheris_target",
            f"-max_total_time={ATHERIS_SECONDS}",
            "-seed=1",
            "-rss_limit_mb=2048",
            f"-artifact_prefix={tmp_path}/",
            str(corpus),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=ATHERIS_SECONDS + 60,
        check=False,
    )
    secrets_watch.extra.append(proc.stdout)
    crashes = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "timeout-", "oom-")))
    assert proc.returncode == 0 and not crashes, proc.stderr[-3000:]
    runs = [line for line in proc.stderr.splitlines() if line.startswith("Done ")]
    assert runs, proc.stderr[-2000:]
    print(f"\natheris: {runs[-1]}, corpus {len(list(corpus.iterdir()))} inputs")
