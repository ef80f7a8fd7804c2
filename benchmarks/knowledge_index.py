"""Knowledge index at scale: build time, incremental update and query latency.

Writes a help center of N articles (the sample company's 40, then variants of them
with words of their own, as a large help center's many similar articles are),
indexes it as `supporter knowledge index` does, then runs the retrieval query of
each of the sample's 320 labelled tickets (ticket text plus the offline analysis)
`--rounds` times against it and reports latency percentiles. Finally one article
is changed and the folder indexed again (what a daily re-index costs).

`--store postgresql://…/scratch` keeps the index in that database's tables instead
of an SQLite file (its schema `supporter_knowledge` is dropped first and after: give
it a scratch database); `--embeddings` fuses all-MiniLM-L6-v2 embeddings with the
words (the build then includes embedding every passage; needs supporter[embeddings]).

    .venv/bin/python benchmarks/knowledge_index.py --articles 10000
    .venv/bin/python benchmarks/knowledge_index.py --articles 10000 --store postgresql://postgres@127.0.0.1/bench
    .venv/bin/python benchmarks/knowledge_index.py --articles 1000 --embeddings
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from supporter.analysis.analyzer import Analyzer
from supporter.analysis.taxonomy import DEFAULT_TAXONOMY
from supporter.cli.wiring import open_knowledge_index
from supporter.config import Settings
from supporter.domain.models import Analysis, Ticket
from supporter.knowledge.base import KnowledgeIndex
from supporter.knowledge.documents import KnowledgeError
from supporter.knowledge.folder import read_knowledge
from supporter.knowledge.postgres import SCHEMA
from supporter.knowledge.retrieval import Retriever
from supporter.llm.offline import OfflineProvider
from supporter.sample_data.help_center import write_help_center
from supporter.store.sql import async_url

_SYLLABLES = ("ka", "lo", "mi", "ren", "tor", "vex", "sul", "dar", "pin", "quo", "zel", "bri")


def invent(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))


def write_variants(folder: Path, wanted: int, rng: random.Random) -> None:
    """Variants of the sample articles: each its own id, product name and extra words."""
    originals = sorted(folder.rglob("*.md"))
    count = len(originals)
    while count < wanted:
        source = originals[count % len(originals)]
        text = source.read_text(encoding="utf-8")
        product = invent(rng).capitalize()
        words = " ".join(invent(rng) for _ in range(40))
        article_id = f"{source.stem}-{count}"
        text = text.replace(f"id: {source.stem}", f"id: {article_id}", 1)
        text = text.replace("Lumio", product) + f"\n## Notes for {product}\n\n{words}\n"
        (source.parent / f"{article_id}.md").write_text(text, encoding="utf-8")
        count += 1


async def queries(pairs: list[Path]) -> list[tuple[Ticket, Analysis]]:
    analyzer = Analyzer(OfflineProvider(DEFAULT_TAXONOMY), DEFAULT_TAXONOMY)
    found = []
    for path in pairs:
        for row in csv.DictReader(path.open(encoding="utf-8")):
            ticket = Ticket(
                ticket_id=row["ticket_id"],
                customer_id=row["customer_id"],
                subject=row["subject"],
                body=row["body"],
                status="open",
                created_at=datetime(2024, 6, 1, tzinfo=UTC),
            )
            _, response = await analyzer.analyze(ticket, [])
            found.append((ticket, response.value))
    return found


def fail(problem: KnowledgeError) -> None:
    raise problem


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--store", help="a scratch PostgreSQL database for the index")
    parser.add_argument("--embeddings", action="store_true", help="fuse embeddings too")
    args = parser.parse_args()
    asyncio.run(measure(args.articles, args.rounds, args.store, args.embeddings))


async def measure(articles: int, rounds: int, store: str | None, embeddings: bool) -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = write_help_center(root)
        write_variants(files.folder, articles, rng)
        settings = Settings(
            db=root / "supporter.db", store_url=store, knowledge_embeddings=embeddings
        )
        if store:
            await _drop_schema(store)
        index = await open_knowledge_index(settings, complete=False)
        start = time.perf_counter()
        changes = await index.update(read_knowledge(files.folder, fail))
        build = time.perf_counter() - start
        asked = await queries([files.pairs, files.held_out_pairs])
        retriever = Retriever(index)
        latencies = []
        cpu = []
        for _ in range(rounds):
            for ticket, analysis in asked:
                began, began_cpu = time.perf_counter(), time.process_time()
                await retriever.passages_for(ticket, analysis)
                latencies.append((time.perf_counter() - began) * 1000)
                cpu.append((time.process_time() - began_cpu) * 1000)
        latencies.sort()
        cpu.sort()
        edited = next(files.folder.rglob("refund-window.md"))
        edited.write_text(edited.read_text().replace("14 days", "21 days"), encoding="utf-8")
        start = time.perf_counter()
        again = await index.update(read_knowledge(files.folder, fail))
        update = time.perf_counter() - start
        size = await _size(index, store, root) / 2**20
        await index.close()
        if store:
            await _drop_schema(store)
    documents = len(changes.added)
    print(f"index: {'PostgreSQL' if store else 'SQLite'}; ranking: {index.ranking}")
    print(
        "| articles and saved replies | passages | build (s) | index size (MiB) | queries "
        "| p50 / p99 / max, wall (ms) | p50 / p99, CPU of this process (ms) "
        "| re-index, 1 changed (s) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {documents:,} | {changes.passages:,} | {build:.1f} | {size:.0f} | {len(latencies):,} "
        f"| {_percentiles(latencies)} / {latencies[-1]:.1f} | {_percentiles(cpu)} "
        f"| {update:.1f} ({len(again.changed)} changed, {again.embedded} embedded) |"
    )


async def _drop_schema(url: str) -> None:
    engine = create_async_engine(async_url(url))
    async with engine.begin() as connection:
        await connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    await engine.dispose()


async def _size(index: KnowledgeIndex, store: str | None, root: Path) -> int:
    if not store:
        return (root / "supporter-knowledge.db").stat().st_size
    engine = create_async_engine(async_url(store))
    async with engine.connect() as connection:
        size = await connection.scalar(
            text(
                "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = :schema AND c.relkind = 'r'"
            ),
            {"schema": SCHEMA},
        )
    await engine.dispose()
    return int(size or 0)


def _percentiles(sorted_ms: list[float]) -> str:
    p99 = sorted_ms[max(0, int(len(sorted_ms) * 0.99) - 1)]
    return f"{statistics.median(sorted_ms):.1f} / {p99:.1f}"


if __name__ == "__main__":
    main()
