"""Project rules that are cheap to check mechanically: lint, and the import boundaries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_is_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "proxy", "tests"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_checks_and_gocompat_never_import_aiohttp() -> None:
    # The pipeline is pure: checks, the contract and the Go emulations run without the HTTP stack.
    code = (
        "import sys, proxy.pipeline, proxy.checks, proxy.gocompat.json_decode, proxy.gocompat.timeparse;"
        "assert 'aiohttp' not in sys.modules, sorted(m for m in sys.modules if m.startswith('aiohttp'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stderr


def test_gocompat_imports_nothing_else_from_the_proxy() -> None:
    for path in (ROOT / "proxy" / "gocompat").glob("*.py"):
        for line in path.read_text().splitlines():
            if line.startswith(("from proxy", "import proxy")):
                assert line.startswith("from proxy.gocompat"), f"{path.name}: {line}"
