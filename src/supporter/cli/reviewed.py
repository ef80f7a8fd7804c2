"""Reviewed tickets from the store as labelled examples: what `train --from-store` learns
from and `eval --from-store` scores on. A correction wins over the model's category."""

from __future__ import annotations

import asyncio
from pathlib import Path

from supporter.cli import wiring
from supporter.cli.common import fail, settings_from
from supporter.sources.labelled import LabelledExample, LabelledFile
from supporter.store.base import StoreError

STORE_LABEL = "category as reviewed"


def labelled_from_store(db: Path | None, config: Path | None) -> LabelledFile:
    settings = settings_from({"db": db}, config)
    if settings.store_url is None and not settings.db.is_file():
        fail(f"no database at {settings.db}: pass --db, or set SUPPORTER_STORE_URL")
    # Imported here: every other command (a `run` above all) starts without it.
    from supporter.store.reviews import SqlReviews

    async def read() -> list[tuple[str, str, str]]:
        store = await wiring.store(settings)
        try:
            return await SqlReviews(store.engine).labelled()
        finally:
            await store.close()

    try:
        rows = asyncio.run(read())
    except StoreError as error:
        fail(str(error))
    where = Path(settings.store_url or settings.db)
    examples = [
        LabelledExample(line=n, text=text, label=label)
        for n, (_, text, label) in enumerate(rows, start=1)
    ]
    if not examples:
        fail(f"{where}: no reviewed tickets yet (approve or correct drafts in `supporter serve`)")
    return LabelledFile(where, ["subject", "body"], STORE_LABEL, examples)
