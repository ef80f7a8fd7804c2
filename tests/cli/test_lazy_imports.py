"""`supporter run` on the embedded defaults loads no adapter it does not use, nor
what only other commands or tracing need.

The OpenAI SDK, the broker clients, Stripe's SDK, the web stack and the knowledge
index's libraries took a quarter of a 10,000-ticket run to import (BENCHMARKS.md):
each is imported where the adapter that needs it is chosen. Run in a fresh
interpreter, as the command starts, since this test process has them all loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[2] / "examples"

# Top-level packages a run on memory://, SQLite and the offline provider never uses.
UNUSED_ON_DEFAULTS = (
    "openai",
    "aio_pika",
    "aiormq",
    "redis",
    "aiokafka",
    "fastapi",
    "starlette",
    "uvicorn",
    "jinja2",
    "argon2",
    "stripe",
    "requests",
    "httpx",
    "httpx2",
    "aiohttp",
    "sklearn",
    "numpy",
    "yaml",
    "snowballstemmer",
)

# Parts of packages a run does use that only other commands, or tracing, need.
UNUSED_PARTS_ON_DEFAULTS = (
    "opentelemetry.sdk",
    "supporter.sample_data",
    "supporter.evaluation",
    "supporter.store.reviews",
)

# Runs the command in-process, then reports what it loaded (typer ends with SystemExit).
_PROBE = """
import json, sys
from supporter.cli.app import app
code = None
if len(sys.argv) > 1:
    try:
        app(sys.argv[1:], prog_name="supporter")
    except SystemExit as exit:
        code = exit.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _probe(*args: str, cwd: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    modules = report["modules"]
    assert isinstance(modules, list)
    report["modules"] = sorted({name.split(".")[0] for name in modules})
    report["parts"] = [
        part
        for part in UNUSED_PARTS_ON_DEFAULTS
        if any(name == part or name.startswith(f"{part}.") for name in modules)
    ]
    return report


def test_importing_the_command_loads_no_adapter(tmp_path: Path) -> None:
    report = _probe(cwd=tmp_path)
    loaded = report["modules"]
    assert isinstance(loaded, list)
    assert "typer" in loaded  # the probe did import the command
    assert [name for name in UNUSED_ON_DEFAULTS if name in loaded] == []
    assert report["parts"] == []


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_run_on_the_defaults_loads_no_adapter(tmp_path: Path, fmt: str) -> None:
    report = _probe(
        "run",
        "--no-progress",
        "--tickets",
        str(EXAMPLES / "tickets.csv"),
        "--transactions",
        str(EXAMPLES / "transactions.csv"),
        "--format",
        fmt,
        cwd=tmp_path,
    )
    assert report["code"] == 0
    assert (tmp_path / "results.jsonl").stat().st_size > 0
    assert (tmp_path / "results.csv").exists() == (fmt == "csv")
    loaded = report["modules"]
    assert isinstance(loaded, list)
    assert "sqlalchemy" in loaded  # the run did use its store
    assert [name for name in UNUSED_ON_DEFAULTS if name in loaded] == []
    assert report["parts"] == []


def test_a_store_at_the_current_schema_is_opened_without_alembic(tmp_path: Path) -> None:
    """Alembic and its scripts load only when a migration is due: the first run makes
    the store, the second finds it current."""
    run = (
        "run",
        "--no-progress",
        "--tickets",
        str(EXAMPLES / "tickets.csv"),
        "--transactions",
        str(EXAMPLES / "transactions.csv"),
    )
    first, second = _probe(*run, cwd=tmp_path), _probe(*run, cwd=tmp_path)
    assert first["code"] == second["code"] == 0
    assert isinstance(first["modules"], list)
    assert isinstance(second["modules"], list)
    assert "alembic" in first["modules"]
    assert "alembic" not in second["modules"]
