"""`supporter eval`: how well a provider classifies a CSV of labelled tickets."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import BaseModel
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from supporter.cli import wiring
from supporter.cli.common import LogFormatOption, fail, settings_from, setup_logging
from supporter.cli.knowledge import update_index
from supporter.cli.reviewed import labelled_from_store
from supporter.cli.ui import console, token_counts
from supporter.config import ConfigError, Settings
from supporter.domain.errors import FatalError
from supporter.llm.base import Category
from supporter.sources.base import SourceError
from supporter.sources.labelled import LabelledFile, read_labelled

if TYPE_CHECKING:
    # The evaluation itself is imported where it runs: every other command (a `run`
    # above all) starts without it.
    from supporter.evaluation.knowledge import KnowledgeScores
    from supporter.evaluation.runner import EvalReport

_SHOWN_CONFUSED = 10


def evaluate_command(
    labeled: Annotated[
        Path | None,
        typer.Option(help="CSV of labelled tickets: a text and its label on each row."),
    ] = None,
    from_store: Annotated[
        bool,
        typer.Option(
            "--from-store",
            help="Score on the tickets reviewed in `supporter serve` (their category as reviewed) instead of a file.",
        ),
    ] = False,
    db: Annotated[
        Path | None,
        typer.Option(help="With --from-store: the SQLite database (or SUPPORTER_STORE_URL)."),
    ] = None,
    knowledge: Annotated[
        Path | None,
        typer.Option(
            help="Score the knowledge base instead: this folder of articles is indexed, each labelled ticket (--label-column: the id of the article that answers it) is answered from it, and retrieval (recall@1, recall@5, MRR) and the drafts' citations are scored."
        ),
    ] = None,
    knowledge_embeddings: Annotated[
        bool | None,
        typer.Option(
            "--knowledge-embeddings",
            help="With --knowledge: rank passages by all-MiniLM-L6-v2 embeddings as well as by words (fused). Needs supporter[embeddings].",
        ),
    ] = None,
    text_column: Annotated[
        list[str] | None,
        typer.Option(
            help="Column holding the text; repeat it to join several. [default: text; with --knowledge: subject and body]"
        ),
    ] = None,
    label_column: Annotated[
        str | None,
        typer.Option(
            help="Column holding the true label. [default: label; with --knowledge: article_id]"
        ),
    ] = None,
    provider: Annotated[
        str | None,
        typer.Option(
            help="'offline', 'openai', 'local' or 'cascade', as for `run`. [default: offline]"
        ),
    ] = None,
    model_path: Annotated[
        Path | None,
        typer.Option(help="A model directory from `supporter train` (local, cascade)."),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="--provider cascade: the local model answers at this confidence or above. [default: 0.9]"
        ),
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Model name for openai or cascade. [default: gpt-6-luna]")
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(envvar="OPENAI_BASE_URL", help="An OpenAI-compatible server."),
    ] = None,
    rpm: Annotated[int | None, typer.Option(help="Your requests-per-minute limit.")] = None,
    tpm: Annotated[int | None, typer.Option(help="Your tokens-per-minute limit.")] = None,
    llm_cache: Annotated[
        Path | None,
        typer.Option(help="Cache of model answers. [default: supporter-llm-cache.db]"),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, help="Tickets classified at once. [default: 8 offline, 64 otherwise]"),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Evaluate only the first N labelled rows.")
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the full report as JSON here.")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="TOML settings file. [default: ./supporter.toml if present]")
    ] = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show the progress bar.")
    ] = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log retries.")] = False,
    log_format: LogFormatOption = None,
) -> None:
    """Classify every labelled ticket with a provider and score it: accuracy, macro-F1,
    per-label precision/recall/F1, the most confused pairs, calibration of `confidence`
    and speed.

    Exit status: 0 scored, 1 the provider stopped (quota, credentials), 2 bad options or input.
    """
    settings = settings_from(
        {
            "log_format": log_format,
            "provider": provider,
            "model_path": model_path,
            "threshold": threshold,
            "model": model,
            "base_url": base_url,
            "rpm": rpm,
            "tpm": tpm,
            "llm_cache": llm_cache,
            "knowledge": knowledge,
            "knowledge_embeddings": knowledge_embeddings,
        },
        config,
    )
    setup_logging(verbose, settings.log_format)
    default_columns = ["subject", "body"] if knowledge else ["text"]
    columns = text_column or default_columns
    label = label_column or ("article_id" if knowledge else "label")
    if (labeled is None) == (not from_store) or (from_store and knowledge is not None):
        fail("pass either --labeled FILE or --from-store (which scores categories only)")
    if labeled is None:
        data = labelled_from_store(db, config)
    else:
        try:
            data = read_labelled(labeled, columns, label)
        except SourceError as error:
            fail(str(error))
    if limit is not None:
        data.examples = data.examples[:limit]
    if not data.examples:
        fail(f"{data.path}: no usable labelled rows")
    workers = concurrency or wiring.stage_concurrency(settings, None)
    if knowledge is not None:
        update_index(knowledge, settings)
        try:
            scores = asyncio.run(_evaluate_knowledge(settings, data, workers))
        except ConfigError as error:
            fail(str(error))
        except FatalError as error:
            fail(f"stopped: {error}", code=1)
        _write_json(json_path, scores)
        console.print(knowledge_table(scores))
        return
    try:
        report = asyncio.run(_evaluate(settings, data, workers, progress))
    except ConfigError as error:
        fail(str(error))
    except FatalError as error:
        fail(f"stopped: {error}", code=1)
    _write_json(json_path, report)
    for table in tables(report):
        console.print(table)
    for label, count in report.unknown_labels.items():
        console.print(
            f"[yellow]note:[/] label {label!r} ({count:,} rows) is not one the provider can answer",
            highlight=False,
        )


def _write_json(path: Path | None, report: BaseModel) -> None:
    if path is None:
        return
    try:
        path.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    except OSError as error:
        fail(f"cannot write {path}: {error.strerror or error}")


async def _evaluate_knowledge(
    settings: Settings, data: LabelledFile, workers: int
) -> KnowledgeScores:
    from supporter.evaluation.knowledge import evaluate_knowledge

    async with contextlib.AsyncExitStack() as resources:
        retriever = await wiring.knowledge_retriever(settings, resources)
        assert retriever is not None  # --knowledge is set
        return await evaluate_knowledge(
            wiring.provider(settings, resources),
            wiring.taxonomy(settings),
            retriever,
            data.examples,
            file=str(data.path),
            concurrency=workers,
        )
    raise AssertionError("unreachable")  # for mypy: the block above always returns or raises


def knowledge_table(scores: KnowledgeScores) -> Table:
    table = Table(title="Knowledge evaluation", show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("value", justify="right")
    for what, value in (
        ("file", scores.file),
        ("provider", scores.provider),
        ("examples", f"{scores.examples:,}"),
        ("failed (no answer)", f"{scores.failed:,}"),
        ("recall@1", f"{scores.recall_at_1:.3f}"),
        ("recall@5", f"{scores.recall_at_5:.3f}"),
        ("MRR", f"{scores.mrr:.3f}"),
        ("citation accuracy (the article, no other)", f"{scores.citation_accuracy:.3f}"),
        ("drafts citing the article", f"{scores.cites_label:.3f}"),
        ("drafts citing nothing", f"{scores.uncited:.3f}"),
        ("drafts passing the grounding check", f"{scores.grounding_passed:.3f}"),
        ("time", f"{scores.seconds:.2f} s"),
    ):
        table.add_row(what, value)
    return table


def eval_taxonomy(settings: Settings, labels: set[str]) -> list[Category]:
    """What the provider chooses from: a trained model's labels; else the configured
    taxonomy when it covers the file's labels, or the file's labels (a configured
    category of the same name lends its description and keywords)."""
    configured = wiring.taxonomy(settings)
    if settings.provider in ("local", "cascade"):
        return configured
    if labels <= {category.name for category in configured}:
        return configured
    known = {category.name: category for category in configured}
    return [known.get(label) or Category(name=label) for label in sorted(labels)]


async def _evaluate(settings: Settings, data: LabelledFile, workers: int, show: bool) -> EvalReport:
    from supporter.evaluation.runner import evaluate

    async with contextlib.AsyncExitStack() as resources:
        chosen = wiring.provider(settings, resources)
        taxonomy = eval_taxonomy(settings, set(data.labels))
        bar = Progress(
            TextColumn("classifying"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not show,
        )
        with bar:
            task = bar.add_task("classifying", total=len(data.examples))
            return await evaluate(
                chosen,
                taxonomy,
                data.examples,
                file=str(data.path),
                skipped_rows=len(data.skipped),
                concurrency=workers,
                policy=wiring.pipeline_options(settings).policy,
                progress=lambda done, _total: bar.update(task, completed=done),
            )
    raise AssertionError("unreachable")  # for mypy: the block above always returns or raises


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def tables(report: EvalReport) -> list[Table]:
    scores = report.scores
    headline = Table(title="Supporter evaluation", show_header=False, title_justify="left")
    headline.add_column("what")
    headline.add_column("value", justify="right")
    rows = [
        ("file", report.file),
        ("provider", f"{report.provider} ({report.provider_version[:40]})"),
        ("examples", f"{scores.examples:,}"),
        ("failed (no answer)", f"{scores.failed:,}"),
        ("accuracy", f"{scores.accuracy:.4f}"),
        ("macro-F1", f"{scores.macro_f1:.4f}"),
        (
            "expected calibration error",
            "–"
            if scores.expected_calibration_error is None
            else f"{scores.expected_calibration_error:.4f}",
        ),
        ("time", f"{report.seconds:.2f} s"),
        ("speed", f"{report.tickets_per_second:,.1f} tickets/s"),
    ]
    if report.skipped_rows:
        rows.insert(3, ("rows skipped (no text or label)", f"{report.skipped_rows:,}"))
    usage = report.usage
    if usage.prompt_tokens or usage.completion_tokens:
        rows.append(token_counts(usage))
        rows.append(("cost (USD)", f"{usage.cost_usd:.4f}"))
    cascade = report.cascade
    if cascade is not None:
        rows.append(
            (
                "answered without a model call",
                f"{cascade.model_free:,} ({cascade.model_free_share:.1%}), accuracy {_percent(cascade.model_free_accuracy)}",
            )
        )
        saving = cascade.estimated_saving_usd
        rows.append(
            (
                "cost saved (USD, est.)",
                "unknown: no paid LLM answer"
                if saving is None
                else f"{saving:.4f} (mean of {cascade.paid_answers:,} paid answers × model-free ones)",
            )
        )
    for label, value in rows:
        headline.add_row(label, value)
    for error in report.errors:
        headline.add_row("error", error)

    calibration = Table(title="Confidence", title_justify="left")
    for column in ("confidence at least", "share of tickets", "tickets", "accuracy"):
        calibration.add_column(column, justify="right")
    for row in scores.thresholds:
        calibration.add_row(
            f"{row.threshold:.2f}", f"{row.share:.1%}", f"{row.count:,}", _percent(row.accuracy)
        )

    result = [headline, calibration]
    if len(scores.answered_by) > 1 or cascade is not None:
        by = Table(title="Answered by", title_justify="left")
        for column in ("provider", "tickets", "share", "accuracy"):
            by.add_column(column, justify="right" if column != "provider" else "left")
        for answered in scores.answered_by:
            by.add_row(
                answered.provider,
                f"{answered.count:,}",
                f"{answered.share:.1%}",
                f"{answered.accuracy:.1%}",
            )
        result.append(by)
    if scores.confused:
        confused = Table(title="Most confused (true → predicted)", title_justify="left")
        for column in ("true label", "predicted", "tickets"):
            confused.add_column(column, justify="right" if column == "tickets" else "left")
        for pair in scores.confused[:_SHOWN_CONFUSED]:
            confused.add_row(pair.truth, pair.predicted, f"{pair.count:,}")
        result.append(confused)
    labels = Table(title="Per label (weakest first)", title_justify="left")
    for column in ("label", "support", "predicted", "precision", "recall", "F1"):
        labels.add_column(column, justify="left" if column == "label" else "right")
    for entry in sorted(scores.labels, key=lambda item: (item.f1, item.label)):
        labels.add_row(
            entry.label,
            f"{entry.support:,}",
            f"{entry.predicted:,}",
            f"{entry.precision:.3f}",
            f"{entry.recall:.3f}",
            f"{entry.f1:.3f}",
        )
    result.append(labels)
    return result
