"""`supporter knowledge index` and `supporter knowledge search`: the knowledge base
the replies cite, kept in an index beside the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from supporter.cli import wiring
from supporter.cli.common import fail, settings_from
from supporter.cli.ui import console
from supporter.config import Settings
from supporter.knowledge.base import IndexChanges
from supporter.knowledge.documents import KnowledgeError

# Ids listed per kind of change: a first import of a large help center lists no thousands.
LISTED = 20

app = typer.Typer(help="Help-center articles and saved replies the replies cite.")

ConfigOption = Annotated[Path | None, typer.Option(help="TOML settings file.")]
IndexOption = Annotated[
    Path | None,
    typer.Option(help="The index file. [default: beside --db, supporter-knowledge.db]"),
]
DbOption = Annotated[
    Path | None, typer.Option(help="The store the index sits beside. [default: supporter.db]")
]


@app.command()
def index(
    source: Annotated[
        Path,
        typer.Argument(
            help="A folder of Markdown, HTML and text articles, Zendesk exports (JSON) and saved replies (CSV, JSON), or one such file."
        ),
    ],
    index: IndexOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Build or update the index (only what changed is redone) and say what changed.

    Exit status: 0 indexed, 1 indexed but some files or entries were unusable (listed),
    2 nothing could be indexed.
    """
    settings = settings_from({"knowledge_index": index, "db": db}, config)
    if update_index(source, settings):
        raise typer.Exit(1)


def update_index(source: Path, settings: Settings) -> list[KnowledgeError]:
    """Index `source` beside the store and say what changed; returns what was skipped.
    Nothing usable at all, or an unusable index, stops the command."""
    # Imported here: the index's stemmer is slow to import, and a run without
    # --knowledge never needs it.
    from supporter.knowledge.sqlite import KnowledgeIndexError

    problems: list[KnowledgeError] = []
    try:
        changes = wiring.index_knowledge(source, settings, problems.append)
    except (KnowledgeError, KnowledgeIndexError) as error:
        fail(str(error))
    for problem in problems:
        console.print(f"skipped: {problem}", markup=False, highlight=False, soft_wrap=True)
    console.print(
        describe_changes(changes, settings.knowledge_index_path), markup=False, highlight=False
    )
    return problems


def describe_changes(changes: IndexChanges, path: Path) -> str:
    lines = [
        f"{path}: {len(changes.added)} added, {len(changes.changed)} changed, "
        f"{len(changes.removed)} removed, {changes.unchanged} unchanged "
        f"({changes.passages} passages)"
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
    index: IndexOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Show the passages a reply would be drafted from, best first."""
    from supporter.knowledge.sqlite import KnowledgeIndexError

    settings = settings_from({"knowledge_index": index, "db": db}, config)
    path = settings.knowledge_index_path
    if not path.is_file():
        fail(f"no knowledge index at {path}: run `supporter knowledge index FOLDER` first")
    try:
        knowledge = wiring.open_knowledge_index(path)
    except KnowledgeIndexError as error:
        fail(str(error))
    try:
        hits = knowledge.search(query, language=language, limit=limit)
    finally:
        knowledge.close()
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


def _preview(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
