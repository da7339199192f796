"""`clever-proxy demo`: the proxy in front of the sandbox, fed real-world requests, offline.

Starts the Clever stand-in and the proxy on free loopback ports, sends every example of
config/examples/*.jsonl (a happy path, the contract's documented rows, and requests people really
sent to Clever), prints what was answered locally and what was forwarded, then the key metrics. Each
example states the answer it should get; the demo exits 1 if any differs.
"""

from __future__ import annotations

import base64
import contextlib
import json
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import aiohttp
from yarl import URL

from proxy import accesslog
from proxy import contract as contract_mod
from proxy import settings as settings_mod
from proxy.sandbox import DEFAULT_TOKEN, Sandbox
from proxy.server import RunningProxy, build

SEEDED_SECTION = "5f1b2c3d4e5f6a7b8c9d0e1f"
SEEDED_ASSIGNMENT = "6a1e9f3c-2b7d-4c8e-9f01-23456789abcd"


@dataclass
class Example:
    id: str
    title: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None
    capture: dict[str, str]
    expect_answer: str
    expect_status: int


@dataclass
class Outcome:
    example: Example
    answer: str
    status: int
    message: str
    millis: float

    @property
    def as_expected(self) -> bool:
        return self.answer == self.example.expect_answer and self.status == self.example.expect_status


