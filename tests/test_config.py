"""Settings layering and every way configuration can be wrong: one clear line, exit 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from proxy import contract as contract_mod
from proxy import settings as settings_mod
from proxy.settings import SettingsError

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CLEVER_PROXY_")}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "proxy", *args],
        capture_output=True,
        check=False,
        text=True,
        env=environ,
        cwd=ROOT,
        timeout=60,
    )


def test_defaults_come_from_the_packaged_file() -> None:
    s = settings_mod.load(environ={})
    assert (s.listen_host, s.listen_port, s.admin_host, s.admin_port) == (
        "127.0.0.1",
        8080,
        "127.0.0.1",
        9090,
    )
    assert s.upstream_url == "https://api.clever.com"
    assert s.rule_modes == dict.fromkeys(contract_mod.RULE_NAMES, "enforce")
    assert s.contract_path == ROOT / "config" / "contract.toml"
    assert set(s.sources.values()) == {"defaults"}


def test_file_then_environment_then_flags(tmp_path: Path) -> None:
    cfg = tmp_path / "mine.toml"
    cfg.write_text(
        '[listen]\nport = 7000\nhost = "0.0.0.0"\n[upstream]\nurl = "http://clever.internal:8443"\n'
    )
    s = settings_mod.load(
        cfg,
        overrides={"listen.port": 7002},
        environ={"CLEVER_PROXY_LISTEN_PORT": "7001", "CLEVER_PROXY_RULES_SCHEMA": "off"},
    )
    assert s.listen_port == 7002 and s.sources["listen.port"] == "command line"
    assert s.listen_host == "0.0.0.0" and s.sources["listen.host"] == str(cfg)
    assert s.upstream_url == "http://clever.internal:8443"
    assert s.rule_modes["schema"] == "off" and s.sources["rules.schema"] == "environment"


def test_relative_contract_path_is_relative_to_the_file_that_sets_it(tmp_path: Path) -> None:
    cfg = tmp_path / "sub" / "mine.toml"
    cfg.parent.mkdir()
    cfg.write_text('[checks]\ncontract = "my-contract.toml"\n')
    assert settings_mod.load(cfg, environ={}).contract_path == cfg.parent.resolve() / "my-contract.toml"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[listen]\nprot = 1\n", "listen.prot: unknown key"),
        ("[listen]\nport = 70000\n", "listen.port: port out of range"),
        ('[listen]\nport = "80"\n', "listen.port: expected an integer"),
        ('[upstream]\nurl = "ftp://x"\n', "upstream.url: expected http://host"),
        ('[upstream]\nurl = "https://user:pw@api.clever.com"\n', "upstream.url: give only scheme"),
        (
            "[checks]\ndue_date_skew_seconds = 1e20\n",
            "checks.due_date_skew_seconds: must be at most 31536000",
        ),
        ('[upstream]\nurl = "https://api.clever.com/v3.1"\n', "upstream.url: give only scheme"),
        ('[upstream]\nurl = "http://a..b"\n', "upstream.url: not a valid host name"),
        (
            "[upstream]\ntotal_timeout_seconds = 5\n",
            "upstream.connect_timeout_seconds (10, from defaults) must not exceed "
            "upstream.total_timeout_seconds (5, from ",
        ),
        ('[listen]\nhost = "not..a..host"\n', "listen.host: not a host name or address: 'not..a..host'"),
        (f'[admin]\nhost = "{"x" * 64}.example"\n', "admin.host: not a host name or address"),
        ('[server]\nmarker_header = "Content-Length"\n', "server.marker_header: 'Content-Length' frames"),
        (
            "[upstream]\ntotal_timeout_seconds = -1\n",
            "upstream.total_timeout_seconds: must be a finite number",
        ),
        ("[rules]\nschema = 1\n", "rules.schema: expected default, enforce, shadow, off, true or false"),
        ('[rules]\nmode = "watch"\n', "rules.mode: expected one of enforce, shadow, off"),
        ('[logging]\nlevel = "loud"\n', "logging.level: expected one of"),
        ("listen = 3\n", "listen: expected a [listen] table"),
        ("[listen\n", "not valid TOML"),
    ],
)
def test_bad_files_name_the_key(tmp_path: Path, text: str, needle: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises(SettingsError, match=None) as info:
        settings_mod.load(cfg, environ={})
    assert needle in str(info.value)
    assert str(cfg) in str(info.value)  # which file, too


@pytest.mark.parametrize(
    "url",
    [
        "https://user:SECRET@api.clever.com",
        "https://SECRET@api.clever.com/v3.1",
        "ftp://u:SECRET@x",
        "http://u:SECRET@[::1",
    ],
)
def test_a_refused_url_never_repeats_its_password(url: str) -> None:
    with pytest.raises(SettingsError) as info:
        settings_mod.load(environ={"CLEVER_PROXY_UPSTREAM_URL": url})
    assert "upstream.url" in str(info.value) and "***@" in str(info.value)
    assert "SECRET" not in str(info.value)


def test_kubernetes_service_links_are_not_mistaken_for_settings() -> None:
    links = {
        "CLEVER_PROXY_SERVICE_HOST": "10.0.0.7",
        "CLEVER_PROXY_SERVICE_PORT": "8080",
        "CLEVER_PROXY_SERVICE_PORT_HTTP": "8080",
        "CLEVER_PROXY_PORT": "tcp://10.0.0.7:8080",
        "CLEVER_PROXY_PORT_8080_TCP": "tcp://10.0.0.7:8080",
        "CLEVER_PROXY_PORT_8080_TCP_ADDR": "10.0.0.7",
        "CLEVER_PROXY_PORT_8080_TCP_PROTO": "tcp",
    }
    assert settings_mod.load(environ=links).listen_port == 8080


@pytest.mark.parametrize(
    ("environ", "needle"),
    [
        ({"CLEVER_PROXY_LISTEN_PROT": "1"}, "CLEVER_PROXY_LISTEN_PROT: unknown setting"),
        (
            {"CLEVER_PROXY_ADMIN_PORT": "nine"},
            "admin.port (from CLEVER_PROXY_ADMIN_PORT): expected an integer",
        ),
        (
            {"CLEVER_PROXY_RULES_AUTH": "maybe"},
            "got 'maybe' (from CLEVER_PROXY_RULES_AUTH)",
        ),
    ],
)
def test_bad_environment_names_the_variable(environ: dict[str, str], needle: str) -> None:
    with pytest.raises(SettingsError) as info:
        settings_mod.load(environ=environ)
    assert needle in str(info.value)


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (["--port", "99999"], {}, "listen.port: port out of range (0-65535): 99999"),
        (["--port", "eighty"], {}, "argument --port: invalid int value: 'eighty'"),
        (["--upstream", "not a url"], {}, "upstream.url: expected http://host"),
        (
            ["--config", "/nonexistent/clever.toml"],
            {},
            "config file /nonexistent/clever.toml: cannot read it",
        ),
        (["--bogus"], {}, "unrecognized arguments: --bogus"),
        (["--config", "/dev/zero"], {}, "config file /dev/zero: larger than 1048576 bytes"),
        (
            ["check-config"],
            {"CLEVER_PROXY_CHECKS_CONTRACT": "/dev/zero"},
            "/dev/zero: larger than 4194304 bytes",
        ),
        (
            ["check-config"],
            {"CLEVER_PROXY_CHECKS_DUE_DATE_SKEW_SECONDS": "86400000000000"},
            "checks.due_date_skew_seconds: must be at most",
        ),
        (
            ["--port", "0", "--admin-port", "0"],
            {"CLEVER_PROXY_LISTEN_HOST": "999.1.1.1"},
            "999.1.1.1:0 (listen.host, listen.port): not an address of this machine, nor a name",
        ),
        (["check-config"], {"CLEVER_PROXY_UPSTREAM_URL": "https://"}, "upstream.url"),
        (
            ["check-config", "--port", "8282", "--admin-port", "8282"],
            {},
            "admin.port: must differ from listen.port (8282) on the same address",
        ),
    ],
)
def test_cli_errors_are_one_line_and_exit_2(args: list[str], env: dict[str, str], needle: str) -> None:
    result = run_cli(*args, env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("clever-proxy: error: ")
    assert needle in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("listen", "admin", "refused"),
    [
        (("127.0.0.1", 8282), ("127.0.0.1", 8282), True),
        (("0.0.0.0", 8282), ("127.0.0.1", 8282), True),  # the wildcard holds every address
        (("::", 8282), ("0.0.0.0", 8282), True),
        (("localhost", 8282), ("127.0.0.1", 8282), True),  # a name may be that address
        (("127.0.0.1", 8282), ("127.0.0.2", 8282), False),
        (("127.0.0.1", 0), ("127.0.0.1", 0), False),  # each gets a free port of its own
        (("127.0.0.1", 8282), ("127.0.0.1", 8283), False),
    ],
)
def test_the_api_and_admin_listeners_never_share_a_socket(
    listen: tuple[str, int], admin: tuple[str, int], refused: bool
) -> None:
    """With workers both listeners set SO_REUSEPORT, so one port on one address would bind twice and
    split traffic between the API and /metrics at random: refused at load."""
    values = {
        "listen.host": listen[0],
        "listen.port": listen[1],
        "admin.host": admin[0],
        "admin.port": admin[1],
    }
    if refused:
        with pytest.raises(SettingsError, match=r"admin\.port: must differ from listen\.port"):
            settings_mod.load(overrides=values, environ={})
    else:
        assert settings_mod.load(overrides=values, environ={}).admin_port == admin[1]


def test_check_config_prints_the_effective_settings_with_sources() -> None:
    result = run_cli(
        "check-config", "--port", "8181", env={"CLEVER_PROXY_UPSTREAM_URL": "http://127.0.0.1:9"}
    )
    assert result.returncode == 0, result.stderr
    assert "port = 8181  # command line" in result.stdout
    assert 'url = "http://127.0.0.1:9"  # environment' in result.stdout
    assert "# contract " in result.stdout and "4 routes, 7 operations" in result.stdout


def test_a_broken_contract_file_is_refused_with_its_place(tmp_path: Path) -> None:
    text = (ROOT / "config" / "contract.toml").read_text()
    broken = tmp_path / "contract.toml"
    broken.write_text(text.replace('"models.GradingType" = [', '"models.GradingType" = 3 #['))
    cfg = tmp_path / "proxy.toml"
    cfg.write_text(f'[checks]\ncontract = "{broken}"\n')
    result = run_cli("check-config", "--config", str(cfg))
    assert result.returncode == 2
    assert "enums.models.GradingType: expected a list, got 3" in result.stderr


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ('name = "schema"', 'name = "schemas"', "stages[7].name: unknown stage 'schemas'"),
        (
            'format = "mongo-id"\n[params.assignment_id]',
            'format = "oid"\n[params.assignment_id]',
            "params.section_id.format: no format 'oid'",
        ),
        (
            'max_attempts = { type = "int64" }',
            'max_attempts = { type = "uint8" }',
            "max_attempts.type: unsupported type",
        ),
        ("[compression]", "[compression]\nlevel = 9", "compression: unknown key 'level'"),
        (
            '["X-Content-Type-Options", "nosniff"]',
            '["X-Content-Type-Options", "nosniff\\r\\nX-Evil: 1"]',
            "has a line break or NUL",
        ),
        ('["X-Content-Type-Options", "nosniff"]', '["Content-Length", "5"]', "is set by the renderer"),
        ("[enums]", "[enumz]", ": top level: missing key 'enums'"),
    ],
)
def test_contract_loader_refuses_what_it_cannot_interpret(
    tmp_path: Path, old: str, new: str, needle: str
) -> None:
    text = (ROOT / "config" / "contract.toml").read_text()
    assert old in text
    path = tmp_path / "contract.toml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(contract_mod.ContractError) as info:
        contract_mod.load(path)
    assert needle in str(info.value)


def test_an_added_enum_value_needs_no_code_change(tmp_path: Path) -> None:
    text = (ROOT / "config" / "contract.toml").read_text()
    path = tmp_path / "contract.toml"
    path.write_text(
        text.replace(
            '"models.SubmissionType" = ["link", "file", "text", "discussion"]',
            '"models.SubmissionType" = ["link", "file", "text", "discussion", "video"]',
        )
    )
    grown = contract_mod.load(path)
    rule = next(r for r in grown.models["AssignmentRequest"].rules if r.name == "submission_types")
    assert rule.enum_values[-1] == "video"


def test_every_setting_can_be_given_in_the_environment() -> None:
    """Each key's default, written as environment text, reads back as the same value."""
    defaults = settings_mod.load(environ={}).values
    for key in settings_mod.KEYS:
        if key not in defaults:
            continue
        value = defaults[key]
        text = str(value).lower() if isinstance(value, bool) else str(value)
        loaded = settings_mod.load(environ={settings_mod.env_name(key): text})
        assert loaded.values[key] == value, key
        assert loaded.sources[key] == "environment", key
