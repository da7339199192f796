"""deploy/prometheus: promtool on the scrape config, the alert rules and their unit tests; rule hygiene."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.deploy.support import (
    JOB,
    PROMETHEUS_DIR,
    find_tool,
    load_yaml,
    promql_problems,
    run,
)

PROMTOOL = find_tool("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (Debian package 'prometheus')"
)
ALERTS = PROMETHEUS_DIR / "alerts.yml"
DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")


def alert_rules() -> list[dict[str, object]]:
    return [rule for group in load_yaml(ALERTS)["groups"] for rule in group["rules"]]


def _promtool(*args: str, cwd: Path) -> None:
    assert PROMTOOL is not None
    result = run([PROMTOOL, *args], cwd=cwd)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_promtool_check_config(tmp_path: Path) -> None:
    _promtool("check", "config", str(PROMETHEUS_DIR / "prometheus.yml"), cwd=tmp_path)


@needs_promtool
def test_promtool_check_rules(tmp_path: Path) -> None:
    _promtool("check", "rules", str(ALERTS), cwd=tmp_path)


@needs_promtool
def test_promtool_test_rules(tmp_path: Path) -> None:
    _promtool("test", "rules", str(PROMETHEUS_DIR / "alerts_test.yml"), cwd=tmp_path)


def test_scrape_config_has_the_job_the_rules_select() -> None:
    config = load_yaml(PROMETHEUS_DIR / "prometheus.yml")
    assert config["rule_files"] == ["alerts.yml"]
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == JOB]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    patterns = [f for sd in job["file_sd_configs"] for f in sd["files"]]
    matched = [p for pattern in patterns for p in PROMETHEUS_DIR.glob(pattern)]
    assert matched, f"no target file matches {patterns}"


def test_every_alert_is_documented_and_unit_tested() -> None:
    tests = load_yaml(PROMETHEUS_DIR / "alerts_test.yml")
    firing: set[str] = set()
    quiet: set[str] = set()
    for case in tests["tests"]:
        for check in case.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = [str(rule["alert"]) for rule in alert_rules()]
    assert len(names) == len(set(names)), "duplicate alert names"
    required = {
        "CleverProxyDown",
        "CleverProxyLocalRejectionRatioSpike",
        "CleverProxyUpstreamErrors",
        "CleverProxyUpstreamLatencyHigh",
        "CleverProxyReadinessFlapping",
    }
    assert required <= set(names)
    for rule in alert_rules():
        name = str(rule["alert"])
        assert name in firing, f"{name}: no unit test where it fires"
        assert name in quiet, f"{name}: no unit test where it stays quiet"
        labels = rule["labels"]
        annotations = rule["annotations"]
        assert isinstance(labels, dict) and isinstance(annotations, dict)
        assert labels.get("severity") in ("critical", "warning"), name
        assert annotations.get("summary") and annotations.get("description"), name
        if "for" in rule:
            assert DURATION.match(str(rule["for"])), f"{name}: bad duration {rule['for']!r}"


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda r: str(r["alert"]))
def test_alert_expressions_use_exported_series(rule: dict[str, object]) -> None:
    assert promql_problems(str(rule["expr"])) == []
