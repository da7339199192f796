"""End to end on loopback: the sandbox, the proxy in front of it, and a real Prometheus scraping the
proxy with the deploy scrape job and alert rules. Traffic goes through the proxy; the assertions go
through Prometheus' HTTP API, as an operator's queries would.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.support import (
    GRAFANA_DIR,
    JOB,
    PROMETHEUS_DIR,
    SITE_CONFIG,
    Process,
    find_tool,
    free_port,
    healthcheck_command,
    http,
    http_ok,
    load_yaml,
    port_open,
    proxy_command,
    proxy_env,
    run,
    wait_for,
)

PROMETHEUS = find_tool("prometheus")
PROMTOOL = find_tool("promtool")
TOKEN = "sandbox-district-token"
SECTION = "5f1b2c3d4e5f6a7b8c9d0e1f"
ASSIGNMENT = "6a1e9f3c-2b7d-4c8e-9f01-23456789abcd"
ASSIGNMENTS = f"/v3.1/sections/{SECTION}/assignments"
ONE_ASSIGNMENT = f"{ASSIGNMENTS}/{ASSIGNMENT}"
ONE_ROUTE = "/v3.1/sections/{section_id}/assignments/{assignment_id}"
START_TIMEOUT = 20.0
SCRAPE_TIMEOUT = 30.0


@dataclass
class Stack:
    sandbox: Process
    proxy: Process
    api: str
    admin: str
    admin_port: int
    sandbox_port: int


def start_proxy(name: str, log_dir: Path, upstream: str) -> tuple[Process, str, str, int]:
    """A proxy on free loopback ports, with the deploy settings file (as the image has it)."""
    port, admin_port = free_port(), free_port()
    process = Process(
        name,
        proxy_command(
            "--upstream",
            upstream,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--admin-host",
            "127.0.0.1",
            "--admin-port",
            str(admin_port),
        ),
        log_dir,
        env=proxy_env({"CLEVER_PROXY_CONFIG": str(SITE_CONFIG)}),
    )
    admin = f"http://127.0.0.1:{admin_port}"
    return process, f"http://127.0.0.1:{port}", admin, admin_port


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("stack")
    sandbox_port = free_port()
    started: list[Process] = []
    try:
        sandbox = Process(
            "sandbox",
            proxy_command("sandbox", "--host", "127.0.0.1", "--port", str(sandbox_port)),
            logs,
            env=proxy_env(),
        )
        started.append(sandbox)
        proxy, api, admin, admin_port = start_proxy("proxy", logs, f"http://127.0.0.1:{sandbox_port}")
        started.append(proxy)
        wait_for("the sandbox to listen", lambda: port_open(sandbox_port), START_TIMEOUT, (sandbox,))
        wait_for("the proxy to be ready", lambda: http_ok(f"{admin}/readyz"), START_TIMEOUT, (proxy,))
        yield Stack(sandbox, proxy, api, admin, admin_port, sandbox_port)
    finally:
        for process in reversed(started):
            process.stop()


@pytest.fixture(scope="module")
def prometheus(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Prometheus with deploy/prometheus/prometheus.yml, its targets file pointing at the stack."""
    assert PROMETHEUS is not None
    work = tmp_path_factory.mktemp("prometheus")
    config = load_yaml(PROMETHEUS_DIR / "prometheus.yml")
    config["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    config["rule_files"] = [str(PROMETHEUS_DIR / name) for name in config["rule_files"]]
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == JOB]
    targets = work / "targets"
    targets.mkdir()
    for sd in job["file_sd_configs"]:
        sd["files"] = [str(targets / Path(pattern).name) for pattern in sd["files"]]
    group = {"targets": [f"127.0.0.1:{stack.admin_port}"], "labels": {"environment": "e2e"}}
    (targets / "clever-proxy.json").write_text(json.dumps([group]))
    config_file = work / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config))

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = Process(
        "prometheus",
        [
            PROMETHEUS,
            f"--config.file={config_file}",
            f"--storage.tsdb.path={work / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        work,
        cwd=work,
    )
    try:
        wait_for("Prometheus to be ready", lambda: http_ok(f"{url}/-/ready"), START_TIMEOUT, (process,))
        yield url
    finally:
        process.stop()


def api(prometheus: str, path: str, **params: str) -> Any:
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    reply = http("GET", f"{prometheus}/api/v1/{path}{query}")
    body = reply.json()
    assert reply.status == 200 and body["status"] == "success", f"{path} {params}: {reply.status} {body}"
    return body["data"]


def value(prometheus: str, expr: str) -> float | None:
    """The value of an instant query returning at most one series (None when it returns none)."""
    data = api(prometheus, "query", query=expr)
    result = data["result"]
    assert len(result) <= 1, f"{expr}: {len(result)} series"
    return float(result[0]["value"][1]) if result else None


def send_traffic(api_url: str) -> None:
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    # Answered locally: a body that is not JSON (rule json), no Authorization header (rule auth).
    broken = http(
        "POST", api_url + ASSIGNMENTS, body=b"{", headers=bearer | {"Content-Type": "application/json"}
    )
    assert broken.status == 400, broken
    anonymous = http("GET", api_url + ASSIGNMENTS)
    assert anonymous.status == 401, anonymous
    # Forwarded: a well-formed read; the sandbox has no such assignment.
    for _ in range(2):
        forwarded = http("GET", api_url + ONE_ASSIGNMENT, headers=bearer)
        assert forwarded.status == 404, forwarded


def selector(**labels: str) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in {"job": JOB, **labels}.items()) + "}"


