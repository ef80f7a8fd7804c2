"""The store's tables over time, as Alembic migrations.

`upgrade` brings any store this Supporter can use to the head revision: an empty
database, one made by a release before migrations (which only knows its
`schema_info.version`), or one a few revisions behind. Revision ids are the
schema version in four digits ("0003" is `SCHEMA_VERSION` 3), which is what
lets such an older store be matched to a revision.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy import column, func, inspect, select, table
from sqlalchemy.engine import Connection

from supporter.store.base import StoreError
from supporter.store.schema import SCHEMA_VERSION

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

# Any fixed key serves, as long as every Supporter uses the same one and nothing else
# in the database does: these are the ASCII codes of "SUPPORTE".
_LOCK_KEY = 0x5355_5050_4F52_5445

# Releases before migrations kept only this marker; migrations keep it current too, so
# such a release opening a newer store refuses it instead of writing to unknown tables.
_schema_info = table("schema_info", column("version"))
# Where Alembic records the revision (its default version table).
_alembic_version = table("alembic_version", column("version_num"))


@dataclass(frozen=True)
class Upgrade:
    before: str | None  # None: the database was empty
    after: str


def revision_of(version: int) -> str:
    return f"{version:04d}"


def head() -> str:
    revision = _scripts().get_current_head()
    assert revision is not None, "the migrations have one head"
    return revision


def revisions() -> list[str]:
    """Every revision this Supporter has, oldest first."""
    return [script.revision for script in _scripts().walk_revisions()][::-1]


def known(revision: str) -> bool:
    """Whether this Supporter has the migration: a store past its head is unknown."""
    return revision in revisions()


def current(connection: Connection) -> str | None:
    """The revision the store's tables are at; None for an empty database."""
    return _state(connection)[0]


def upgrade(connection: Connection) -> Upgrade:
    """Bring the store to the head revision inside the caller's transaction.

    Workers that open one store at the same time wait for whichever came first,
    then find nothing left to do.
    """
    if _recorded(connection) == revision_of(SCHEMA_VERSION):
        # The usual case takes no lock, so opening never waits for another's writes,
        # and does not load Alembic and its scripts (a tenth of a second of every command).
        return Upgrade(revision_of(SCHEMA_VERSION), revision_of(SCHEMA_VERSION))
    from alembic import command

    target = head()
    _lock(connection)
    before, recorded = _state(connection)
    if before is not None and not known(before):
        raise StoreError(
            f"the store is at schema revision {before}, which this Supporter (up to "
            f"{target}) does not know: it was made by a newer Supporter; upgrade "
            "Supporter to use it"
        )
    config = _config(connection)
    if before is not None and not recorded:
        command.stamp(config, before)
    command.upgrade(config, "head")
    return Upgrade(before, target)


def _recorded(connection: Connection) -> str | None:
    """The revision in Alembic's version table when it holds exactly one, read without
    Alembic; else None."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    found = connection.execute(select(_alembic_version.c.version_num)).scalars().all()
    return found[0] if len(found) == 1 else None


def _state(connection: Connection) -> tuple[str | None, bool]:
    """The tables' revision, and whether Alembic records it (not only `schema_info`)."""
    from alembic.runtime.migration import MigrationContext

    heads = MigrationContext.configure(connection).get_current_heads()
    if heads:
        return ",".join(heads), True
    if not inspect(connection).has_table("schema_info"):
        return None, False
    version = connection.execute(select(_schema_info.c.version)).scalar()
    return (None if version is None else revision_of(version)), False


def _lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Held until the transaction ends: racing workers upgrade one after another.
        connection.execute(select(func.pg_advisory_xact_lock(_LOCK_KEY)))
    elif connection.dialect.name == "sqlite":
        # The sqlite3 module runs DDL outside any transaction unless one is open, so
        # a crash half-way would leave half a migration behind. IMMEDIATE also takes
        # the write lock now, so racing workers wait (busy_timeout) rather than fail.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "supporter.store:migrations")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config())
