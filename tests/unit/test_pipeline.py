"""The pipeline alone (no sockets): stage order, rule switches, check errors, contract data."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from proxy import contract as contract_mod
from proxy import pipeline as pipeline_mod
from proxy.contract import Contract
from proxy.pipeline import Pipeline, Policy
from proxy.verdict import Forward, Reject
from tests.factories import parsed

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
SECTION = "5f1b2c3d4e5f6a7b8c9d0e1f"
ASSIGNMENT = "6a1e9f3c-2b7d-4c8e-9f01-23456789abcd"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pipeline(contract: Contract) -> Pipeline:
    return Pipeline(contract, Policy())


def run(pipeline: Pipeline, method: str, target: str, body: bytes | None = None, **kw: object) -> object:
    return pipeline.run(parsed(pipeline.contract, method, target, body, **kw), NOW)  # type: ignore[arg-type]


def test_a_bad_body_is_reported_before_a_bad_section_id(pipeline: Pipeline) -> None:
    v = run(pipeline, "POST", "/v3.1/sections/abc/assignments", b"{")
    assert v == Reject("json", "json", "bad_request", "unexpected EOF")


def test_a_bad_section_id_is_reported_before_an_enum_error(pipeline: Pipeline) -> None:
    v = run(pipeline, "POST", "/v3.1/sections/abc/assignments", b'{"submission_types":["x"]}')
    assert isinstance(v, Reject) and v.rule == "path_format"
    assert v.message == 'section_id in path must be of type mongo-id: "abc"'


def test_limit_parse_comes_before_and_limit_range_after_the_path_formats(pipeline: Pipeline) -> None:
    base = f"/v3.1/sections/abc/assignments/{ASSIGNMENT}/submissions"
    parse = run(pipeline, "GET", base + "?limit=abc")
    assert isinstance(parse, Reject) and parse.stage == "query_parse"
    ranged = run(pipeline, "GET", base + "?limit=1000")
    assert isinstance(ranged, Reject) and ranged.stage == "path_format"


def test_several_enum_errors_are_listed_in_lexical_order(pipeline: Pipeline) -> None:
    body = b'{"submission_types":["z"],"grading_type":"y","assignee_mode":"x"}'
    v = run(pipeline, "PATCH", f"/v3.1/sections/{SECTION}/assignments/{ASSIGNMENT}", body)
    assert isinstance(v, Reject)
    assert v.message == (
        "validation failure list:\n"
        "assignee_mode in body should be one of [all individuals]\n"
        "grading_type in body should be one of [points percent pass_fail letter_grade]\n"
        "submission_types.0 in body should be one of [link file text discussion]"
    )


def test_one_uncertain_field_makes_the_whole_schema_stage_uncertain(pipeline: Pipeline) -> None:
    body = b'{"grading_type":"bogus","attachments":[{"type":"link"}]}'
    v = run(pipeline, "PATCH", f"/v3.1/sections/{SECTION}/assignments/{ASSIGNMENT}", body)
    assert v == Forward("uncertain", "schema")


def test_a_switched_off_rule_forwards_instead_of_letting_a_later_stage_answer(contract: Contract) -> None:
    off = Pipeline(contract, Policy.with_modes("enforce", {"json": "off"}))
    v = off.run(parsed(contract, "POST", "/v3.1/sections/abc/assignments", b"{"), NOW)
    assert v == Forward("rule_off", "json")


def test_a_shadowed_rule_forwards_with_its_prediction(contract: Contract) -> None:
    shadow = Pipeline(contract, Policy.with_modes("shadow"))
    v = shadow.run(parsed(contract, "POST", "/v3.1/sections/abc/assignments", b"{"), NOW)
    assert v == Forward("shadow", "json", Reject("json", "json", "bad_request", "unexpected EOF"))


def test_a_stage_that_raises_forwards_the_request(
    pipeline: Pipeline, caplog: pytest.LogCaptureFixture
) -> None:
    req = parsed(pipeline.contract, "GET", f"/v3.1/sections/{SECTION}/assignments/{ASSIGNMENT}")
    broken = replace(req, path_vars={})  # inconsistent on purpose: path_format will raise KeyError
    logger = logging.getLogger("clever_proxy")  # may not propagate once a running proxy set logging up
    logger.addHandler(caplog.handler)
    pipeline_mod._REPORTED.clear()
    try:
        for _ in range(3):
            assert pipeline.run(broken, NOW) == Forward("check_error", "path_format")
    finally:
        logger.removeHandler(caplog.handler)
    # The same record may reach caplog's handler twice (through the logger and by propagation).
    lines = [r.getMessage() for r in {id(r): r for r in caplog.records}.values()]
    assert len(lines) == 3 and all("check stage path_format failed (KeyError)" in m for m in lines)
    # Where it was raised, once: the frames name the check's code, never the exception's text.
    assert "in check_path_format\n    value = req.path_vars[param.name]" in lines[0]
    assert "Raised at" not in lines[1] and "Raised at" not in lines[2]
    assert "'section_id'" not in caplog.text


def test_the_skew_margin_decides_between_reject_and_forward(contract: Contract) -> None:
    p = Pipeline(contract, Policy(due_date_skew=timedelta(minutes=5)))
    target = f"/v3.1/sections/{SECTION}/assignments"
    for minutes_ago, expected in ((10, "reject"), (4, "forward"), (-1, "pass")):
        due = (NOW - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
        v = p.run(
            parsed(
                contract, "POST", target, f'{{"title":"t","description":"d","due_date":"{due}"}}'.encode()
            ),
            NOW,
        )
        kind = "reject" if isinstance(v, Reject) else ("pass" if v.reason == "passed" else "forward")
        assert kind == expected, (minutes_ago, v)


def test_an_enum_value_added_in_the_contract_file_is_accepted_and_listed(tmp_path: Path) -> None:
    text = (ROOT / "config" / "contract.toml").read_text()
    path = tmp_path / "contract.toml"
    path.write_text(
        text.replace('["excused", "late", "missing"]', '["excused", "late", "missing", "incomplete"]')
    )
    grown = Pipeline(contract_mod.load(path), Policy())
    target = f"/v3.1/sections/{SECTION}/assignments/{ASSIGNMENT}/submissions/{SECTION}"
    assert grown.run(parsed(grown.contract, "PATCH", target, b'{"flags":["incomplete"]}'), NOW) == Forward(
        "passed"
    )
    v = grown.run(parsed(grown.contract, "PATCH", target, b'{"flags":["graded"]}'), NOW)
    assert isinstance(v, Reject)
    assert v.message.endswith("flags.0 in body should be one of [excused late missing incomplete]")


@pytest.mark.parametrize(
    ("offset", "uncertain"),
    [("+24:00", False), ("+25:00", True), ("+99:99", True), ("-23:61", True), ("+05:30", False)],
)
def test_zone_offsets_later_go_refuses_make_the_body_uncertain(
    pipeline: Pipeline, offset: str, uncertain: bool
) -> None:
    # Go 1.19 accepts any two-digit offset; Go >= 1.20 rejects hours > 24 and minutes > 60 while parsing.
    body = f'{{"max_attempts":"x","due_date":"2031-01-01T00:00:00.000{offset}"}}'.encode()
    v = run(pipeline, "PATCH", f"/v3.1/sections/{SECTION}/assignments/{ASSIGNMENT}", body)
    if uncertain:
        assert v == Forward("uncertain", "json")
    else:
        assert isinstance(v, Reject) and v.rule == "json" and "max_attempts" in v.message


def test_repeated_rejections_keep_no_memory(pipeline: Pipeline) -> None:
    """Regression: a shared exception instance once chained every raise's traceback (and frames)."""
    import gc
    import tracemalloc

    target = f"/v3.1/sections/{SECTION}/assignments"
    bodies = [
        b'{"assignee_mode": ,}',
        b'{"title":5}',
        b'{"due_date":"2024-02-30"}',
        b'{"submission_types":["x"]}',
    ]
    requests = [parsed(pipeline.contract, "POST", target, body) for body in bodies]

    def rounds(n: int) -> None:
        for _ in range(n):
            for req in requests:
                assert isinstance(pipeline.run(req, NOW), Reject)

    tracemalloc.start()
    try:
        rounds(200)
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        rounds(2000)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 256 * 1024, f"{grown} bytes kept after 8000 rejections"


def test_a_version_dependent_date_after_a_certain_abort_does_not_hide_the_abort(pipeline: Pipeline) -> None:
    # Go stops at the first end_date (a bool into a date) in every version; the +99:99 never matters.
    body = b'{"end_date":true,"due_date":"2099-05-01T17:00:00+99:99","end_date":"2099-12-20T00:00:00Z"}'
    v = run(pipeline, "PATCH", f"/v3.1/sections/{SECTION}/assignments/{ASSIGNMENT}", body)
    assert isinstance(v, Reject) and v.rule == "json"
    assert v.message.endswith("AssignmentRequest.end_date of type string")
