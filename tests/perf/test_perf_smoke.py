"""The benchmark suite runs and produces well-formed results (no timing is asserted).

Marked slow: deselected from the default test run; run it with `python -m pytest -m slow tests/perf`.
The socket part needs wrk, nginx and taskset and is skipped without them.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.perf import breakdown, catalog, micro

pytestmark = pytest.mark.slow

RUN = Path(__file__).with_name("run.py")
BREAKDOWN = Path(__file__).with_name("breakdown.py")
SUMMARY_KEYS = ("median_us", "p99_us", "n")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _run_script(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """One of the suite's commands, as a user runs it; it must succeed."""
    done = subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_the_catalog_matches_what_the_pipeline_decides() -> None:
    result = micro.run(iterations=5, rounds=1, budget_s=0.001)
    cases = result["cases"]
    for r in catalog.REJECT:
        assert cases[f"reject_{r.name}"]["verdict"] == f"reject:{r.expect_rule}"
    for name in ("valid_get", "valid_create_1k", "valid_grade_patch", "big_create_100k_ids"):
        assert cases[name]["verdict"] == "forward:passed"
    assert len(catalog.CREATE_1K) == 1024
    assert len(catalog.CREATE_100K_IDS) == len(catalog.CREATE_100K_TEXT) == 100 * 1024


def test_micro_reports_every_case_with_both_json_paths() -> None:
    result = micro.run(iterations=20, rounds=2, budget_s=0.001)
    json.dumps(result)  # serialisable as written by --json
    assert result["meta"]["timer_overhead_ns"] >= 0
    for name, case in result["cases"].items():
        assert case["kind"] in ("valid", "reject", "big"), name
        for measure in ("pipeline", "inspect"):
            assert all(_number(case[measure][k]) for k in SUMMARY_KEYS), (name, measure)
            assert case[measure]["n"] > 0
        if case["json_path"] is not None:
            assert case["json_path"] in ("fast", "exact")
            assert case["json_fast"]["n"] > 0 and case["json_exact"]["n"] > 0
    assert {t["met"] for t in result["targets"]} <= {True, False}
    assert "| valid_create_1k |" in micro.markdown(result)


@pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in ("wrk", "nginx", "taskset")),
    reason="needs wrk, nginx and taskset (apt-get install -y wrk nginx-light)",
)
def test_run_smoke_produces_a_well_formed_result(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    done = _run_script(RUN, "--smoke", "--out", str(out))
    result = json.loads(out.read_text())
    assert out.with_suffix(".md").read_text().startswith("## clever-proxy benchmarks")
    assert "| (c)/(b) throughput |" in done.stdout

    targets = result["targets"]
    for name in ("a", "b", "c", "d"):
        assert isinstance(targets[name]["valid"], bool)
        load, c1 = targets[name]["load"], targets[name]["c1"]
        for summary in (load, c1):
            assert summary["rounds"] >= 1
            assert summary["requests_total"] > 0
            assert all(_number(summary[k]) for k in ("rps", "p50_ms", "p99_ms", "cpu_us_per_req"))
        assert targets[name]["rss_kib"] > 0
    assert targets["e"].get("status") == "not available" or _number(targets["e"]["load"]["rps"])
    for name in ("b_get", "c_post", "c_nolog", "d_noenc"):
        assert targets[name]["load"]["requests_total"] > 0

    ratios = result["ratios"]
    assert isinstance(result["valid"], bool)
    for key in ("c_over_b_throughput", "c_over_b_cpu_efficiency", "d_over_c_throughput"):
        # A target that answered wrongly (a proxy regression) gives no ratio; the run is then invalid.
        assert _number(ratios[key]) or (ratios[key] is None and not result["valid"])
    assert ratios["e_over_c_throughput"] == "not available" or _number(ratios["e_over_c_throughput"])
    assert {c["met"] for c in ratios["checks"]} <= {True, False, None}

    for key in ("forward", "reject"):
        rss = result["rss_growth"][key]
        assert rss["points"][0]["requests"] == 0
        assert rss["to_requests"] >= rss["from_requests"] > 0
        assert _number(rss["growth_pct"])
    assert result["micro"]["cases"]["valid_create_1k"]["pipeline"]["n"] > 0
    assert isinstance(result["warnings"], list)
    # No server is left behind: every process the suite started is gone (or a zombie of init's).
    assert result["meta"]["pids"]
    assert [pid for pid in result["meta"]["pids"] if _alive(pid)] == []


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


@pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in ("wrk", "taskset")),
    reason="needs wrk and taskset (apt-get install -y wrk)",
)
def test_breakdown_measures_every_step(tmp_path: Path) -> None:
    out = tmp_path / "breakdown.json"
    done = _run_script(BREAKDOWN, "--rounds", "1", "--seconds", "1", "--out", str(out))
    result = json.loads(out.read_text())
    assert list(result["steps"]) == list(breakdown.STEPS)
    assert all(_number(v) and v > 0 for v in result["steps"].values())
    assert "| access_log |" in done.stdout
