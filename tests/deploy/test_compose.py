"""deploy/docker-compose.yml: structure, files it mounts, ports, and the settings the proxy gets."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from proxy import settings as settings_mod
from tests.deploy.support import (
    CONFIG_IN_IMAGE,
    DEPLOY,
    JOB,
    PROMETHEUS_DIR,
    REPO,
    dockerfile_env,
    load_yaml,
    settings_env,
)

COMPOSE = DEPLOY / "docker-compose.yml"
SERVICES = {"clever-proxy", "sandbox", "prometheus", "grafana"}


def compose() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(COMPOSE)
    return data


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)(s|m)", duration)
    assert match, duration
    return int(match.group(1)) * (60 if match.group(2) == "m" else 1)


def test_services() -> None:
    assert set(services()) == SERVICES
    for name, service in services().items():
        assert "image" in service, name
        assert service.get("restart") == "unless-stopped", name


def test_images_build_from_the_repository() -> None:
    for name in ("clever-proxy", "sandbox"):
        service = services()[name]
        build = service["build"]
        context = (COMPOSE.parent / build["context"]).resolve()
        assert context == REPO.resolve(), name
        assert (context / build["dockerfile"]).is_file(), name
        assert service["image"] == services()["clever-proxy"]["image"]
    for name in ("prometheus", "grafana"):
        image = services()[name]["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name}: pin the image tag"


def test_bind_mounts_exist_and_named_volumes_are_declared() -> None:
    declared = set(compose().get("volumes", {}))
    for name, service in services().items():
        for volume in service.get("volumes", []):
            source, target, *mode = volume.split(":")
            assert target.startswith("/"), volume
            if source.startswith("."):
                assert (COMPOSE.parent / source).exists(), f"{name}: {source} does not exist"
                assert mode == ["ro"], f"{name}: mount {source} read-only"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"


def test_ports_are_published_on_loopback_only() -> None:
    published = []
    for name, service in services().items():
        for port in service.get("ports", []):
            host, host_port, _container = str(port).split(":")
            assert host == "127.0.0.1", f"{name}: {port}"
            published.append(int(host_port))
    assert len(published) == len(set(published)), "two services publish the same host port"


def proxy_settings() -> settings_mod.Settings:
    """What the compose proxy runs with: image ENV, compose environment, the mounted settings file."""
    service = services()["clever-proxy"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in service["volumes"]}
    config = (COMPOSE.parent / mounts[CONFIG_IN_IMAGE]).resolve()
    env = dockerfile_env(DEPLOY / "Dockerfile") | service.get("environment", {})
    return settings_mod.load(config, environ=settings_env(env))


def test_proxy_forwards_to_the_sandbox() -> None:
    settings = proxy_settings()
    sandbox = services()["sandbox"]
    command = sandbox["command"]
    assert command[0] == "sandbox"
    port = command[command.index("--port") + 1]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert settings.upstream_url == f"http://sandbox:{port}"
    assert sandbox["expose"] == [port]
    assert sandbox.get("init") is True, "the sandbox needs an init to stop on SIGTERM"
    depends = services()["clever-proxy"]["depends_on"]
    assert depends["sandbox"]["condition"] == "service_healthy"
    assert sandbox["healthcheck"]["test"][0] == "CMD" and port in sandbox["healthcheck"]["test"][-1]


def test_proxy_ports_and_stop_grace() -> None:
    settings = proxy_settings()
    service = services()["clever-proxy"]
    container_ports = {int(str(p).split(":")[-1]) for p in service["ports"]}
    assert container_ports == {settings.listen_port, settings.admin_port}
    assert _seconds(service["stop_grace_period"]) > settings.shutdown_grace_seconds
    assert service["read_only"] is True
    assert service["cap_drop"] == ["ALL"]


def test_prometheus_scrapes_the_proxy_admin_port() -> None:
    settings = proxy_settings()
    service = services()["prometheus"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in service["volumes"]}
    config_path = next(a.split("=", 1)[1] for a in service["command"] if a.startswith("--config.file="))
    config = load_yaml(COMPOSE.parent / mounts[config_path])
    # Relative paths in the config resolve against its directory, in the container as here.
    container_dir = Path(config_path).parent
    for rule_file in config["rule_files"]:
        assert str(container_dir / rule_file) in mounts, f"{rule_file} is not mounted"
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == JOB]
    targets: list[str] = []
    for sd in job["file_sd_configs"]:
        for pattern in sd["files"]:
            mounted_dir = mounts[str(container_dir / Path(pattern).parent)]
            for path in (COMPOSE.parent / mounted_dir).glob(Path(pattern).name):
                targets += [t for group in json.loads(path.read_text()) for t in group["targets"]]
    assert targets == [f"clever-proxy:{settings.admin_port}"]
    assert (COMPOSE.parent / mounts[config_path]).resolve() == (PROMETHEUS_DIR / "prometheus.yml").resolve()
