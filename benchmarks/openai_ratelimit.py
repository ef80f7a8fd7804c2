"""How close `supporter run --provider openai` gets to the provider's rate limit.

The simulator (`supporter.testing.fake_llm`) runs in this process on its own
thread with the issue's settings: 800 ms median latency, 3,000 requests and
1,000,000 tokens per minute, enforced over short intervals like the real API.
`supporter run` runs in a child process against it, once with the defaults
(paced, 64 calls in flight) and once with one call at a time (the
one-thread-per-stage design), each on fresh sample data, database and cache.

The ceiling is the binding limit: requests per minute, or tokens per minute
divided by what one request is charged (its prompt plus its max_tokens, which
the API reserves up front). Two requests make one ticket.

    .venv/bin/python benchmarks/openai_ratelimit.py [--tickets 420] [--serial-tickets 56]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from supporter.testing.fake_llm import FakeLLM, FakeLLMConfig, serve_in_thread

RPM = 3_000
TPM = 1_000_000


def measure(
    label: str, tickets: int, base_url: str, fake: FakeLLM, *extra: str
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "supporter",
                "sample-data",
                "--tickets",
                str(tickets),
                "--out",
                str(work),
                "--seed",
                "11",
            ],
            check=True,
            capture_output=True,
        )
        before = dict(fake.outcomes)
        sent_before = len(fake.requests)
        command = [
            sys.executable,
            "-m",
            "supporter",
            "run",
            "--no-progress",
            "--tickets",
            str(work / "tickets.csv"),
            "--transactions",
            str(work / "transactions.csv"),
            "--out",
            str(work / "results.jsonl"),
            "--db",
            str(work / "run.db"),
            "--rejects",
            str(work / "rejects.jsonl"),
            "--llm-cache",
            str(work / "cache.db"),
            "--provider",
            "openai",
            "--base-url",
            base_url,
            "--rpm",
            str(RPM),
            "--tpm",
            str(TPM),
            *extra,
        ]
        start = time.perf_counter()
        completed = subprocess.run(
            command, capture_output=True, env={"OPENAI_API_KEY": "sk-bench", "PATH": ""}
        )
        elapsed = time.perf_counter() - start
        if completed.returncode not in (0, 1):
            raise SystemExit(f"{label}: run failed\n{completed.stderr.decode()[-2000:]}")
        records = [json.loads(line) for line in (work / "results.jsonl").open()]
    after = dict(fake.outcomes)
    calls = {key: after.get(key, 0) - before.get(key, 0) for key in after}
    requests = sum(calls.values())
    responded = sum(record["status"] == "responded" for record in records)
    prompt = sum(record["usage"]["prompt_tokens"] for record in records)
    # What each request reserves up front: its max_completion_tokens (room for the
    # model's reasoning included), as the requests actually sent said.
    reserved = [body.get("max_completion_tokens", 0) for body in fake.requests[sent_before:]]
    charged = prompt / max(1, 2 * responded) + sum(reserved) / max(1, len(reserved))
    ceiling_requests = min(RPM, TPM / charged)
    per_minute = responded / elapsed * 60
    return {
        "tickets": responded,
        "failed": len(records) - responded,
        "seconds": elapsed,
        "tickets_per_minute": per_minute,
        "ceiling_tickets_per_minute": ceiling_requests / 2,
        "fraction": per_minute / (ceiling_requests / 2),
        "requests": requests,
        "share_429": calls.get("429", 0) / max(1, requests),
        "charged_tokens_per_request": charged,
        "prompt_tokens_per_ticket": prompt / max(1, responded),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=420, help="sample tickets, paced run")
    parser.add_argument(
        "--serial-tickets", type=int, default=56, help="sample tickets, serial run (0: skip it)"
    )
    args = parser.parse_args()
    config = FakeLLMConfig(
        # Requests are recorded to read what each reserved (a few hundred: memory is no issue).
        latency_ms=800,
        latency_jitter=0.25,
        rpm=RPM,
        tpm=TPM,
        seed=1,
        record_requests=True,
    )
    fake, base_url = serve_in_thread(config)
    rows = [("paced, 64 in flight (default)", measure("paced", args.tickets, base_url, fake))]
    if args.serial_tickets:
        serial = ("--llm-concurrency", "1", "--analyze-concurrency", "1")
        serial += ("--respond-concurrency", "1")
        rows.append(
            (
                "one call at a time",
                measure("serial", args.serial_tickets, base_url, fake, *serial),
            )
        )
    print(
        "| run | tickets | wall time (s) | tickets/min | ceiling tickets/min | fraction of ceiling "
        "| requests | 429 share | charged tokens/request | prompt tokens/ticket |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, row in rows:
        print(
            f"| {label} | {row['tickets']:.0f} | {row['seconds']:.1f} | "
            f"{row['tickets_per_minute']:.1f} | {row['ceiling_tickets_per_minute']:.1f} | "
            f"{row['fraction']:.3f} | {row['requests']:.0f} | {row['share_429']:.2%} | "
            f"{row['charged_tokens_per_request']:.0f} | {row['prompt_tokens_per_ticket']:.0f} |"
        )


if __name__ == "__main__":
    main()
