"""What answering 1,000 sample tickets costs per model, tier and provider, at list prices.

The simulator (`supporter.testing.fake_llm`) runs in this process on its own
thread and counts tokens as OpenAI does (the o200k_base encoding, reasoning
tokens per effort); `supporter run` runs in a child process against it for each
configuration (`--batch` through its Batch API), on the same sample tickets, each
with a fresh database and answer cache. Costs are the runs' own: the records'
`usage.cost_usd`, from the packaged price table (`supporter/llm/models.toml`) at
the configuration's tier.

The cascade's local model is trained first on other sample tickets (another
seed), labelled with the category they were written for; it answers the
tickets where it is at least 90% sure, without a model call.

    .venv/bin/python benchmarks/model_cost.py [--tickets 1000]
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from supporter.sample_data.generator import iter_sample
from supporter.testing.fake_batches import FakeBatchConfig, FakeBatches
from supporter.testing.fake_llm import FakeLLMConfig, serve_in_thread

CONFIGURATIONS: list[tuple[str, tuple[str, ...]]] = [
    ("gpt-4o, real time (today's baseline)", ("--provider", "openai", "--model", "gpt-4o")),
    ("gpt-6-luna, real time (the new default)", ("--provider", "openai")),
    ("gpt-6-luna, flex", ("--provider", "openai", "--service-tier", "flex")),
    ("gpt-4o, --batch", ("--provider", "openai", "--model", "gpt-4o", "--batch")),
    ("gpt-6-luna, --batch", ("--provider", "openai", "--batch")),
    ("cascade: local model, then gpt-6-luna", ("--provider", "cascade")),
    (
        "cascade: local model, then gpt-6-luna at flex",
        ("--provider", "cascade", "--service-tier", "flex"),
    ),
]


def supporter(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "supporter", *args],
        capture_output=True,
        # Batches are polled every second: the simulator answers them in seconds.
        env={"OPENAI_API_KEY": "sk-bench", "PATH": "", "SUPPORTER_BATCH_POLL_INTERVAL": "1"},
        check=False,
    )


def train_local_model(work: Path, tickets: int) -> Path:
    """A local model from other sample tickets, labelled with what they were written about."""
    labelled = work / "labelled.csv"
    with labelled.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["subject", "body", "category"])
        for customer in iter_sample(tickets, seed=99):
            for ticket in customer.tickets:
                writer.writerow([ticket.row["subject"], ticket.row["body"], ticket.category])
    model = work / "model"
    done = supporter(
        "train",
        *("--labeled", str(labelled), "--text-column", "subject", "--text-column", "body"),
        *("--label-column", "category", "--out", str(model)),
    )
    if done.returncode != 0:
        raise SystemExit(f"training failed:\n{done.stderr.decode()[-2000:]}")
    return model


def measure(
    work: Path, name: str, base_url: str, model: Path, extra: tuple[str, ...]
) -> dict[str, float]:
    run = work / name
    run.mkdir()
    done = supporter(
        "run",
        "--no-progress",
        *("--tickets", str(work / "sample" / "tickets.csv")),
        *("--transactions", str(work / "sample" / "transactions.csv")),
        *("--out", str(run / "results.jsonl"), "--db", str(run / "run.db")),
        *("--rejects", str(run / "rejects.jsonl"), "--llm-cache", str(run / "cache.db")),
        *("--base-url", base_url, "--model-path", str(model), "--max-attempts", "20"),
        *extra,
    )
    if done.returncode not in (0, 1):
        raise SystemExit(f"{name}: run failed\n{done.stderr.decode()[-2000:]}")
    records = [json.loads(line) for line in (run / "results.jsonl").open(encoding="utf-8")]
    responded = [record for record in records if record["status"] == "responded"]
    cost = sum(float(record["usage"]["cost_usd"]) for record in records)
    usage = [record["usage"] for record in records]
    count = max(1, len(records))
    return {
        "tickets": len(records),
        "responded": len(responded),
        "grounded": sum(bool((r.get("grounding") or {}).get("passed")) for r in responded),
        "no_model_call": sum(u["prompt_tokens"] == 0 for u in usage) / count,
        "prompt_tokens": sum(u["prompt_tokens"] for u in usage) / count,
        "completion_tokens": sum(u["completion_tokens"] for u in usage) / count,
        "reasoning_tokens": sum(u["reasoning_tokens"] for u in usage) / count,
        "cost_per_1000": cost / count * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=1000, help="sample tickets per run")
    parser.add_argument("--train-tickets", type=int, default=3000, help="for the local model")
    args = parser.parse_args()
    # Fast answers, no rate limits: this measures tokens, not time. Flex turns 5% away.
    config = FakeLLMConfig(
        latency_ms=2,
        latency_jitter=0,
        seed=1,
        record_requests=False,
        flex_unavailable_rate=0.05,
        flex_latency_factor=1.0,
    )
    _, base_url = serve_in_thread(config, lambda fake: FakeBatches(fake, FakeBatchConfig()))
    rows: list[tuple[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        made = supporter(
            "sample-data",
            "--tickets",
            str(args.tickets),
            "--out",
            str(work / "sample"),
            "--seed",
            "11",
        )
        if made.returncode != 0:
            raise SystemExit(made.stderr.decode()[-2000:])
        model = train_local_model(work, args.train_tickets)
        for index, (label, extra) in enumerate(CONFIGURATIONS):
            rows.append((label, measure(work, f"run{index}", base_url, model, extra)))
    baseline = rows[0][1]["cost_per_1000"]
    print(
        "| configuration | tickets | answered | grounded | answered without a model call "
        "| prompt / completion (reasoning) tokens per ticket | USD per 1,000 tickets "
        "| of the baseline |"
    )
    print("|---|---:|---:|---:|---:|---|---:|---:|")
    for label, row in rows:
        print(
            f"| {label} | {row['tickets']:.0f} | {row['responded']:.0f} | {row['grounded']:.0f} "
            f"| {row['no_model_call']:.1%} | {row['prompt_tokens']:.0f} / "
            f"{row['completion_tokens']:.0f} ({row['reasoning_tokens']:.0f}) "
            f"| {row['cost_per_1000']:.4f} | {row['cost_per_1000'] / baseline:.1%} |"
        )


if __name__ == "__main__":
    main()