EXPECTED: dict[str, float | None] = {
    f"up{selector()}": 1,
    f"clever_proxy_ready{selector()}": 1,
    f"count(clever_proxy_build_info{selector(environment='e2e')})": 1,
    f"clever_proxy_local_rejections_total{selector(rule='json')}": 1,
    f"clever_proxy_local_rejections_total{selector(rule='auth')}": 1,
    f"sum(clever_proxy_local_rejections_total{selector()})": 2,
    f"clever_proxy_upstream_calls_saved_total{selector()}": 2,
    f"sum(clever_proxy_requests_total{selector(outcome='rejected', status_class='4xx')})": 2,
    f"sum(clever_proxy_requests_total{selector(outcome='forwarded')})": 2,
    f"sum(clever_proxy_forwards_total{selector()})": 2,
    f"clever_proxy_upstream_duration_seconds_count{selector(route=ONE_ROUTE)}": 2,
    f"sum(clever_proxy_request_duration_seconds_count{selector()})": 4,
    f"sum(clever_proxy_upstream_errors_total{selector()})": 0,
    f"clever_proxy_in_flight_requests{selector()}": 0,
}


def observe(prometheus: str) -> dict[str, float | None]:
    return {expr: value(prometheus, expr) for expr in EXPECTED}


def alert_names() -> set[str]:
    groups = load_yaml(PROMETHEUS_DIR / "alerts.yml")["groups"]
    return {rule["alert"] for group in groups for rule in group["rules"]}


