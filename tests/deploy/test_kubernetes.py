"""deploy/kubernetes: schema validation of every manifest, structural checks of the Prometheus Operator
resources, and the cross-references a reviewer would otherwise check by eye (selectors, ports, probes,
grace periods, the settings the pod ends up with).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from proxy import settings as settings_mod
from tests.deploy.support import (
    CONFIG_IN_IMAGE,
    CONFIG_MOUNT_DIR,
    DEPLOY,
    JOB,
    KUBERNETES_DIR,
    PROMETHEUS_DIR,
    dockerfile_env,
    find_tool,
    kubernetes_manifest,
    load_yaml,
    load_yaml_documents,
    run,
    settings_env,
)

HAS_VALIDATOR = importlib.util.find_spec("kubernetes_validate") is not None
PROMTOOL = find_tool("promtool")
# The oldest Kubernetes release the manifests are meant for, and the newest the validator knows.
KUBERNETES_VERSIONS = ("1.28.0", "latest")
BUILTIN = ("configmap.yaml", "deployment.yaml", "service.yaml", "hpa.yaml", "pdb.yaml")
OPERATOR = ("servicemonitor.yaml", "prometheusrule.yaml")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DURATION = re.compile(
    r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
)
POD_LABELS = {"app.kubernetes.io/name": "clever-proxy", "app.kubernetes.io/component": "proxy"}


def deployment() -> dict[str, Any]:
    return kubernetes_manifest("deployment.yaml")


def pod_spec() -> dict[str, Any]:
    spec: dict[str, Any] = deployment()["spec"]["template"]["spec"]
    return spec


def container() -> dict[str, Any]:
    (main,) = pod_spec()["containers"]
    assert isinstance(main, dict)
    return main


def container_ports() -> dict[str, int]:
    return {p["name"]: p["containerPort"] for p in container()["ports"]}


def _metadata_ok(manifest: dict[str, Any]) -> None:
    metadata = manifest["metadata"]
    assert DNS_LABEL.match(metadata["name"]), metadata["name"]
    for key, value in metadata.get("labels", {}).items():
        assert isinstance(value, str) and LABEL_VALUE.match(value), f"label {key}={value!r}"


# --- schemas ---------------------------------------------------------------------------------------


@pytest.mark.skipif(not HAS_VALIDATOR, reason="kubernetes-validate not installed (pip kubernetes-validate)")
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("name", BUILTIN)
def test_manifest_matches_the_kubernetes_schema(name: str, version: str) -> None:
    import kubernetes_validate

    manifest = kubernetes_manifest(name)
    target = kubernetes_validate.latest_version() if version == "latest" else version
    try:
        kubernetes_validate.validate(manifest, target, strict=True)
    except kubernetes_validate.ValidationError as error:
        where = ".".join(str(p) for p in error.path)
        pytest.fail(f"{name} against Kubernetes {target}: {where}: {error.message}")


def test_kustomization_lists_every_manifest() -> None:
    kustomization = kubernetes_manifest("kustomization.yaml")
    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert kustomization["kind"] == "Kustomization"
    on_disk = {p.name for p in KUBERNETES_DIR.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(kustomization["resources"]) == sorted(on_disk)
    assert set(on_disk) == set(BUILTIN) | set(OPERATOR)
    (image,) = kustomization["images"]
    assert container()["image"].split(":")[0] == image["name"]
    for name in on_disk:
        _metadata_ok(kubernetes_manifest(name))


# --- Prometheus Operator resources (no schema shipped: checked here) -------------------------------


def test_servicemonitor_scrapes_the_admin_port_of_the_service() -> None:
    monitor = kubernetes_manifest("servicemonitor.yaml")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["kind"] == "ServiceMonitor"
    assert set(monitor) == {"apiVersion", "kind", "metadata", "spec"}
    spec = monitor["spec"]
    assert set(spec) <= {"selector", "endpoints", "namespaceSelector", "jobLabel", "targetLabels"}
    service = kubernetes_manifest("service.yaml")
    # The selector must pick this Service (and the job label, the Service name, is what alerts select).
    assert spec["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert "jobLabel" not in spec and service["metadata"]["name"] == JOB
    service_ports = {p["name"]: p for p in service["spec"]["ports"]}
    assert spec["endpoints"], "no endpoints"
    for endpoint in spec["endpoints"]:
        assert set(endpoint) <= {"port", "path", "scheme", "interval", "scrapeTimeout", "relabelings"}
        assert endpoint["port"] in service_ports, f"{endpoint['port']}: not a port name of the Service"
        assert service_ports[endpoint["port"]]["targetPort"] == "admin"
        assert endpoint.get("path", "/metrics") == "/metrics"
        assert endpoint.get("scheme", "http") == "http"
        for key in ("interval", "scrapeTimeout"):
            assert DURATION.match(endpoint[key]), f"{key}: {endpoint[key]!r}"


def test_prometheusrule_carries_the_same_rules_as_alerts_yml() -> None:
    rule = kubernetes_manifest("prometheusrule.yaml")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["kind"] == "PrometheusRule"
    assert set(rule) == {"apiVersion", "kind", "metadata", "spec"}
    assert set(rule["spec"]) == {"groups"}
    assert rule["spec"]["groups"] == load_yaml(PROMETHEUS_DIR / "alerts.yml")["groups"]
    for group in rule["spec"]["groups"]:
        assert set(group) <= {"name", "interval", "rules", "partial_response_strategy", "limit"}
        for item in group["rules"]:
            assert set(item) <= {"alert", "record", "expr", "for", "labels", "annotations"}
            assert ("alert" in item) != ("record" in item)
            assert all(isinstance(v, str) for v in item.get("labels", {}).values())
            assert all(isinstance(v, str) for v in item.get("annotations", {}).values())


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (Debian package 'prometheus')")
def test_prometheusrule_spec_passes_promtool(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump(kubernetes_manifest("prometheusrule.yaml")["spec"]))
    assert PROMTOOL is not None
    result = run([PROMTOOL, "check", "rules", str(rules)], cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


# --- the Deployment and its neighbours -------------------------------------------------------------


def test_selectors_and_labels_agree() -> None:
    spec = deployment()["spec"]
    assert spec["selector"]["matchLabels"] == POD_LABELS
    assert spec["template"]["metadata"]["labels"].items() >= POD_LABELS.items()
    assert "replicas" not in spec, "the HorizontalPodAutoscaler owns the replica count"
    service = kubernetes_manifest("service.yaml")
    assert service["spec"]["selector"] == POD_LABELS
    assert kubernetes_manifest("pdb.yaml")["spec"]["selector"]["matchLabels"] == POD_LABELS
    (spread,) = pod_spec()["topologySpreadConstraints"]
    assert spread["labelSelector"]["matchLabels"] == POD_LABELS


def test_service_ports_reach_container_ports() -> None:
    ports = container_ports()
    assert set(ports) == {"http", "admin"}
    for port in kubernetes_manifest("service.yaml")["spec"]["ports"]:
        assert port["targetPort"] in ports, port
    assert kubernetes_manifest("service.yaml")["spec"]["type"] == "ClusterIP"


def test_probes_use_the_admin_listener() -> None:
    main = container()
    expected = {"startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"}
    for probe, path in expected.items():
        get = main[probe]["httpGet"]
        assert get["path"] == path, probe
        assert get["port"] == "admin", probe
        assert main[probe]["timeoutSeconds"] <= main[probe]["periodSeconds"], probe


def test_shutdown_fits_in_the_grace_period(tmp_path: Path) -> None:
    spec = pod_spec()
    command = container()["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep" and len(command) == 2, command
    pre_stop = float(command[1])
    settings = pod_settings(tmp_path)
    assert pre_stop >= 5, "endpoints need a few seconds to drop the pod before it drains"
    margin = spec["terminationGracePeriodSeconds"] - (pre_stop + settings.shutdown_grace_seconds)
    assert margin >= 5, f"terminationGracePeriodSeconds leaves only {margin}s after preStop and the drain"


def test_pod_is_locked_down() -> None:
    spec = pod_spec()
    main = container()
    assert spec["securityContext"]["runAsNonRoot"] is True
    image_user = _image_user()
    assert spec["securityContext"]["runAsUser"] == image_user
    assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert spec["automountServiceAccountToken"] is False
    security = main["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["runAsNonRoot"] is True
    assert security["capabilities"]["drop"] == ["ALL"]
    resources = main["resources"]
    assert {"cpu", "memory"} <= set(resources["requests"]) and "memory" in resources["limits"]
    # Service links would inject CLEVER_PROXY_SERVICE_HOST & co. (ignored) and every Service address.
    assert spec["enableServiceLinks"] is False


def _image_user() -> int:
    text = (DEPLOY / "Dockerfile").read_text()
    match = re.search(r"^ARG APP_UID=(\d+)$", text, re.MULTILINE)
    assert match, "the Dockerfile declares no APP_UID"
    return int(match.group(1))


def test_hpa_and_pdb_target_the_deployment() -> None:
    hpa = kubernetes_manifest("hpa.yaml")
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["apiVersion"], target["kind"], target["name"]) == (
        "apps/v1",
        "Deployment",
        deployment()["metadata"]["name"],
    )
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    # A utilisation target needs a CPU request to be measured against.
    assert "cpu" in container()["resources"]["requests"]
    pdb = kubernetes_manifest("pdb.yaml")
    assert pdb["spec"]["maxUnavailable"] < hpa["spec"]["minReplicas"]


def pod_settings(tmp_path: Path) -> settings_mod.Settings:
    """The settings a pod starts with: image ENV, then container env, the ConfigMap as the file."""
    configmap = kubernetes_manifest("configmap.yaml")
    volumes = {v["name"]: v for v in pod_spec()["volumes"]}
    mounts = {m["mountPath"]: m for m in container()["volumeMounts"]}
    mount = mounts[CONFIG_MOUNT_DIR]
    assert mount["readOnly"] is True
    assert volumes[mount["name"]]["configMap"]["name"] == configmap["metadata"]["name"]
    env = dockerfile_env(DEPLOY / "Dockerfile")
    env.update({item["name"]: item["value"] for item in container()["env"]})
    config_file = env["CLEVER_PROXY_CONFIG"]
    assert config_file == CONFIG_IN_IMAGE
    key = config_file.removeprefix(CONFIG_MOUNT_DIR + "/")
    assert key in configmap["data"], f"the ConfigMap has no {key}"
    local = tmp_path / key
    local.write_text(configmap["data"][key])
    return settings_mod.load(local, environ=settings_env(env))


def test_pod_settings_are_valid_and_match_the_ports(tmp_path: Path) -> None:
    settings = pod_settings(tmp_path)
    ports = container_ports()
    assert settings.listen_host == "0.0.0.0" and settings.admin_host == "0.0.0.0"
    assert (settings.listen_port, settings.admin_port) == (ports["http"], ports["admin"])
    assert settings.upstream_url.startswith("https://")


def test_configmap_matches_the_site_config() -> None:
    """The ConfigMap's file and deploy/config/clever-proxy.toml set the same values."""
    import tomllib

    configmap = kubernetes_manifest("configmap.yaml")
    (text,) = configmap["data"].values()
    site = tomllib.loads((DEPLOY / "config" / "clever-proxy.toml").read_text())
    assert tomllib.loads(text) == site


def test_every_document_is_a_single_resource() -> None:
    for path in KUBERNETES_DIR.glob("*.yaml"):
        assert len(load_yaml_documents(path)) == 1, path.name
