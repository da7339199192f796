"""Command line: run the proxy (default), check-config, demo, sandbox.

Rule: every user error (flags, settings, contract) is one line on stderr and exit status 2; no
traceback reaches the user for anything they can fix.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import proxy
from proxy import accesslog, eventloop
from proxy import contract as contract_mod
from proxy import settings as settings_mod

COMMANDS = ("serve", "check-config", "demo", "sandbox")
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        _fail(f"{message} (see --help)")


def _fail(message: str) -> NoReturn:
    print(f"clever-proxy: error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


def _add_settings_flags(parser: argparse.ArgumentParser, serving: bool) -> None:
    parser.add_argument("--config", metavar="PATH", help="settings file laid over the packaged defaults")
    parser.add_argument("--upstream", metavar="URL", help="where to forward (default https://api.clever.com)")
    if serving:
        parser.add_argument("--host", metavar="H", help="listen address of the proxied API")
        parser.add_argument("--port", metavar="N", type=int, help="listen port of the proxied API")
        parser.add_argument("--admin-host", metavar="H", help="listen address of /metrics, /healthz, /readyz")
        parser.add_argument("--admin-port", metavar="N", type=int, help="listen port of the admin listener")
        parser.add_argument("--log-level", metavar="LEVEL", help="debug, info, warning or error")
        parser.add_argument(
            "--rules-mode", metavar="MODE", help="default mode of every rule: enforce, shadow or off"
        )
        parser.add_argument(
            "--workers", metavar="N", type=int, help="worker processes sharing the ports (default 1)"
        )


# Flag (argparse attribute) -> settings key.
_FLAGS = {
    "upstream": "upstream.url",
    "host": "listen.host",
    "port": "listen.port",
    "admin_host": "admin.host",
    "admin_port": "admin.port",
    "log_level": "logging.level",
    "rules_mode": "rules.mode",
    "workers": "server.workers",
}


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {key: getattr(args, attr) for attr, key in _FLAGS.items() if getattr(args, attr, None) is not None}


def _flags_of(config: str | None, overrides: dict[str, Any]) -> list[str]:
    """The command line that gives a worker the same --config and flags as this process."""
    keys = {key: attr for attr, key in _FLAGS.items()}
    flags = ["--config", config] if config is not None else []
    for key, value in overrides.items():
        flags += ["--" + keys[key].replace("_", "-"), str(value)]
    return flags


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="clever-proxy",
        description="A pre-validating reverse proxy for Clever's LMS Connect API. "
        "Without a command, runs the proxy: see `clever-proxy serve --help` for its flags "
        "(--config, --upstream, --host, --port, --admin-host, --admin-port, --log-level, --rules-mode, "
        "--workers).",
    )
    parser.add_argument("--version", action="version", version=f"clever-proxy {proxy.__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    serve = sub.add_parser("serve", help="run the proxy (the default)")
    _add_settings_flags(serve, serving=True)
    # Set only by the supervisor of --workers: the worker's end of its link (an inherited descriptor).
    serve.add_argument("--worker-link", metavar="FD", type=int, help=argparse.SUPPRESS)
    check = sub.add_parser(
        "check-config", help="validate the settings and the contract, print the effective settings"
    )
    _add_settings_flags(check, serving=True)
    demo = sub.add_parser("demo", help="offline demo: the proxy in front of the sandbox, fed the examples")
    demo.add_argument("--examples", metavar="DIR", type=Path, help="directory of *.jsonl examples")
    sandbox = sub.add_parser("sandbox", help="run the Clever stand-in alone")
    sandbox.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=8081, help="listen port (default 8081)")
    sandbox.add_argument(
        "--token",
        action="append",
        metavar="TOKEN",
        help=f"accepted bearer token (repeatable; default: {proxy.SANDBOX_TOKEN})",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "serve")
    args = build_parser().parse_args(argv)
    try:
        if args.command in ("serve", "check-config"):
            settings = settings_mod.load(args.config, _overrides(args))
            contract = contract_mod.load(settings.contract_path)
            if args.command == "check-config":
                sys.stdout.write(settings_mod.render(settings))
                print(
                    f"# contract {contract.source}: {len(contract.routes)} routes, "
                    f"{sum(len(r.methods) for r in contract.routes)} operations",
                    file=sys.stdout,
                )
                return 0
            return _serve(settings, contract, args.config, _overrides(args), args.worker_link)
        if args.command == "demo":
            return asyncio.run(_demo(args.examples))
        return _sandbox(args)
    except (settings_mod.SettingsError, contract_mod.ContractError, ValueError) as exc:
        if getattr(args, "worker_link", None) is not None:
            # A worker tells its supervisor, which prints the one line (not one per worker).
            from proxy.workers import report_failure

            report_failure(args.worker_link, str(exc))
            return EXIT_USAGE
        _fail(str(exc))


def _serve(
    settings: settings_mod.Settings,
    contract: contract_mod.Contract,
    config: str | None,
    overrides: dict[str, Any],
    worker_link: int | None = None,
) -> int:
    accesslog.configure(settings.log_level, settings.access_log)
    if worker_link is not None:
        from proxy.workers import run_worker

        return run_worker(settings, contract, config, overrides, worker_link)
    if settings.workers > 1:
        from proxy.workers import StartupError, supervise

        try:
            return supervise(settings, _flags_of(config, overrides))
        except StartupError as exc:
            _fail(str(exc))

    from proxy.server import build, serve

    state = build(settings, contract)
    state.config_path, state.overrides = config, overrides
    try:
        eventloop.run(lambda: serve(state), settings.event_loop)
    except OSError as exc:
        _fail(f"cannot listen: {exc.strerror or exc}")
    return 0


async def _demo(examples: Path | None) -> int:
    from proxy.demo import run

    return await run(examples)


def _sandbox(args: argparse.Namespace) -> int:
    from proxy.sandbox import DEFAULT_TOKEN, run_sandbox

    if not 0 <= args.port <= 65535:
        _fail(f"--port: port out of range (0-65535): {args.port}")
    contract = contract_mod.load(None)
    tokens = tuple(args.token or (DEFAULT_TOKEN,))

    async def forever() -> None:
        runner = await run_sandbox(contract, args.host, args.port, tokens)
        shown = DEFAULT_TOKEN if not args.token else f"{len(tokens)} configured"
        print(f"Clever sandbox on http://{args.host}:{args.port}/v3.1 (bearer token: {shown})", flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)  # a clean exit 0
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    try:
        asyncio.run(forever())
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        _fail(f"cannot listen: {exc.strerror or exc}")
    return 0
