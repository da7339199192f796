"""Helpers for the deploy tests: paths, external tools, subprocesses on loopback, HTTP, and PromQL lint.

Rules: every process started here is started by `Process` and stopped by its id; every wait has a
timeout; every socket is on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO, Any

import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
PROMETHEUS_DIR = DEPLOY / "prometheus"
GRAFANA_DIR = DEPLOY / "grafana"
KUBERNETES_DIR = DEPLOY / "kubernetes"
SITE_CONFIG = DEPLOY / "config" / "clever-proxy.toml"
# Where the image (and every other artefact) expects the settings file.
CONFIG_MOUNT_DIR = "/etc/clever-proxy"
CONFIG_IN_IMAGE = f"{CONFIG_MOUNT_DIR}/clever-proxy.toml"
# The scrape job name the alert rules select on.
JOB = "clever-proxy"
# Labels Prometheus or the Prometheus Operator attach to every scraped series.
TARGET_LABELS = frozenset({"job", "instance", "environment", "namespace", "pod", "service", "endpoint"})


# --- tools -----------------------------------------------------------------------------------------


def find_tool(name: str) -> str | None:
    """`name` beside the running interpreter (a virtual environment's bin/), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def run(args: list[str], *, timeout: float = 60, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    if "input" not in kwargs:
        kwargs["stdin"] = subprocess.DEVNULL
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)


def proxy_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for `python -m proxy`: this checkout importable, no CLEVER_PROXY_* leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEVER_PROXY_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def proxy_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "proxy", *args]


# --- processes and ports ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Process:
    """One child process with its output in a log file; `stop` ends it by its own id."""

    def __init__(
        self,
        name: str,
        args: list[str],
        log_dir: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path = REPO,
    ) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        self.popen = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=dict(env) if env is not None else None,
        )

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 30) -> str:
        self._log.flush()
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return f"--- last lines of {self.name} ---\n" + "\n".join(text.splitlines()[-lines:])

    def terminate(self, timeout: float) -> int | None:
        """SIGTERM, then the exit status, or None if it did not exit within `timeout`."""
        if self.alive:
            self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = 10) -> int:
        status = self.terminate(timeout)
        if status is None:
            self.popen.kill()
            status = self.popen.wait(timeout=timeout)
        if not self._log.closed:
            self._log.close()
        return status


def wait_for(
    what: str, probe: Callable[[], bool], timeout: float, processes: tuple[Process, ...] = ()
) -> None:
    """Poll `probe` until it is true; fail early if one of `processes` has died."""
    deadline = time.monotonic() + timeout
    while True:
        if probe():
            return
        for process in processes:
            if not process.alive:
                raise AssertionError(
                    f"{process.name} exited ({process.popen.returncode}) while waiting for {what}\n"
                    + process.tail()
                )
        if time.monotonic() > deadline:
            tails = "\n".join(p.tail() for p in processes)
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{tails}")
        time.sleep(0.1)


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


# --- HTTP ------------------------------------------------------------------------------------------

