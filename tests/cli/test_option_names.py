"""A bad setting given on the command line is named as what the user typed for it: the
command's own option (`run --format`, `knowledge search --index`), never one made up
from the setting's name (`--formats`, `--knowledge-index`)."""

from __future__ import annotations

import dis
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from types import CodeType
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

import supporter.cli.common
from supporter.cli.app import app
from supporter.cli.common import settings_from
from supporter.config import ConfigError, Settings, load_settings

Command = Any  # a click command of typer's (typer 0.29 bundles its own click)

# What a command needs before it loads its settings, beyond a placeholder for each
# required parameter: (arguments, stdin).
REACH: dict[str, tuple[list[str], str | None]] = {
    "users add": (["--password-stdin"], "a long enough password\n"),
    "users password": (["--password-stdin"], "a long enough password\n"),
    "train": (["--from-store"], None),
    "eval": (["--from-store"], None),
}
# Loads let through before the one the walk stops at: `eval --from-store` loads its own
# settings, then the store's.
EARLIER_LOADS = {"eval": 1}


def _commands(command: Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Command]]:
    subcommands = getattr(command, "commands", None)
    if subcommands is None:
        yield " ".join(path), command
        return
    for name, subcommand in sorted(subcommands.items()):
        yield from _commands(subcommand, (*path, name))


def _globals_used(code: CodeType) -> Iterator[str]:
    for instruction in dis.get_instructions(code):
        if instruction.opname == "LOAD_GLOBAL":
            yield str(instruction.argval)
    for constant in code.co_consts:
        if isinstance(constant, CodeType):  # a nested function or lambda
            yield from _globals_used(constant)


def _loads_settings(function: Callable[..., Any], seen: set[Callable[..., Any]]) -> bool:
    """Whether `function` calls settings_from, itself or through functions of the CLI."""
    seen.add(function)
    for name in _globals_used(function.__code__):
        target = function.__globals__.get(name)
        if target is settings_from:
            return True
        if (
            inspect.isfunction(target)
            and target.__module__.startswith("supporter.cli.")
            and target not in seen
            and _loads_settings(target, seen)
        ):
            return True
    return False


COMMANDS = dict(_commands(typer.main.get_command(app)))
# typer wraps each callback: the function as written is what calls settings_from.
LOADING = sorted(
    name
    for name, command in COMMANDS.items()
    if _loads_settings(inspect.unwrap(command.callback), set())
)


def test_the_walk_finds_the_commands_that_load_settings() -> None:
    assert {"run", "knowledge index", "knowledge search", "worker analyze", "db upgrade"} <= set(
        LOADING
    )
    assert "fake-llm" not in LOADING
    assert "sample-data" not in LOADING
    assert len(LOADING) >= 25


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./supporter.toml; nothing written where it matters


@pytest.mark.usefixtures("elsewhere")
@pytest.mark.parametrize("name", LOADING)
def test_each_setting_a_command_passes_is_named_as_an_option_it_has(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    command = COMMANDS[name]
    calls: list[tuple[dict[str, Any], dict[str, str]]] = []

    def reached(
        options: dict[str, Any], config: Path | None, option_names: dict[str, str]
    ) -> Settings:
        calls.append((options, dict(option_names)))
        if len(calls) <= EARLIER_LOADS.get(name, 0):
            return load_settings(options, config, option_names)
        raise ConfigError("reached")

    monkeypatch.setattr(supporter.cli.common, "load_settings", reached)
    needed, stdin = REACH.get(name, ([], None))
    args = list(needed)
    for param in command.params:
        if param.required:
            args += ["x"] if param.param_type_name == "argument" else [param.opts[0], "x"]
    result = CliRunner().invoke(app, [*name.split(), *args], input=stdin)

    assert "reached" in result.output, (
        f"`supporter {name}` loads settings but was not run up to it: add what it needs to REACH"
        f"\n{result.output}"
    )
    assert len(calls) == EARLIER_LOADS.get(name, 0) + 1
    params = {param.name: param for param in command.params}
    for options, option_names in calls:
        for setting in options:
            assert setting in params, f"`supporter {name}` has no parameter named {setting}"
            param = params[setting]
            if param.param_type_name == "argument":
                assert option_names[setting] == setting.upper()
            else:
                assert option_names[setting] in param.opts
                assert option_names[setting].startswith("--")


@pytest.mark.usefixtures("elsewhere")
def test_a_bad_run_format_is_named_as_the_format_option() -> None:
    result = CliRunner().invoke(
        app, ["run", "--tickets", "examples/tickets.csv", "--format", "xml"]
    )

    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: invalid configuration: --format: formats.0: Input should be 'jsonl' or 'csv'"
    )


@pytest.mark.usefixtures("elsewhere")
@pytest.mark.parametrize(
    ("command", "setting"),
    [
        ("analyze", "analyze_concurrency"),
        ("respond", "respond_concurrency"),
        ("write-back", "write_back_concurrency"),
    ],
)
def test_a_bad_worker_concurrency_is_named_as_the_concurrency_option(
    command: str, setting: str
) -> None:
    result = CliRunner().invoke(app, ["worker", command, "--concurrency", "0"])

    assert result.exit_code == 2
    assert result.output.startswith(
        f"error: invalid configuration: --concurrency: {setting}: Input should be greater"
    )


@pytest.mark.usefixtures("elsewhere")
@pytest.mark.parametrize("command", [["index", "help-center"], ["search", "refund"]])
def test_a_bad_knowledge_index_or_embeddings_is_named_as_the_commands_options(
    command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing typed can make these two invalid, so the values are spoilt on the way.
    def spoilt(options: dict[str, Any], config: Path | None, *names: Any) -> object:
        spoilt_options = {**options, "knowledge_index": 3, "knowledge_embeddings": "maybe"}
        return load_settings(spoilt_options, config, *names)

    monkeypatch.setattr(supporter.cli.common, "load_settings", spoilt)
    result = CliRunner().invoke(app, ["knowledge", *command, "--index", "index.db", "--embeddings"])

    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: invalid configuration: --index: knowledge_index:"
        " Input is not a valid path for <class 'pathlib.Path'>;"
        " --embeddings: knowledge_embeddings: Input should be a valid boolean,"
        " unable to interpret input"
    )
