"""deploy/systemd/clever-proxy.service: systemd's own verifier and security review, and its settings."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from proxy import settings as settings_mod
from tests.deploy.support import DEPLOY, SITE_CONFIG, find_tool, run

UNIT = DEPLOY / "systemd" / "clever-proxy.service"
SYSTEMD_ANALYZE = find_tool("systemd-analyze")
SYSTEM_UNITS = Path("/usr/lib/systemd/system")
needs_systemd_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None or not SYSTEM_UNITS.is_dir(),
    reason="systemd-analyze and the system units not installed (Debian package 'systemd')",
)
# systemd-analyze security's scale: 0 (locked down) .. 10 (unprotected); "OK" is below 2.0 or so.
MAX_EXPOSURE = 2.0


def service_section() -> dict[str, list[str]]:
    """[Service] keys with every value (systemd allows repeated keys)."""
    values: dict[str, list[str]] = {}
    section = ""
    for raw in UNIT.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        if section == "Service":
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


def _fake_root(tmp_path: Path) -> Path:
    """A root holding the unit, the system units it depends on, and the executable it names."""
    root = tmp_path / "root"
    (root / "etc" / "systemd" / "system").mkdir(parents=True)
    shutil.copy(UNIT, root / "etc" / "systemd" / "system" / UNIT.name)
    shutil.copytree(SYSTEM_UNITS, root / "usr" / "lib" / "systemd" / "system", symlinks=True)
    for key in ("ExecStart", "ExecStartPre"):
        for command in service_section().get(key, []):
            binary = root / shlex.split(command.lstrip("-@:+!"))[0].lstrip("/")
            binary.parent.mkdir(parents=True, exist_ok=True)
            binary.write_text("#!/bin/sh\n")
            binary.chmod(0o755)
    return root


@needs_systemd_analyze
def test_systemd_analyze_verify(tmp_path: Path) -> None:
    assert SYSTEMD_ANALYZE is not None
    root = _fake_root(tmp_path)
    result = run(
        [SYSTEMD_ANALYZE, "verify", f"--root={root}", f"/etc/systemd/system/{UNIT.name}"], cwd=tmp_path
    )
    # Unknown keys and bad values are only warnings for systemd: any output is a finding.
    assert result.returncode == 0 and not result.stderr.strip() and not result.stdout.strip(), (
        result.stdout + result.stderr
    )


@needs_systemd_analyze
def test_systemd_analyze_security_exposure_is_low(tmp_path: Path) -> None:
    assert SYSTEMD_ANALYZE is not None
    result = run([SYSTEMD_ANALYZE, "security", "--offline=yes", "--no-pager", str(UNIT)], cwd=tmp_path)
    if "--offline" in result.stderr and result.returncode != 0:
        pytest.skip(f"this systemd-analyze cannot review unit files offline: {result.stderr.strip()}")
    match = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE, result.stdout


def test_unit_runs_the_proxy_unprivileged_and_sandboxed() -> None:
    service = service_section()
    (start,) = service["ExecStart"]
    args = shlex.split(start)
    assert args[0].startswith("/") and args[0].endswith("/clever-proxy")
    assert args[1] == "serve" and "--config" in args
    # A settings error must be the main process's exit status 2, which RestartPreventExitStatus= sees
    # (an ExecStartPre= check failing with 2 would be restarted in a loop).
    assert "ExecStartPre" not in service
    expected = {
        "DynamicUser": "yes",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "CapabilityBoundingSet": "",
        "RestrictSUIDSGID": "yes",
        "KillSignal": "SIGTERM",
        "RestartPreventExitStatus": "2",
    }
    for key, value in expected.items():
        assert service.get(key) == [value], key


def test_stop_timeout_covers_the_drain() -> None:
    service = service_section()
    (timeout,) = service["TimeoutStopSec"]
    settings = settings_mod.load(SITE_CONFIG, environ={})
    assert float(timeout) > settings.shutdown_grace_seconds + 5
    start = shlex.split(service["ExecStart"][0])
    assert start[start.index("--config") + 1] == "/etc/clever-proxy/clever-proxy.toml"
