"""How well the local classifier learns Banking77's 77 intents, and what the cascade spares.

Banking77 (Casanueva et al., 2020; CC BY 4.0): about 10,000 online-banking
queries labelled with 77 intents. The classifier is trained on the rows whose
index % 5 != 0 (8,002) and scored on the rows with index % 5 == 0 (2,001),
the same held-out rows as `banking77_offline.py`. Scoring goes through
`LocalProvider.analyze`, as in the pipeline.

The cascade's figures come from the real `CascadeProvider` routing at
`--threshold`, with a stand-in for the LLM that answers nothing: the tickets
it is asked about are the ones that would cost a model call, and the
accuracy reported is that of the answers given without one.

    .venv/bin/python benchmarks/banking77_local.py [--data PATH] [--features tfidf|tfidf+minilm]
        [--threshold 0.9] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from supporter.classifier.metadata import MINILM, FeatureSpec
from supporter.classifier.model import TextClassifier
from supporter.classifier.training import TrainingData, TrainingOptions, train
from supporter.domain.errors import PermanentError
from supporter.domain.models import Analysis, Reply
from supporter.evaluation.runner import EvalReport, evaluate
from supporter.llm.base import AnalysisRequest, Category, ModelResponse, ReplyRequest
from supporter.llm.cascade import CascadeProvider
from supporter.llm.local import LocalProvider
from supporter.sources.labelled import LabelledExample

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT / ".." / "shared" / "data" / "banking77" / "train.csv"
HELD_OUT_EVERY = 5
BATCH = 256


class NoModel:
    """The cascade's LLM tier in this benchmark: there is none, so nothing is paid for."""

    name = "no-llm"
    version = "none"

    async def analyze(self, request: AnalysisRequest) -> ModelResponse[Analysis]:
        raise PermanentError("would need a model call")

    async def draft_reply(self, request: ReplyRequest) -> ModelResponse[Reply]:
        raise PermanentError("would need a model call")

    async def aclose(self) -> None:
        return None


def read_split(path: Path) -> tuple[list[LabelledExample], list[LabelledExample]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    examples = [LabelledExample(i + 2, row["text"], row["category"]) for i, row in enumerate(rows)]
    training = [e for i, e in enumerate(examples) if i % HELD_OUT_EVERY != 0]
    held_out = [e for i, e in enumerate(examples) if i % HELD_OUT_EVERY == 0]
    return training, held_out


def model_speed(model: TextClassifier, texts: Sequence[str]) -> float:
    """Tickets per second through the model alone, in the provider's batches."""
    started = time.perf_counter()
    for start in range(0, len(texts), BATCH):
        model.probabilities(texts[start : start + BATCH])
    return len(texts) / (time.perf_counter() - started)


def print_report(title: str, report: EvalReport) -> None:
    scores = report.scores
    print(f"\n== {title}: {scores.examples} held-out rows")
    print(f"accuracy      {scores.accuracy:.4f}")
    print(f"macro-F1      {scores.macro_f1:.4f}")
    if scores.expected_calibration_error is not None:
        print(f"ECE           {scores.expected_calibration_error:.4f}")
    print(f"analyze speed {report.tickets_per_second:,.0f} tickets/s (through LocalProvider)")
    print("confidence >=  share  accuracy")
    for row in scores.thresholds:
        accuracy = "-" if row.accuracy is None else f"{row.accuracy:.4f}"
        print(f"  {row.threshold:.2f}        {row.share:6.1%}  {accuracy}")
    print("most confused (true -> predicted, count):")
    for pair in scores.confused[:8]:
        print(f"  {pair.truth} -> {pair.predicted}  {pair.count}")


async def main_async(args: argparse.Namespace) -> int:
    training, held_out = read_split(args.data)
    spec = FeatureSpec(encoder=MINILM if args.features == "tfidf+minilm" else None)
    started = time.perf_counter()
    model = train(
        TrainingData([e.text for e in training], [e.label for e in training]),
        TrainingOptions(features=spec),
    )
    train_seconds = time.perf_counter() - started
    calibration = model.metadata.calibration
    print(f"features      {args.features}")
    print(f"trained on    {len(training):,} rows, {len(model.labels)} labels")
    print(f"train time    {train_seconds:.1f} s")
    print(
        f"calibration   temperature {calibration.temperature:.4f}, out-of-fold ECE "
        f"{calibration.ece_before:.4f} before, {calibration.ece_after:.4f} after"
    )
    print(f"model speed   {model_speed(model, [e.text for e in held_out]):,.0f} tickets/s")

    taxonomy = [Category(name=label) for label in model.labels]
    local = await evaluate(LocalProvider(model, taxonomy), taxonomy, held_out, concurrency=64)
    print_report("local", local)

    cascade_provider = CascadeProvider(LocalProvider(model, taxonomy), NoModel(), args.threshold)
    cascade = await evaluate(cascade_provider, taxonomy, held_out, concurrency=64)
    figures = cascade.cascade
    assert figures is not None
    accuracy = figures.model_free_accuracy or 0.0
    print(f"\n== cascade at threshold {args.threshold:g}")
    print(f"answered without a model call  {figures.model_free_share:.1%} ({figures.model_free:,})")
    print(f"accuracy of those answers      {accuracy:.4f}")
    print(f"sent to the LLM                {cascade.scores.failed:,}")
    if args.json is not None:
        args.json.write_text(local.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Banking77 train.csv")
    parser.add_argument("--features", choices=("tfidf", "tfidf+minilm"), default="tfidf")
    parser.add_argument("--threshold", type=float, default=0.9, help="the cascade's threshold")
    parser.add_argument("--json", type=Path, help="write the local model's evaluation here")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"no data at {args.data}; pass --data PATH to Banking77's train.csv", file=sys.stderr)
        return 2
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
