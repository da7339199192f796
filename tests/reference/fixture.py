"""pytest plugin: Clever's LMS Connect v3.1 reference server (tests/reference) as a fixture.

`clever_reference` (session scope) builds the Go server with build.sh, runs it on a free
loopback port and yields a `CleverReference` with `.url` and `.skew_seconds`. Tests that use
it are skipped, with the reason, when Go or the Debian Go libraries are missing.
`run_reference()` starts further instances with other flags (e.g. `-schema pointer`).
"""

from __future__ import annotations

import re
import select
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

REFERENCE_DIR = Path(__file__).resolve().parent
BUILD_SCRIPT = REFERENCE_DIR / "build.sh"
DEFAULT_SKEW_SECONDS = 300.0

# build.sh exit codes meaning "cannot build here" rather than "the build broke".
_MISSING_TOOLCHAIN = {3, 4}
_LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")


class ReferenceUnavailable(Exception):
    """Go or a Debian Go library needed by the reference server is not installed."""


@dataclass(frozen=True)
class CleverReference:
    """A running reference server."""

    url: str
    skew_seconds: float
    args: tuple[str, ...]
    process: subprocess.Popen[bytes]


def build_reference() -> Path:
    """Run build.sh (fast when up to date) and return the binary's path."""
    try:
        done = subprocess.run(
            ["bash", str(BUILD_SCRIPT)],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except FileNotFoundError as exc:
        raise ReferenceUnavailable(f"cannot run build.sh: {exc}") from exc
    if done.returncode in _MISSING_TOOLCHAIN:
        raise ReferenceUnavailable(done.stderr.strip() or f"build.sh exited {done.returncode}")
    if done.returncode != 0:
        raise RuntimeError(f"build.sh failed ({done.returncode}):\n{done.stderr}")
    return Path(done.stdout.strip().splitlines()[-1])


def _read_start_line(proc: subprocess.Popen[bytes], timeout: float) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        raise RuntimeError(f"the reference server printed nothing within {timeout}s")
    return proc.stdout.readline().decode("utf-8", "replace").strip()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def run_reference(
    *,
    skew_seconds: float = DEFAULT_SKEW_SECONDS,
    extra_args: Sequence[str] = (),
    binary: Path | None = None,
    startup_timeout: float = 30.0,
) -> Iterator[CleverReference]:
    """Start one reference server on 127.0.0.1 (port chosen by the OS); stop it on exit.

    Raises ReferenceUnavailable when the toolchain is missing.
    """
    exe = binary or build_reference()
    args = ("-addr", "127.0.0.1:0", "-skew", f"{skew_seconds:.3f}s", *extra_args)
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(
            [str(exe), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
        try:
            line = _read_start_line(proc, startup_timeout)
            match = _LISTENING.fullmatch(line)
            if match is None:
                _stop(proc)
                stderr.seek(0)
                log = stderr.read().decode("utf-8", "replace")
                raise RuntimeError(f"unexpected start line {line!r}; stderr:\n{log}")
            yield CleverReference(url=match.group(1), skew_seconds=skew_seconds, args=args, process=proc)
        finally:
            _stop(proc)
            if proc.stdout is not None:
                proc.stdout.close()


@pytest.fixture(scope="session")
def clever_reference() -> Iterator[CleverReference]:
    """The reference server with default flags, shared by the whole session."""
    try:
        binary = build_reference()
    except ReferenceUnavailable as exc:
        pytest.skip(f"Clever reference server unavailable: {exc}")
    with run_reference(binary=binary) as ref:
        yield ref
