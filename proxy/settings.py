"""Settings: packaged defaults < the --config file < CLEVER_PROXY_* environment < command-line flags.

Rule: one frozen Settings object, built once at start-up. Every problem (unknown key, wrong type, bad
URL, port out of range, unreadable file) becomes a SettingsError with one line naming the key.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import math
import os
import re
import sys
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from proxy.contract import RULE_NAMES
from proxy.eventloop import CHOICES as EVENT_LOOPS

ENV_PREFIX = "CLEVER_PROXY_"
CONFIG_ENV = "CLEVER_PROXY_CONFIG"
LOG_LEVELS = ("debug", "info", "warning", "error")
# Kubernetes injects these for a Service named clever-proxy; they are not settings and never collide.
_K8S_SERVICE_LINK = re.compile(
    r"CLEVER_PROXY_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_\d+_(TCP|UDP|SCTP)(_[A-Z]+)?)?)"
)


class SettingsError(ValueError):
    """A setting is unknown, malformed or out of range; the text names the key."""


def default_config_dir() -> Path:
    """config/ beside the package in a checkout; share/clever-proxy/config in an installed wheel."""
    here = Path(__file__).resolve().parent.parent / "config"
    if (here / "clever-proxy.toml").is_file():
        return here
    return Path(sys.prefix) / "share" / "clever-proxy" / "config"


def _port(key: str, value: Any) -> int:
    value = _int(key, value)
    if not 0 <= value <= 65535:
        raise SettingsError(f"{key}: port out of range (0-65535): {value}")
    return value


def _int(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SettingsError(f"{key}: expected an integer, got {value!r}")
    return value


def _positive_int(key: str, value: Any) -> int:
    value = _int(key, value)
    if value < 1:
        raise SettingsError(f"{key}: must be at least 1, got {value}")
    return value


MAX_WORKERS = 64


def _workers(key: str, value: Any) -> int:
    value = _int(key, value)
    if not 1 <= value <= MAX_WORKERS:
        raise SettingsError(f"{key}: expected 1 to {MAX_WORKERS} worker processes, got {value}")
    return value


def _event_loop(key: str, value: Any) -> str:
    value = _str(key, value).lower()
    if value not in EVENT_LOOPS:
        raise SettingsError(f"{key}: expected one of {', '.join(EVENT_LOOPS)}, got {value!r}")
    if value == "uvloop" and importlib.util.find_spec("uvloop") is None:
        raise SettingsError(f"{key}: uvloop is not installed (pip install uvloop), use auto or asyncio")
    return value


def _seconds(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SettingsError(f"{key}: expected a number of seconds, got {value!r}")
    if value < 0 or not math.isfinite(value):
        raise SettingsError(f"{key}: must be a finite number >= 0, got {value!r}")
    return float(value)


# Past this, a margin stops being one: a due date a year old is not a clock's error. (It also keeps
# "now minus the margin" a representable date.)
MAX_SKEW_SECONDS = 365 * 86400


def _skew_seconds(key: str, value: Any) -> float:
    seconds = _seconds(key, value)
    if seconds > MAX_SKEW_SECONDS:
        raise SettingsError(
            f"{key}: must be at most {MAX_SKEW_SECONDS} (365 days), got {value!r}; "
            'rules.due_date = "off" forwards every past due date'
        )
    return seconds


def _positive_seconds(key: str, value: Any) -> float:
    seconds = _seconds(key, value)
    if seconds == 0:
        raise SettingsError(f"{key}: must be greater than 0")
    return seconds


def _bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SettingsError(f"{key}: expected true or false, got {value!r}")
    return value


def _str(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise SettingsError(f"{key}: expected a string, got {value!r}")
    return value


def _host(key: str, value: Any) -> str:
    value = _str(key, value)
    if not value or any(c.isspace() for c in value) or "/" in value:
        raise SettingsError(f"{key}: not a host name or address: {value!r}")
    try:
        ipaddress.ip_address(value)
    except ValueError:
        try:  # what the resolver will be given; "a..b" or a 64-character label fail here, not at bind
            value.encode("idna")
        except UnicodeError:
            raise SettingsError(f"{key}: not a host name or address: {value!r}") from None
    return value


_USERINFO = re.compile(r"(?<=//)[^/?#]*@")


def _url(key: str, value: Any) -> str:
    value = _str(key, value)
    shown = repr(_USERINFO.sub("***@", value))  # an error message never repeats a password
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise SettingsError(f"{key}: not a valid URL ({exc}): {shown}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"{key}: expected http://host[:port] or https://host[:port], got {shown}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise SettingsError(
            f"{key}: give only scheme, host and port (no path, query or credentials): {shown}"
        )
    if port == 0:
        raise SettingsError(f"{key}: port out of range: {shown}")
    try:
        parts.hostname.encode("idna")
    except UnicodeError:
        raise SettingsError(f"{key}: not a valid host name: {parts.hostname!r}") from None
    return value.rstrip("/")


def _level(key: str, value: Any) -> str:
    value = _str(key, value).lower()
    if value not in LOG_LEVELS:
        raise SettingsError(f"{key}: expected one of {', '.join(LOG_LEVELS)}, got {value!r}")
    return value


MODES = ("enforce", "shadow", "off")


def _mode(key: str, value: Any) -> str:
    if value not in MODES:
        raise SettingsError(f"{key}: expected one of {', '.join(MODES)}, got {value!r}")
    return str(value)


def _rule_mode(key: str, value: Any) -> str:
    """A rule's own mode, or "default" to follow rules.mode; true/false mean enforce/off."""
    if isinstance(value, bool):
        return "enforce" if value else "off"
    if value == "default":
        return "default"
    if value not in MODES:
        raise SettingsError(f"{key}: expected default, enforce, shadow, off, true or false, got {value!r}")
    return str(value)