def dashboard_queries() -> list[str]:
    dashboard = json.loads((GRAFANA_DIR / "dashboards" / "clever-proxy.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    grafana_variables = {"$__rate_interval": "1m", "$__range": "5m", "$job": ".+", "$instance": ".+"}
    for name, replacement in grafana_variables.items():
        exprs = [e.replace(name, replacement) for e in exprs]
    return exprs


needs_prometheus = pytest.mark.skipif(
    PROMETHEUS is None, reason="the Prometheus server is not installed (Debian package 'prometheus')"
)


@needs_prometheus
def test_prometheus_scrapes_the_proxy_and_evaluates_the_alerts(stack: Stack, prometheus: str) -> None:
    send_traffic(stack.api)

    # Counters and gauges, as scraped.
    deadline = time.monotonic() + SCRAPE_TIMEOUT
    observed = observe(prometheus)
    while observed != EXPECTED and time.monotonic() < deadline:
        time.sleep(0.25)
        observed = observe(prometheus)
    assert observed == EXPECTED, "\n" + stack.proxy.tail()

    # Every alert rule loaded and evaluated without error.
    expected_rules = alert_names()

    def rules_healthy() -> bool:
        rules = [r for g in api(prometheus, "rules")["groups"] for r in g["rules"]]
        return {r["name"] for r in rules} == expected_rules and all(r["health"] == "ok" for r in rules)

    wait_for("every alert rule to evaluate", rules_healthy, SCRAPE_TIMEOUT)
    for group in api(prometheus, "rules")["groups"]:
        for rule in group["rules"]:
            assert rule["type"] == "alerting" and not rule.get("lastError"), rule

    # The proxy is up and scraped: the availability alerts are not even pending (TargetsMissing is
    # pending until the first evaluation after the first scrape).
    quiet = {"CleverProxyDown", "CleverProxyTargetsMissing", "CleverProxyUpstreamErrors"}

    def availability_quiet() -> bool:
        return not quiet & {a["labels"]["alertname"] for a in api(prometheus, "alerts")["alerts"]}

    wait_for("the availability alerts to clear", availability_quiet, SCRAPE_TIMEOUT)

    # Every dashboard query is valid PromQL and, once rates have two scrapes to work with, finds data.
    def empty_dashboard_queries() -> list[str]:
        empty = []
        for expr in dashboard_queries():
            data = api(prometheus, "query", query=expr)
            assert data["resultType"] == "vector", expr
            if not data["result"]:
                empty.append(expr)
        return empty

    deadline = time.monotonic() + SCRAPE_TIMEOUT
    while (empty := empty_dashboard_queries()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert empty == [], "dashboard queries without data"


@dataclass
class LoneProxy:
    process: Process
    api: str
    admin: str


@pytest.fixture
def lone_proxy(stack: Stack, tmp_path: Path) -> Iterator[LoneProxy]:
    """A proxy of its own (in front of the stack's sandbox), for tests whose traffic must not be
    counted by the stack's proxy."""
    upstream = f"http://127.0.0.1:{stack.sandbox_port}"
    process, api_url, admin, _ = start_proxy("lone-proxy", tmp_path, upstream)
    try:
        wait_for("the proxy to be ready", lambda: http_ok(f"{admin}/readyz"), START_TIMEOUT, (process,))
        yield LoneProxy(process, api_url, admin)
    finally:
        process.stop()


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (Debian package 'prometheus')")
def test_live_metrics_pass_promtool_check_metrics(lone_proxy: LoneProxy) -> None:
    assert PROMTOOL is not None
    send_traffic(lone_proxy.api)  # so that the families bound on first use have samples too
    reply = http("GET", f"{lone_proxy.admin}/metrics")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/plain")
    assert b"clever_proxy_request_duration_seconds_bucket{" in reply.body
    result = run([PROMTOOL, "check", "metrics"], input=reply.body.decode())
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(), (
        result.stdout + result.stderr
    )


def test_image_healthcheck_command_probes_the_admin_listener(stack: Stack) -> None:
    command = healthcheck_command()
    command[0] = sys.executable  # `python` on the image's PATH
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEVER_PROXY_")}
    healthy = run(command, env=env | {"CLEVER_PROXY_ADMIN_PORT": str(stack.admin_port)}, timeout=10)
    assert healthy.returncode == 0, healthy.stderr
    closed = run(command, env=env | {"CLEVER_PROXY_ADMIN_PORT": str(free_port())}, timeout=10)
    assert closed.returncode != 0


def test_sigterm_exits_zero_within_the_grace_period(lone_proxy: LoneProxy) -> None:
    """What `docker stop`, Kubernetes and systemd rely on: SIGTERM ends the proxy cleanly."""
    assert http("GET", lone_proxy.api + ASSIGNMENTS).status == 401
    status = lone_proxy.process.terminate(timeout=15)
    assert status == 0, lone_proxy.process.tail()
    assert not port_open(int(lone_proxy.api.rsplit(":", 1)[1])), "the API port is still open"