def load_examples(directory: Path) -> list[Example]:
    """Every example in the directory's *.jsonl files; ValueError names what is wrong (a missing
    directory, no examples, an unreadable file, or the file and line of a bad example)."""
    if not directory.is_dir():
        raise ValueError(f"--examples {directory}: not a directory")
    examples = []
    for path in sorted(directory.glob("*.jsonl")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(
                f"{path}: cannot read ({exc.strerror if isinstance(exc, OSError) else exc})"
            ) from None
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                examples.append(_example(raw))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: not a valid example ({exc})") from None
    if not examples:
        raise ValueError(f"--examples {directory}: no examples (one JSON object per line in *.jsonl files)")
    return examples


def _example(raw: dict[str, Any]) -> Example:
    if raw.get("body_b64") is not None:
        body: bytes | None = base64.b64decode(raw["body_b64"])
    elif raw.get("body") is not None:
        body = raw["body"].encode("utf-8")
    else:
        body = None
    title = raw.get("title") or raw.get("note", "").split("|")[0].removeprefix("Sender: ")
    return Example(
        id=raw["id"],
        title=title.strip(),
        method=raw["method"],
        path=raw["path"],
        headers=dict(raw.get("headers", {})),
        body=body,
        capture=dict(raw.get("capture", {})),
        expect_answer=raw["expect"]["answer"],
        expect_status=int(raw["expect"]["status"]),
    )


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def run(examples_dir: Path | None = None, out: TextIO = sys.stdout) -> int:
    # The table tells it all: no access lines in between (and the process's setting is left as it was).
    was = accesslog.access.enabled
    accesslog.access.enabled = False
    try:
        return await _run(examples_dir, out)
    finally:
        accesslog.access.enabled = was


async def _run(examples_dir: Path | None, out: TextIO) -> int:
    settings = settings_mod.load(
        config=None, environ={}, overrides={"listen.port": 0, "admin.port": 0, "logging.access_log": False}
    )
    contract = contract_mod.load(settings.contract_path)
    examples = load_examples(examples_dir or settings_mod.default_config_dir() / "examples")

    sandbox = Sandbox(contract)
    now = datetime.now(UTC)
    sandbox.store.assignments[SEEDED_ASSIGNMENT] = {
        "id": SEEDED_ASSIGNMENT,
        "section_id": SEEDED_SECTION,
        "title": "Field-case assignment",
        "description": "Shared by the real-world requests",
        "due_date": _iso(now + timedelta(days=30)),
        "state": "open",
        "created": _iso(now),
        "last_modified": _iso(now),
    }
    from aiohttp import web

    sandbox_runner = web.AppRunner(sandbox.app(), access_log=None)
    await sandbox_runner.setup()
    sandbox_site = web.TCPSite(sandbox_runner, "127.0.0.1", 0)
    await sandbox_site.start()
    sandbox_port = sandbox_site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    settings = settings_mod.load(
        config=None,
        environ={},
        overrides={
            "listen.port": 0,
            "admin.port": 0,
            "logging.access_log": False,
            "upstream.url": f"http://127.0.0.1:{sandbox_port}",
        },
    )
    state = build(settings, contract)
    proxy = RunningProxy(state)
    await proxy.start()
    base = f"http://127.0.0.1:{proxy.port}"
    values = {
        "future": _iso(now + timedelta(days=14)),
        "recent_past": _iso(now - timedelta(minutes=2)),
    }
    outcomes: list[Outcome] = []
    marker = settings.marker_header.lower()
    try:
        async with aiohttp.ClientSession() as client:
            for ex in examples:
                headers = {k: v.replace("<token>", DEFAULT_TOKEN) for k, v in ex.headers.items()}
                body = (
                    _fill(ex.body.decode("utf-8", "surrogateescape"), values).encode(
                        "utf-8", "surrogateescape"
                    )
                    if ex.body is not None
                    else None
                )
                url = URL(base + _fill(ex.path, values), encoded=True)
                started = time.perf_counter()
                async with client.request(ex.method, url, headers=headers, data=body) as resp:
                    raw = await resp.read()
                    millis = (time.perf_counter() - started) * 1000
                    local = any(
                        k.lower() == marker and v.startswith("local") for k, v in resp.headers.items()
                    )
                    message = _message(raw)
                    outcomes.append(
                        Outcome(ex, "local" if local else "forwarded", resp.status, message, millis)
                    )
                    for key, path in ex.capture.items():
                        # On failure the row shows it; later rows keep the placeholder.
                        with contextlib.suppress(ValueError, KeyError, TypeError):
                            values[key] = str(_dig(json.loads(raw), path))
    finally:
        await proxy.stop()
        await sandbox_runner.cleanup()

    _print_table(outcomes, out)
    _print_metrics(state.metrics.registry, out)
    wrong = [o for o in outcomes if not o.as_expected]
    for o in wrong:
        print(
            f"UNEXPECTED {o.example.id}: expected {o.example.expect_answer} {o.example.expect_status}, "
            f"got {o.answer} {o.status}",
            file=out,
        )
    return 1 if wrong else 0


def _message(raw: bytes) -> str:
    if not raw:
        return "(empty body)"
    try:
        value = json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace").strip()
    if isinstance(value, dict) and isinstance(value.get("message"), str):
        return value["message"]
    if isinstance(value, dict) and "data" in value:
        data = value["data"]
        if isinstance(data, list):
            return f"{len(data)} item(s)"
        if isinstance(data, dict):
            shown = ("id", "title", "user_id", "grade_points")
            return "ok: " + ", ".join(f"{k}={data[k]}" for k in shown if data.get(k) not in (None, ""))
    return raw[:60].decode("utf-8", "replace")


def _dig(value: Any, path: str) -> Any:
    for part in path.split("."):
        value = value[part]
    return value


def _clip(text: str, width: int) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= width else text[: width - 1] + "…"


def _print_table(outcomes: list[Outcome], out: TextIO) -> None:
    header = f"{'id':<4} {'request':<44} {'answered':<9} {'status':>6} {'ms':>7}  message"
    print(header, file=out)
    print("-" * len(header) + "-" * 50, file=out)
    for o in outcomes:
        flag = "" if o.as_expected else "  <-- unexpected"
        print(
            f"{o.example.id:<4} {_clip(o.example.method + ' ' + o.example.title, 44):<44} {o.answer:<9} "
            f"{o.status:>6} {o.millis:>7.2f}  {_clip(o.message, 90)}{flag}",
            file=out,
        )
    local = sum(o.answer == "local" for o in outcomes)
    print(
        f"\n{len(outcomes)} requests: {local} answered locally, {len(outcomes) - local} forwarded", file=out
    )
    print(
        "H: a happy path; S: the contract's documented rows; F: requests people really sent to Clever (ids\n"
        "from the field-case collection; F22 runs last because it deletes the assignment the others use).\n"
        "Forwarded answers come from the built-in Clever stand-in. S15 is forwarded on purpose: its due\n"
        "date is within the clock-skew margin, so only Clever may reject it.",
        file=out,
    )


def _print_metrics(registry: Any, out: TextIO) -> None:
    def total(name: str, **labels: str) -> float:
        value = 0.0
        for metric in registry.collect():
            for sample in metric.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    value += sample.value
        return value

    print("\nkey metrics (from the proxy's /metrics):", file=out)
    for outcome in ("rejected", "forwarded", "upstream_error"):
        value = total("clever_proxy_requests_total", outcome=outcome)
        print(f'  clever_proxy_requests_total{{outcome="{outcome}"}} = {value:g}', file=out)
    rules = sorted(
        {
            s.labels["rule"]
            for m in registry.collect()
            for s in m.samples
            if s.name == "clever_proxy_local_rejections_total" and s.value
        }
    )
    for rule in rules:
        value = total("clever_proxy_local_rejections_total", rule=rule)
        print(f'  clever_proxy_local_rejections_total{{rule="{rule}"}} = {value:g}', file=out)
    print(
        f"  clever_proxy_upstream_calls_saved_total = {total('clever_proxy_upstream_calls_saved_total'):g}",
        file=out,
    )