# Headers that frame or describe a response: a marker may not replace or duplicate them.
RESERVED_HEADERS = frozenset(
    (
        "content-length",
        "transfer-encoding",
        "connection",
        "content-type",
        "content-encoding",
        "vary",
        "x-content-type-options",
        "date",
        "server",
        "keep-alive",
        "upgrade",
        "trailer",
        "set-cookie",
    )
)


def _header_name(key: str, value: Any) -> str:
    value = _str(key, value)
    if value and not all(c.isascii() and (c.isalnum() or c in "-_") for c in value):
        raise SettingsError(f"{key}: not a valid header name: {value!r}")
    if value.lower() in RESERVED_HEADERS:
        raise SettingsError(f"{key}: {value!r} frames or describes the response; choose another name")
    return value


# key -> validator. The set of keys is closed: anything else is refused.
KEYS: dict[str, Callable[[str, Any], Any]] = {
    "listen.host": _host,
    "listen.port": _port,
    "admin.host": _host,
    "admin.port": _port,
    "admin.reload_endpoint": _bool,
    "upstream.url": _url,
    "upstream.connect_timeout_seconds": _positive_seconds,
    "upstream.total_timeout_seconds": _positive_seconds,
    "upstream.pool_size": _positive_int,
    "upstream.x_forwarded": _bool,
    "limits.max_body_bytes": _positive_int,
    "limits.max_streamed_body_bytes": _positive_int,
    "limits.max_request_line_bytes": _positive_int,
    "limits.max_header_bytes": _positive_int,
    "limits.max_headers": _positive_int,
    "checks.contract": _str,
    "checks.due_date_skew_seconds": _skew_seconds,
    "checks.max_judged_body_bytes": _positive_int,
    "rules.mode": _mode,
    **{f"rules.{rule}": _rule_mode for rule in RULE_NAMES},
    "logging.access_log": _bool,
    "logging.level": _level,
    "server.shutdown_grace_seconds": _seconds,
    "server.client_idle_timeout_seconds": _positive_seconds,
    "server.client_body_timeout_seconds": _positive_seconds,
    "server.marker_header": _header_name,
    "server.workers": _workers,
    "server.event_loop": _event_loop,
}


