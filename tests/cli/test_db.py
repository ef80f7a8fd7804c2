"""`supporter db upgrade` and `supporter db current`, on SQLite files and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from tests.store.releases import release_metadata
from typer.testing import CliRunner

from supporter.cli.app import app
from supporter.store import migrations
from supporter.store.schema import SCHEMA_VERSION

HEAD = migrations.head()


@pytest.fixture(autouse=True)
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SUPPORTER_STORE_URL", raising=False)
    monkeypatch.delenv("SUPPORTER_DB", raising=False)


def db(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["db", *args])
    return result.exit_code, result.output


def made_by_release(path: Path, version: int) -> None:
    """A SQLite store as that release left it: its tables and its version marker only."""
    engine = create_engine(f"sqlite:///{path}")
    metadata = release_metadata(version)
    with engine.begin() as connection:
        metadata.create_all(connection)
        connection.execute(metadata.tables["schema_info"].insert().values(version=version))
    engine.dispose()


def test_upgrade_creates_the_tables_then_has_nothing_to_do() -> None:
    assert db("upgrade", "--db", "new.db") == (0, f"new.db: empty → {HEAD}\n")
    assert db("upgrade", "--db", "new.db") == (0, f"new.db: at {HEAD} already\n")
    code, output = db("current", "--db", "new.db")
    assert code == 0
    assert output.splitlines() == [
        f"store: {HEAD} (new.db)",
        f"this Supporter: {HEAD} (schema version {SCHEMA_VERSION})",
        "up to date",
    ]


def test_a_store_of_an_older_release_is_behind_until_upgraded(tmp_path: Path) -> None:
    made_by_release(tmp_path / "old.db", 2)
    code, output = db("current", "--db", "old.db")
    assert code == 0
    assert output.splitlines()[0] == "store: 0002 (old.db)"
    assert output.splitlines()[2].startswith("behind: `supporter db upgrade`")
    assert db("upgrade", "--db", "old.db") == (0, f"old.db: 0002 → {HEAD}\n")
    assert db("current", "--db", "old.db")[1].endswith("up to date\n")


def test_a_store_of_a_newer_supporter_is_left_alone(tmp_path: Path) -> None:
    assert db("upgrade", "--db", "s.db")[0] == 0
    engine = create_engine(f"sqlite:///{tmp_path / 's.db'}")
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    code, output = db("current", "--db", "s.db")
    assert code == 0
    assert "store: 9999" in output
    assert "made by a newer Supporter" in output
    code, output = db("upgrade", "--db", "s.db")
    assert code == 2
    assert "made by a newer Supporter" in output


def test_current_does_not_create_a_database() -> None:
    code, output = db("current", "--db", "missing.db")
    assert code == 2
    assert "no database at missing.db" in output
    assert not Path("missing.db").exists()


def test_upgrade_and_current_on_postgresql(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPPORTER_STORE_URL", postgres_url)
    code, output = db("current")
    assert (code, output.splitlines()[0]) == (0, f"store: empty ({postgres_url})")
    assert db("upgrade") == (0, f"{postgres_url}: empty → {HEAD}\n")
    assert db("current")[1].endswith("up to date\n")
    assert not Path("supporter.db").exists()
