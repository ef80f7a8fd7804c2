"""`supporter train`: fit the local classifier on a CSV of labelled tickets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from supporter.classifier import ModelError, missing_library
from supporter.classifier.metadata import MINILM, FeatureSpec, ModelMetadata
from supporter.cli.common import fail
from supporter.cli.reviewed import labelled_from_store
from supporter.cli.ui import console
from supporter.sources.base import SourceError
from supporter.sources.labelled import LabelledFile, read_labelled

Features = Literal["tfidf", "tfidf+minilm"]
_SHOWN_SKIPS = 3


def train(
    out: Annotated[
        Path,
        typer.Option(
            help="Directory for the model; created if need be, a model in it is replaced."
        ),
    ],
    labeled: Annotated[
        Path | None,
        typer.Option(help="CSV of labelled tickets: a text and its label on each row."),
    ] = None,
    text_column: Annotated[
        list[str] | None,
        typer.Option(
            help="Column holding the text; repeat it to join several (--text-column subject --text-column body). [default: text]"
        ),
    ] = None,
    label_column: Annotated[
        str, typer.Option(help="Column holding the label; its values are the taxonomy.")
    ] = "label",
    features: Annotated[
        str,
        typer.Option(
            help="'tfidf' (word and character n-grams) or 'tfidf+minilm' (adds all-MiniLM-L6-v2 sentence embeddings: more accurate, slower; needs supporter[embeddings])."
        ),
    ] = "tfidf",
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show the progress bar.")
    ] = True,
    from_store: Annotated[
        bool,
        typer.Option(
            "--from-store",
            help="Learn from the tickets reviewed in `supporter serve` instead of a file (a corrected category wins).",
        ),
    ] = False,
    db: Annotated[
        Path | None,
        typer.Option(help="With --from-store: the SQLite database (or SUPPORTER_STORE_URL)."),
    ] = None,
    config: Annotated[Path | None, typer.Option(help="TOML settings file.")] = None,
) -> None:
    """Train a classifier on labelled tickets and save it for --provider local or cascade.

    Every label in the file becomes a category. The model's confidence is a calibrated
    probability (temperature scaling on out-of-fold scores). Exit status 2 on bad input.
    """
    if features not in ("tfidf", "tfidf+minilm"):
        fail(f"--features: expected 'tfidf' or 'tfidf+minilm', got {features!r}")
    if (labeled is None) == (not from_store):
        fail("pass either --labeled FILE or --from-store")
    if labeled is None:
        data = labelled_from_store(db, config)
        columns, label_column = data.text_columns, data.label_column
    else:
        columns = text_column or ["text"]
        try:
            data = read_labelled(labeled, columns, label_column)
        except SourceError as error:
            fail(str(error))
    _report_reading(data)
    try:
        # Imported here: NumPy and scikit-learn are slow to import and an optional extra.
        from supporter.classifier.training import TrainingData, TrainingOptions
        from supporter.classifier.training import train as fit
    except ImportError as error:
        fail(str(missing_library(error)))
    spec = FeatureSpec(encoder=MINILM if features == "tfidf+minilm" else None)
    training_data = TrainingData(
        texts=data.texts,
        labels=data.labels,
        source_file=data.path.name,
        text_columns=columns,
        label_column=label_column,
    )
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not progress,
    )
    try:
        with bar:
            task = bar.add_task("training", total=None)

            def show(what: str, done: int, total: int) -> None:
                bar.update(task, description=what, completed=done, total=total)

            model = fit(training_data, TrainingOptions(features=spec), show)
        model.save(out)
    except (ValueError, ModelError) as error:
        fail(str(error))
    except OSError as error:
        fail(f"cannot write the model to {out}: {error.strerror or error}")
    console.print(_summary(model.metadata, out))


def _report_reading(data: LabelledFile) -> None:
    if data.skipped:
        shown = "; ".join(f"line {line}: {reason}" for line, reason in data.skipped[:_SHOWN_SKIPS])
        more = (
            f" (and {len(data.skipped) - _SHOWN_SKIPS} more)"
            if len(data.skipped) > _SHOWN_SKIPS
            else ""
        )
        console.print(
            f"[yellow]skipped {len(data.skipped):,} rows:[/] {shown}{more}", highlight=False
        )
    if not data.examples:
        fail(f"{data.path}: no usable labelled rows")


def _summary(metadata: ModelMetadata, out: Path) -> Table:
    calibration = metadata.calibration
    table = Table(title="Supporter model", show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("value", justify="right")
    rows = [
        ("saved to", str(out)),
        ("version", metadata.version),
        ("examples", f"{metadata.examples:,}"),
        ("labels", f"{len(metadata.labels):,}"),
        (
            "features",
            "tfidf+" + metadata.features.encoder if metadata.features.encoder else "tfidf",
        ),
        ("training time", f"{metadata.training_seconds:.1f} s"),
        (f"accuracy ({calibration.folds}-fold, held out)", f"{calibration.accuracy:.3f}"),
        (
            "calibration error before → after",
            f"{calibration.ece_before:.3f} → {calibration.ece_after:.3f}",
        ),
        ("temperature", f"{calibration.temperature:.4f}"),
        ("data SHA-256", metadata.data_sha256[:16] + "…"),
    ]
    for label, value in rows:
        table.add_row(label, value)
    return table