@dataclass(frozen=True)
class Settings:
    listen_host: str
    listen_port: int
    admin_host: str
    admin_port: int
    reload_endpoint: bool
    upstream_url: str
    connect_timeout: float
    total_timeout: float
    pool_size: int
    x_forwarded: bool
    max_body_bytes: int
    contract_path: Path
    due_date_skew_seconds: float
    max_judged_body_bytes: int
    default_mode: str
    rule_modes: Mapping[str, str]  # every rule -> enforce, shadow or off (defaults resolved)
    access_log: bool
    log_level: str
    shutdown_grace_seconds: float
    marker_header: str
    max_streamed_body_bytes: int
    max_request_line_bytes: int
    max_header_bytes: int
    max_headers: int
    client_idle_timeout: float
    client_body_timeout: float
    workers: int
    event_loop: str
    values: Mapping[str, Any] = field(repr=False, default_factory=dict)
    sources: Mapping[str, str] = field(repr=False, default_factory=dict)


def _flatten(where: str, data: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for section, table in data.items():
        if not isinstance(table, dict):
            raise SettingsError(f"{where}: {section}: expected a [{section}] table, got {table!r}")
        for key, value in table.items():
            flat[f"{section}.{key}"] = value
    return flat


# A settings file is a few KiB; reading stops past this (a path such as /dev/zero never ends).
MAX_CONFIG_BYTES = 1024 * 1024


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            data = file.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise SettingsError(f"config file {path}: cannot read it: {exc.strerror or exc}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise SettingsError(f"config file {path}: larger than {MAX_CONFIG_BYTES} bytes; not a settings file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SettingsError(f"config file {path}: not UTF-8 text") from None
    try:
        return _flatten(str(path), tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path}: not valid TOML: {exc}") from None


def _parse_env(key: str, text: str) -> Any:
    """Environment values are text: read them as the type the key's default has."""
    validator = KEYS[key]
    if validator is _rule_mode and text.strip().lower() in ("true", "false"):
        return text.strip().lower() == "true"
    if validator is _bool:
        lowered = text.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{key} (from {env_name(key)}): expected true or false, got {text!r}")
    if validator in (_port, _int, _positive_int, _workers):
        try:
            return int(text.strip())
        except ValueError:
            raise SettingsError(f"{key} (from {env_name(key)}): expected an integer, got {text!r}") from None
    if validator in (_seconds, _positive_seconds, _skew_seconds):
        try:
            return float(text.strip())
        except ValueError:
            raise SettingsError(f"{key} (from {env_name(key)}): expected a number, got {text!r}") from None
    return text


_ANY_ADDRESS = ("", "0.0.0.0", "::")


def _same_socket(host_a: str, port_a: int, host_b: str, port_b: int) -> bool:
    """Could two listeners end up on one socket address? Port 0 picks a free port for each; two
    different addresses (neither the wildcard) are distinct sockets."""
    if port_a != port_b or port_a == 0:
        return False
    try:
        a, b = ipaddress.ip_address(host_a), ipaddress.ip_address(host_b)
    except ValueError:  # a host name: it may resolve to the other address
        return True
    return a == b or host_a in _ANY_ADDRESS or host_b in _ANY_ADDRESS


def env_name(key: str) -> str:
    return ENV_PREFIX + key.replace(".", "_").upper()


def load(
    config: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build the effective settings. `overrides` are command-line values keyed like the file."""
    environ = os.environ if environ is None else environ
    defaults_path = default_config_dir() / "clever-proxy.toml"
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    base_dirs: dict[str, Path] = {}

    def apply(layer: Mapping[str, Any], source: str, base_dir: Path | None = None) -> None:
        for key, value in layer.items():
            if key not in KEYS:
                raise SettingsError(f"{key}: unknown key (in {source})")
            try:
                values[key] = KEYS[key](key, value)
            except SettingsError as exc:
                if source == "environment":
                    raise SettingsError(f"{exc} (from {env_name(key)})") from None
                if source not in ("defaults", "command line"):  # a settings file: say which
                    raise SettingsError(f"{exc} (in {source})") from None
                raise
            sources[key] = source
            if base_dir is not None:
                base_dirs[key] = base_dir

    apply(_read_file(defaults_path), "defaults", defaults_path.parent)
    missing = sorted(set(KEYS) - set(values))
    if missing:
        raise SettingsError(f"{missing[0]}: missing from the packaged defaults {defaults_path}")

    config_path = config if config is not None else environ.get(CONFIG_ENV)
    if config_path:
        path = Path(config_path)
        apply(_read_file(path), str(path), path.resolve().parent)

    by_env = {env_name(k): k for k in KEYS}
    env_layer: dict[str, Any] = {}
    for name, text in environ.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV or _K8S_SERVICE_LINK.fullmatch(name):
            continue
        key = by_env.get(name)
        if key is None:
            raise SettingsError(f"{name}: unknown setting in the environment")
        env_layer[key] = _parse_env(key, text)
    apply(env_layer, "environment", Path.cwd())
    apply(dict(overrides or {}), "command line", Path.cwd())

    contract = Path(values["checks.contract"])
    if not contract.is_absolute():
        contract = base_dirs.get("checks.contract", Path.cwd()) / contract
    connect, total = "upstream.connect_timeout_seconds", "upstream.total_timeout_seconds"
    if values[connect] > values[total]:
        raise SettingsError(
            f"{connect} ({values[connect]:g}, from {sources[connect]}) must not exceed "
            f"{total} ({values[total]:g}, from {sources[total]})"
        )
    if _same_socket(values["listen.host"], values["listen.port"], values["admin.host"], values["admin.port"]):
        # Workers share ports with SO_REUSEPORT: the two listeners would split each other's traffic.
        raise SettingsError(
            f"admin.port: must differ from listen.port ({values['listen.port']}) on the same address"
        )

    return Settings(
        listen_host=values["listen.host"],
        listen_port=values["listen.port"],
        admin_host=values["admin.host"],
        admin_port=values["admin.port"],
        reload_endpoint=values["admin.reload_endpoint"],
        upstream_url=values["upstream.url"],
        connect_timeout=values["upstream.connect_timeout_seconds"],
        total_timeout=values["upstream.total_timeout_seconds"],
        pool_size=values["upstream.pool_size"],
        x_forwarded=values["upstream.x_forwarded"],
        max_body_bytes=values["limits.max_body_bytes"],
        contract_path=contract,
        due_date_skew_seconds=values["checks.due_date_skew_seconds"],
        max_judged_body_bytes=values["checks.max_judged_body_bytes"],
        default_mode=values["rules.mode"],
        rule_modes={
            r: values["rules.mode"] if values[f"rules.{r}"] == "default" else values[f"rules.{r}"]
            for r in RULE_NAMES
        },
        access_log=values["logging.access_log"],
        log_level=values["logging.level"],
        shutdown_grace_seconds=values["server.shutdown_grace_seconds"],
        marker_header=values["server.marker_header"],
        max_streamed_body_bytes=values["limits.max_streamed_body_bytes"],
        max_request_line_bytes=values["limits.max_request_line_bytes"],
        max_header_bytes=values["limits.max_header_bytes"],
        max_headers=values["limits.max_headers"],
        client_idle_timeout=values["server.client_idle_timeout_seconds"],
        client_body_timeout=values["server.client_body_timeout_seconds"],
        workers=values["server.workers"],
        event_loop=values["server.event_loop"],
        values=dict(values),
        sources=dict(sources),
    )


def render(settings: Settings) -> str:
    """The effective settings as TOML, each key with the layer it came from."""
    lines: list[str] = []
    section = ""
    for key in KEYS:
        sec, name = key.split(".", 1)
        if sec != section:
            lines.append(f"{'' if not lines else chr(10)}[{sec}]")
            section = sec
        value = settings.values[key]
        if key == "checks.contract":
            value = str(settings.contract_path)
        lines.append(f"{name} = {_toml_value(value)}  # {settings.sources[key]}")
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
