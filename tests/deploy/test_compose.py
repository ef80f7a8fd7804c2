"""deploy/compose.yaml and the Dockerfile stay true to the CLI and the settings: a
renamed command, option or setting breaks these tests, not a deployment."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from typer.testing import CliRunner

from supporter.cli.app import app
from supporter.config import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
DEPLOYMENT_DOC = ROOT / "docs" / "deployment.md"
# `${NAME}`, `${NAME:-default}`, `${NAME:?message}`, `$NAME`; `$$` is a literal dollar.
INTERPOLATION = re.compile(r"(?<!\$)\$\{?([A-Za-z_][A-Za-z0-9_]*)")


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def supporter_services() -> dict[str, dict[str, Any]]:
    """The services that run the `supporter` image (built from this repository)."""
    return {
        name: service
        for name, service in compose()["services"].items()
        if "build" in service or str(service.get("image", "")).startswith("supporter")
    }


def environment(service: dict[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        return dict(item.partition("=")[::2] for item in raw)
    return {key: "" if value is None else str(value) for key, value in raw.items()}


def compose_default(value: str) -> str:
    """What compose makes of `${NAME:-default}` when NAME is not set."""
    return re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}", r"\1", value)


def seconds(duration: str) -> float:
    """A compose duration such as `45s`, `1m30s`."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts, duration
    return sum(float(number) * units[unit] for number, unit in parts)


def settings_env_names() -> set[str]:
    """The environment variables Settings reads (pydantic-settings: prefix + field name,
    case-insensitive unless the model says otherwise)."""
    prefix = Settings.model_config.get("env_prefix", "")
    names = {f"{prefix}{name}" for name in Settings.model_fields}
    if not Settings.model_config.get("case_sensitive", False):
        names = {name.upper() for name in names}
    return names


def test_compose_runs_the_supporter_image() -> None:
    services = supporter_services()
    assert {"migrate", "analyze", "respond", "sink", "ingest", "transactions-load"} <= set(services)
    for name, service in services.items():
        assert isinstance(service.get("command"), list), f"{name}: give the command as a list"


@pytest.mark.parametrize("name", sorted(supporter_services()))
def test_each_service_command_is_a_real_cli_command(name: str) -> None:
    command = [str(word) for word in supporter_services()[name]["command"]]
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, f"`supporter {' '.join(command)} --help`: {result.output}"


def resolve(words: list[str]) -> tuple[Any, list[str], list[str]]:
    """The CLI command that `words` name, its path (`supporter worker analyze`) and
    the words left for it."""
    command: Any = typer.main.get_command(app)
    path = ["supporter"]
    rest = list(words)
    while rest and rest[0] in getattr(command, "commands", {}):
        path.append(rest[0])
        command = command.commands[rest.pop(0)]
    return command, path, rest


def check_parses(words: list[str]) -> None:
    """The whole command line (not only its --help) parses: no unknown command or
    option, no missing or extra argument, values of the right type. Nothing is run."""
    command, path, rest = resolve(words)
    if hasattr(command, "commands"):
        wanted = f"has no command {rest[0]!r}" if rest else "needs a subcommand"
        pytest.fail(f"`{' '.join(path)}` {wanted}")
    try:
        command.make_context(" ".join(path), list(rest))  # it consumes the list
    except Exception as error:  # the CLI library's usage errors
        pytest.fail(f"`{' '.join(path)} {' '.join(rest)}`: {error}")


@pytest.mark.parametrize("name", sorted(supporter_services()))
def test_each_service_command_parses(name: str) -> None:
    check_parses([str(word) for word in supporter_services()[name]["command"]])


def test_kubernetes_args_in_the_deployment_guide_parse() -> None:
    """Every `args: [...]` of the guide's manifests is a command line that parses."""
    found = re.findall(r"^\s*args: (\[.*\])\s*$", DEPLOYMENT_DOC.read_text(), re.MULTILINE)
    assert found, "no `args:` in docs/deployment.md"
    for flow in found:
        check_parses([str(word) for word in yaml.safe_load(flow)])


def test_commands_named_in_the_deployment_guide_exist() -> None:
    """`supporter …` in backquotes: the command exists and has the --options shown."""
    spans = re.findall(r"`(supporter [^`]+)`", DEPLOYMENT_DOC.read_text())
    assert spans
    for span in spans:
        words = span.split()[1:]
        leading = []
        for word in words:
            if not re.fullmatch(r"[a-z][a-z-]*", word):
                break
            leading.append(word)
        command, path, rest = resolve(leading)
        assert not rest, f"`{span}`: `{' '.join(path)}` has no command {rest[0]!r}"
        known = {
            option
            for parameter in getattr(command, "params", [])
            for option in [*parameter.opts, *parameter.secondary_opts]
        }
        options = {word.split("=")[0] for word in words if word.startswith("--")}
        if not hasattr(command, "commands"):
            assert options <= known | {"--help"}, f"`{span}`: unknown {options - known}"


def test_supporter_variables_in_compose_are_settings() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    used = set(INTERPOLATION.findall(text))
    for service in compose()["services"].values():
        used |= set(environment(service))
    supporter = {name for name in used if name.upper().startswith("SUPPORTER_")}
    assert {"SUPPORTER_BROKER_URL", "SUPPORTER_STORE_URL"} <= supporter
    unknown = {name for name in supporter if name.upper() not in settings_env_names()}
    assert not unknown, f"not settings of supporter.config.Settings: {sorted(unknown)}"


def test_compose_defaults_are_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, service in supporter_services().items():
        values = {key: compose_default(value) for key, value in environment(service).items()}
        for key, value in values.items():
            monkeypatch.setenv(key, value)
        settings = Settings()
        assert not settings.broker_url.startswith("memory://"), name
        assert settings.store_url is not None, name
        assert settings.store_url.startswith("postgresql://"), name


def test_workers_get_more_time_to_stop_than_their_shutdown_timeout() -> None:
    timeout = Settings.model_fields["shutdown_timeout"].default
    for name, service in supporter_services().items():
        if service["command"][0] == "worker":
            grace = seconds(str(service.get("stop_grace_period", "10s")))
            assert grace > timeout, f"{name}: stop_grace_period {grace}s <= {timeout}s"


def test_dependencies_wait_for_healthy_servers() -> None:
    services = compose()["services"]
    for server in ("rabbitmq", "postgres"):
        assert "healthcheck" in services[server], server
    for name, service in supporter_services().items():
        for dependency, condition in service.get("depends_on", {}).items():
            wanted = "service_healthy" if "healthcheck" in services[dependency] else None
            if wanted:
                assert condition["condition"] == wanted, (name, dependency)


def test_dockerfile_runs_supporter_as_a_user_that_is_not_root() -> None:
    lines = DOCKERFILE.read_text(encoding="utf-8").splitlines()
    final_stage = max(i for i, line in enumerate(lines) if line.upper().startswith("FROM "))
    instructions = [line.strip() for line in lines[final_stage:] if line.strip()]
    entrypoints = [line for line in instructions if line.upper().startswith("ENTRYPOINT ")]
    assert entrypoints, "the image needs an ENTRYPOINT"
    assert json.loads(entrypoints[-1].split(None, 1)[1]) == ["supporter"]
    users = [line.split(None, 1)[1] for line in instructions if line.upper().startswith("USER ")]
    assert users, "the image must not run as root"
    assert users[-1] not in {"root", "0"}
