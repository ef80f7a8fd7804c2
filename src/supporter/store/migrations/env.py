"""Alembic's entry point for the store's migrations.

Supporter runs them itself (on every store open, and `supporter db upgrade`),
passing its connection in `config.attributes["connection"]` inside a transaction
it owns. The `alembic` command (alembic.ini at the repository root) is for
writing migrations: `alembic -x url=sqlite:///dev.db …` connects on its own.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

from supporter.store import schema


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=schema.metadata,
        # SQLite alters most things only by copying the table: autogenerate must say so.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


given = context.config.attributes.get("connection")
if given is not None:
    run(given)
else:
    url = context.get_x_argument(as_dictionary=True).get("url")
    if url is None:
        raise SystemExit(
            "no database: use `supporter db upgrade`, or `alembic -x url=sqlite:///dev.db …`"
        )
    engine = create_engine(url)
    with engine.connect() as connection:
        run(connection)
    engine.dispose()
