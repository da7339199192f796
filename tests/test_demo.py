"""The main job: `clever-proxy demo` runs offline and every example gets the answer it states."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import aiohttp

from proxy import contract as contract_mod
from proxy.demo import load_examples, run
from proxy.sandbox import DEFAULT_TOKEN, Sandbox

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "config" / "examples"


def test_every_field_case_is_an_example() -> None:
    ids = {e.id for e in load_examples(EXAMPLES)}
    cases = [json.loads(line) for line in (EXAMPLES / "03-field-cases.jsonl").read_text().splitlines()]
    assert len(cases) == 44
    assert {c["id"] for c in cases} <= ids


async def test_demo_answers_every_example_as_stated() -> None:
    out = io.StringIO()
    status = await run(EXAMPLES, out)
    text = out.getvalue()
    assert status == 0, text
    assert "UNEXPECTED" not in text
    examples = load_examples(EXAMPLES)
    local = sum(e.expect_answer == "local" for e in examples)
    assert f"{len(examples)} requests: {local} answered locally, {len(examples) - local} forwarded" in text
    assert "clever_proxy_upstream_calls_saved_total = " + str(local) in text


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m proxy ARGS` as a user runs it, with no CLEVER_PROXY_* settings from this machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEVER_PROXY_")}
    return subprocess.run(
        [sys.executable, "-m", "proxy", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )


def test_demo_command_exits_zero_offline() -> None:
    result = run_cli("demo")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "answered locally" in result.stdout
    assert "F25" in result.stdout and "invalid character ',' looking for beginning of value" in result.stdout


async def test_sandbox_follows_an_assignment_through_its_life(aiohttp_client) -> None:
    client = await aiohttp_client(Sandbox(contract_mod.load()).app())
    auth = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    section = "5f1b2c3d4e5f6a7b8c9d0e1f"
    body = {"title": "Lab", "description": "Leaf disks", "due_date": "2099-01-01T00:00:00Z"}
    resp = await client.post(f"/v3.1/sections/{section}/assignments", json=body, headers=auth)
    assert resp.status == 200
    assignment = (await resp.json())["data"]
    path = f"/v3.1/sections/{section}/assignments/{assignment['id']}"
    assert (await (await client.get(path, headers=auth)).json())["data"]["title"] == "Lab"
    resp = await client.patch(f"{path}/submissions/{section}", json={"grade_points": 9}, headers=auth)
    assert (await resp.json())["data"]["grade_points"] == 9
    listed = await (await client.get(f"{path}/submissions", headers=auth)).json()
    assert len(listed["data"]) == 1
    deleted = await client.delete(path, headers=auth)
    assert deleted.status == 200 and await deleted.read() == b"" and "Content-Type" not in deleted.headers
    gone = await client.get(path, headers=auth)
    assert gone.status == 404
    assert await gone.read() == b'{"message":"Assignment does not exist"}\n'
    forbidden = await client.get(path, headers={"Authorization": "Bearer someone-else"})
    assert forbidden.status == 403
    assert await forbidden.read() == b'{"message": "Could not authorize token"}'
    unauthorised = await client.get(path)
    assert unauthorised.status == 401


async def test_sandbox_command_serves_on_the_given_port(unused_tcp_port: int) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "proxy", "sandbox", "--port", str(unused_tcp_port)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    ) as proc:
        assert proc.stdout is not None
        assert f"127.0.0.1:{unused_tcp_port}" in proc.stdout.readline()
        async with aiohttp.ClientSession() as session:
            async with session.get(
                f"http://127.0.0.1:{unused_tcp_port}/v3.1/sections/abc/assignments/x",
                headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"},
            ) as resp:
                assert resp.status == 400
                assert "mongo-id" in (await resp.json(content_type=None))["message"]
        proc.terminate()
        assert proc.wait(10) == 0  # SIGTERM (a service manager's stop) is a clean exit
    usage = run_cli("sandbox", "--help")
    assert DEFAULT_TOKEN in "".join(usage.stdout.split())  # the default token is named, however wrapped


def test_demo_refuses_examples_it_cannot_use(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.jsonl").write_text('{"id": "x"}\n')
    (tmp_path / "binary").mkdir()
    (tmp_path / "binary" / "x.jsonl").write_bytes(b"\xff\xfe{}\n")
    expected = {
        tmp_path / "missing": "not a directory",
        tmp_path / "empty": "no examples",
        tmp_path / "bad": "x.jsonl:1: not a valid example",
        tmp_path / "binary": "x.jsonl: cannot read",
    }
    for directory, message in expected.items():
        result = run_cli("demo", "--examples", str(directory))
        assert result.returncode == 2, (directory, result.stdout, result.stderr)
        assert result.stdout == "" and message in result.stderr and "Traceback" not in result.stderr
