"""Project rules that are cheap to check mechanically: lint, and the import boundaries."""

from __future__ import annotations

import re
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


def test_readme_lists_every_error_kind_the_proxy_sends() -> None:
    """The README's table of `kind=` values names every kind the code can put in the marker."""
    readme = (ROOT / "README.md").read_text()
    listed = set(re.findall(r"^\| `([a-z_]+)` \| \d{3} \|", readme, re.MULTILINE))
    source = "\n".join(p.read_text() for p in (ROOT / "proxy").rglob("*.py"))
    sent = set(re.findall(r'(?:Failure|kind, text =)\(?\s*"([a-z_]+)"', source))
    sent |= set(re.findall(r'^    "([a-z_]+)": "clever-proxy', source, re.MULTILINE))
    assert {"bad_request", "internal", "connect", "timeout", "bad_framing"} <= sent  # the scan works
    assert sent == listed