# No proxy from the environment: every request here goes straight to loopback.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(
    method: str,
    url: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 5,
) -> Reply:
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return Reply(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        try:
            return Reply(error.code, dict(error.headers), error.read())
        finally:
            error.close()


def http_ok(url: str) -> bool:
    try:
        return http("GET", url, timeout=1).status == 200
    except OSError:
        return False


# --- files -----------------------------------------------------------------------------------------


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def load_yaml_documents(path: Path) -> list[Any]:
    with path.open(encoding="utf-8") as f:
        return [doc for doc in yaml.safe_load_all(f) if doc is not None]


def kubernetes_manifest(name: str) -> dict[str, Any]:
    documents = load_yaml_documents(KUBERNETES_DIR / name)
    assert len(documents) == 1, f"{name}: expected one document, found {len(documents)}"
    manifest = documents[0]
    assert isinstance(manifest, dict)
    return manifest


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction, continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        pending += line
        keyword, _, rest = pending.strip().partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        pending = ""
    assert not pending, f"{path}: dangling line continuation"
    return instructions


def dockerfile_env(path: Path, stage: int = -1) -> dict[str, str]:
    """The ENV values set in one build stage (the last by default), `$VAR` references left as they are."""
    stages: list[dict[str, str]] = []
    for keyword, args in dockerfile_instructions(path):
        if keyword == "FROM":
            stages.append({})
        elif keyword == "ENV":
            for item in shlex.split(args):
                key, sep, value = item.partition("=")
                assert sep, f"ENV {item!r}: use the KEY=value form"
                stages[-1][key] = value
    return stages[stage]


def dockerfile_arguments(path: Path, keyword: str) -> list[str]:
    return [args for kw, args in dockerfile_instructions(path) if kw == keyword]


def exec_form(args: str) -> list[str]:
    """The JSON array of an exec-form instruction; fails on the shell form."""
    try:
        value = json.loads(args)
    except json.JSONDecodeError:
        raise AssertionError(f"not in exec (JSON array) form: {args}") from None
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def healthcheck_command(path: Path = DEPLOY / "Dockerfile") -> list[str]:
    """The image's HEALTHCHECK command, as an argument list."""
    (check,) = dockerfile_arguments(path, "HEALTHCHECK")
    options, sep, command = check.partition(" CMD ")
    assert sep, f"HEALTHCHECK without CMD: {check}"
    assert all(t.startswith("--") for t in shlex.split(options)), f"unexpected HEALTHCHECK options: {options}"
    return exec_form(command)


def settings_env(env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith("CLEVER_PROXY_")}


# --- metrics and PromQL ----------------------------------------------------------------------------


@cache
def exported_series() -> dict[str, frozenset[str]]:
    """Every sample name the proxy exports, with its label names, read from the real Metrics class."""
    from prometheus_client import CollectorRegistry

    from proxy.metrics import Metrics

    registry = CollectorRegistry()
    metrics = Metrics(registry, ("/v3.1/example",))
    # Children bound on first use: make one of each exist.
    metrics.request_done("/v3.1/example", "GET", "forwarded", 200, 0.01)
    metrics.ready.set(1)
    metrics.in_flight.set(0)
    series: dict[str, set[str]] = {}
    for family in registry.collect():
        for sample in family.samples:
            series.setdefault(sample.name, set()).update(sample.labels)
    return {name: frozenset(labels) for name, labels in series.items()}


@cache
def label_values() -> dict[str, frozenset[str]]:
    """The closed value sets of the proxy's labels."""
    from proxy import metrics
    from proxy.contract import RULE_NAMES, STAGE_NAMES

    return {
        "outcome": frozenset(metrics.OUTCOMES),
        "status_class": frozenset(metrics.STATUS_CLASSES),
        "kind": frozenset(metrics.UPSTREAM_ERROR_KINDS),
        "reason": frozenset(metrics.FORWARD_REASONS),
        "rule": frozenset(RULE_NAMES),
        "stage": frozenset(("", *STAGE_NAMES)),
        "method": frozenset((*metrics.METHODS, metrics.OTHER)),
    }


_METRIC = re.compile(r"\b(clever_proxy_[A-Za-z0-9_]+)")
_SELECTOR = re.compile(r"\b([a-zA-Z_:][A-Za-z0-9_:]*)\s*\{([^}]*)\}")
_MATCHER = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def promql_problems(expr: str) -> list[str]:
    """What in `expr` refers to a series or label the proxy does not export (empty when all is well)."""
    series = exported_series()
    values = label_values()
    problems: list[str] = []
    used = set(_METRIC.findall(_STRING.sub('""', expr)))
    if not used and not re.search(r"\bup\b", expr):
        problems.append("references no clever_proxy_* series (nor up)")
    for name in sorted(used - set(series)):
        problems.append(f"{name}: not a series the proxy exports")
    all_labels = set().union(*series.values()) | TARGET_LABELS
    for name, matchers in _SELECTOR.findall(expr):
        if name in ("by", "without", "on", "ignoring", "group_left", "group_right"):
            continue
        allowed = (set(series.get(name, frozenset())) | TARGET_LABELS) if name in series else all_labels
        for label, op, value in _MATCHER.findall(matchers):
            if label not in allowed:
                problems.append(f"{name}: has no label {label!r}")
            elif op in ("=", "!=") and label in values and "$" not in value and value not in values[label]:
                problems.append(f"{name}: {label}={value!r} is never exported")
    for group in _GROUPING.findall(expr):
        for label in (part.strip() for part in group.split(",")):
            if label and label not in all_labels:
                problems.append(f"grouping by {label!r}: no series has that label")
    return problems
