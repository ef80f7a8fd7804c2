"""`supporter knowledge index` and `supporter knowledge search`: the knowledge base
the replies cite, kept in an index beside the store."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from supporter.cli import wiring
from supporter.cli.common import fail, settings_from
from supporter.cli.ui import console
from supporter.config import Settings
from supporter.knowledge.base import Hit, IndexChanges, KnowledgeIndexError
from supporter.knowledge.documents import KnowledgeError

# Ids listed per kind of change: a first import of a large help center lists no thousands.
LISTED = 20

app = typer.Typer(help="Help-center articles and saved replies the replies cite.")

ConfigOption = Annotated[Path | None, typer.Option(help="TOML settings file.")]
IndexOption = Annotated[
    Path | None,
    typer.Option(
        "--index",
        help="The index file. [default: beside --db, supporter-knowledge.db; with a PostgreSQL store, tables in its database]",
    ),
]
DbOption = Annotated[
    Path | None, typer.Option(help="The store the index sits beside. [default: supporter.db]")
]
EmbeddingsOption = Annotated[
    bool | None,
    typer.Option(
        "--embeddings",
        help="Rank by all-MiniLM-L6-v2 embeddings as well as by words (fused); indexing computes them for new and changed passages. Needs supporter[embeddings].",
    ),
]


@app.command()
def index(
    source: Annotated[
        Path,
        typer.Argument(
            help="A folder of Markdown, HTML and text articles, Zendesk exports (JSON) and saved replies (CSV, JSON), or one such file."
        ),
    ],
    knowledge_index: IndexOption = None,
    db: DbOption = None,
    knowledge_embeddings: EmbeddingsOption = None,
    config: ConfigOption = None,
) -> None:
    """Build or update the index (only what changed is redone) and say what changed.

    Exit status: 0 indexed, 1 indexed but some files or entries were skipped (listed,
    on every run while they are there, whether or not the index changed), 2 nothing
    could be indexed.
    """
    settings = settings_from(
        {
            "knowledge_index": knowledge_index,
            "db": db,
            "knowledge_embeddings": knowledge_embeddings,
        },
        config,
    )
    if update_index(source, settings):
        raise typer.Exit(1)


def update_index(source: Path, settings: Settings) -> list[KnowledgeError]:
    """Index `source` beside the store and say what changed; returns what was skipped.
    Nothing usable at all, or an unusable index, stops the command."""
    problems: list[KnowledgeError] = []
    try:
        changes = asyncio.run(wiring.index_knowledge(source, settings, problems.append))
    except (KnowledgeError, KnowledgeIndexError) as error:
        _list_skipped(problems)  # why nothing was usable
        fail(str(error))
    _list_skipped(problems)
    console.print(
        describe_changes(changes, wiring.knowledge_index_name(settings)),
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    return problems


def _list_skipped(problems: list[KnowledgeError]) -> None:
    for problem in problems:
        console.print(f"skipped: {problem}", markup=False, highlight=False, soft_wrap=True)


def describe_changes(changes: IndexChanges, where: str) -> str:
    embedded = f", {changes.embedded} embedded" if changes.embedded else ""
    lines = [
        f"{where}: {len(changes.added)} added, {len(changes.changed)} changed, "
        f"{len(changes.removed)} removed, {changes.unchanged} unchanged "
        f"({changes.passages} passages{embedded})"
    ]
    for label, ids in (
        ("added", changes.added),
        ("changed", changes.changed),
        ("removed", changes.removed),
    ):
        lines.extend(f"  {label}: {article_id}" for article_id in ids[:LISTED])
        if len(ids) > LISTED:
            lines.append(f"  ... and {len(ids) - LISTED} more {label}")
    return "\n".join(lines)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for, as a customer would ask.")],
    language: Annotated[
        str | None,
        typer.Option(help="Prefer passages in this language (de, en, ...) when there are any."),
    ] = None,
    limit: Annotated[int, typer.Option(help="Passages to show.", min=1)] = 5,
    knowledge_index: IndexOption = None,
    db: DbOption = None,
    knowledge_embeddings: EmbeddingsOption = None,
    config: ConfigOption = None,
) -> None:
    """Show the passages a reply would be drafted from, best first."""
    settings = settings_from(
        {
            "knowledge_index": knowledge_index,
            "db": db,
            "knowledge_embeddings": knowledge_embeddings,
        },
        config,
    )
    if problem := wiring.missing_knowledge_index(settings, "FOLDER"):
        fail(problem)
    try:
        hits = asyncio.run(_search(settings, query, language, limit))
    except KnowledgeIndexError as error:
        fail(str(error))
    if not hits:
        console.print("no passage matches")
    for rank, hit in enumerate(hits, start=1):
        passage = hit.passage
        console.print(
            f"{rank}. {passage.passage_id}  [{passage.language or '-'}] {passage.label}"
            f"  (score {hit.score:.2f})",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        console.print(f"   {_preview(passage.text)}", markup=False, highlight=False, soft_wrap=True)


async def _search(settings: Settings, query: str, language: str | None, limit: int) -> list[Hit]:
    knowledge = await wiring.open_knowledge_index(settings, complete=True)
    try:
        return await knowledge.search(query, language=language, limit=limit)
    finally:
        await knowledge.close()


def _preview(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
