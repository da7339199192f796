"""deploy/grafana: the dashboard's structure and queries, and the provisioning that loads it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.deploy.support import DEPLOY, GRAFANA_DIR, load_yaml, promql_problems

DASHBOARD_FILE = GRAFANA_DIR / "dashboards" / "clever-proxy.json"
PANEL_TYPES = {"timeseries", "stat", "heatmap", "gauge", "bargauge", "table", "text", "row"}
GRID_WIDTH = 24


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD_FILE.read_text())
    return data


def panels() -> list[dict[str, Any]]:
    return [p for p in dashboard()["panels"] if p["type"] != "row"]


def dashboard_expressions() -> list[str]:
    return [t["expr"] for p in panels() for t in p.get("targets", [])]


def variables() -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in dashboard()["templating"]["list"]}


def test_dashboard_identity() -> None:
    data = dashboard()
    assert data["uid"] == "clever-proxy"
    assert data["title"]
    assert isinstance(data["schemaVersion"], int) and data["schemaVersion"] >= 36
    assert "id" not in data or data["id"] is None, "a provisioned dashboard must not carry a database id"


def test_panel_ids_are_unique_integers() -> None:
    ids = [p["id"] for p in dashboard()["panels"]]
    assert all(isinstance(i, int) for i in ids)
    assert len(ids) == len(set(ids))


def test_panels_fit_the_grid_without_overlapping() -> None:
    taken: set[tuple[int, int]] = set()
    for panel in dashboard()["panels"]:
        grid = panel["gridPos"]
        assert set(grid) >= {"h", "w", "x", "y"}, panel["title"]
        assert all(isinstance(grid[k], int) and grid[k] >= 0 for k in "hwxy"), panel["title"]
        assert grid["w"] > 0 and grid["h"] > 0 and grid["x"] + grid["w"] <= GRID_WIDTH, panel["title"]
        cells = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & taken, f"{panel['title']}: overlaps another panel"
        taken |= cells


@pytest.mark.parametrize("panel", panels(), ids=lambda p: str(p["title"]))
def test_panel_queries_prometheus(panel: dict[str, Any]) -> None:
    assert panel["type"] in PANEL_TYPES
    assert panel["title"] and panel.get("description")
    datasource = panel["datasource"]
    assert datasource["type"] == "prometheus"
    assert datasource["uid"] == "${datasource}"
    targets = panel["targets"]
    assert targets, "no queries"
    ref_ids = [t["refId"] for t in targets]
    assert len(ref_ids) == len(set(ref_ids)), "duplicate refId"
    for target in targets:
        assert target.get("datasource", datasource) == datasource
        expr = target["expr"]
        assert expr.strip()
        assert promql_problems(expr) == [], expr
        # Every query honours the dashboard's job and instance selectors.
        assert 'job=~"$job"' in expr and 'instance=~"$instance"' in expr, expr


def test_dashboard_covers_the_operating_questions() -> None:
    joined = "\n".join(dashboard_expressions())
    for needed in (
        "clever_proxy_requests_total",
        "clever_proxy_local_rejections_total",
        "clever_proxy_request_duration_seconds_bucket",
        "clever_proxy_upstream_duration_seconds_bucket",
        "clever_proxy_upstream_errors_total",
        "clever_proxy_in_flight_requests",
        "clever_proxy_upstream_calls_saved_total",
    ):
        assert needed in joined, f"no panel shows {needed}"
    assert any(p["type"] == "heatmap" for p in panels())
    assert "histogram_quantile(0.99" in joined


def test_variables_resolve() -> None:
    found = variables()
    assert found["datasource"]["type"] == "datasource" and found["datasource"]["query"] == "prometheus"
    for name in ("job", "instance"):
        assert found[name]["type"] == "query"
        assert found[name]["datasource"]["uid"] == "${datasource}"
        query = found[name]["query"]
        text = query["query"] if isinstance(query, dict) else query
        match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", text)
        assert match, text
        assert promql_problems(match.group(1)) == []
        assert match.group(2) == name


def test_provisioning_points_at_the_dashboard_and_prometheus() -> None:
    sources = load_yaml(GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml")
    assert sources["apiVersion"] == 1
    (source,) = sources["datasources"]
    assert source["type"] == "prometheus" and source["access"] == "proxy"
    compose = load_yaml(DEPLOY / "docker-compose.yml")
    # The data source URL is Prometheus' address on the compose network.
    assert source["url"] == "http://prometheus:9090"
    assert "prometheus" in compose["services"]

    providers = load_yaml(GRAFANA_DIR / "provisioning" / "dashboards" / "clever-proxy.yml")
    assert providers["apiVersion"] == 1
    (provider,) = providers["providers"]
    assert provider["type"] == "file"
    mounts = dict(
        volume.split(":")[:2]
        for volume in compose["services"]["grafana"]["volumes"]
        if volume.startswith("./")
    )
    assert mounts["./grafana/dashboards"] == provider["options"]["path"]
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
    home = compose["services"]["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{provider['options']['path']}/{DASHBOARD_FILE.name}"
