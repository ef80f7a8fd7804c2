"""A backlog through the Batch API, killed in the middle: nothing lost, nothing paid twice.

Writes `supporter sample-data`, serves the simulator (chat completions, files, batches)
in this process, and runs `supporter run --batch` against it in a process of its own.
Once the simulator has answered `--kill-after` of the analysis batch's requests, the
run gets SIGKILL; the same command is then run again to the end. Checked: every open
ticket has exactly one result, no dead letters, and the simulator answered each
request once (the killed run's batch was resumed, not sent again). The cost per
1,000 tickets with `--batch` is measured by `model_cost.py`.

    .venv/bin/python benchmarks/batch_backlog.py --tickets 10000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from supporter.testing.fake_batches import FakeBatchConfig, FakeBatches
from supporter.testing.fake_llm import FakeLLM, FakeLLMConfig

FAST = {
    "SUPPORTER_BATCH_GATHER_SECONDS": "1",
    "SUPPORTER_BATCH_POLL_INTERVAL": "0.5",
    "OPENAI_API_KEY": "sk-benchmark",
}


def command(data: Path, base_url: str, model: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "supporter",
        "run",
        "--no-progress",
        "--tickets",
        str(data / "tickets.csv"),
        "--transactions",
        str(data / "transactions.csv"),
        "--provider",
        "openai",
        "--model",
        model,
        "--base-url",
        base_url,
        *extra,
    ]


async def run(argv: list[str], workdir: Path, log: str) -> tuple[int, float]:
    started = time.perf_counter()
    with (workdir / log).open("w") as output:
        process = await asyncio.create_subprocess_exec(
            *argv, cwd=workdir, stdout=output, stderr=output, env={**os.environ, **FAST}
        )
        code = await process.wait()
    return code, time.perf_counter() - started


async def killed_in_the_middle(
    argv: list[str], workdir: Path, batches: FakeBatches, share: float
) -> tuple[int, int, float]:
    """Start the run and SIGKILL it once `share` of its first batch is answered: (requests
    in that batch, answered when killed, seconds)."""
    started = time.perf_counter()
    with (workdir / "killed.log").open("w") as output:
        process = await asyncio.create_subprocess_exec(
            *argv, cwd=workdir, stdout=output, stderr=output, env={**os.environ, **FAST}
        )
        total = 0
        while total == 0 or batches.executed < total * share:
            if process.returncode is not None:
                raise SystemExit(f"the run ended before it was killed: see {workdir}")
            first = next(iter(batches.batches.values()), None)
            total = first.total if first is not None else 0
            await asyncio.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        await process.wait()
    return total, batches.executed, time.perf_counter() - started


def results(workdir: Path) -> list[dict[str, object]]:
    lines = (workdir / "results.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def dead_letters(workdir: Path) -> int:
    with sqlite3.connect(workdir / "supporter.db") as connection:
        return int(connection.execute("select count(*) from dead_letters").fetchone()[0])


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--model", default="gpt-4o")
    parser.add_argument(
        "--kill-after", type=float, default=0.5, help="Share of the analyses answered first."
    )
    options = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="batch-backlog-"))
    data = root / "data"
    sample = ["sample-data", "--tickets", str(options.tickets), "--out", str(data)]
    code, _ = await run([sys.executable, "-m", "supporter", *sample], root, "sample.log")
    if code != 0:
        raise SystemExit(f"sample-data failed: see {root}/sample.log")
    server = FakeLLM(FakeLLMConfig(latency_ms=2, latency_jitter=0, seed=7, record_requests=False))
    batches = FakeBatches(server, FakeBatchConfig(concurrency=32))
    async with server as base_url:
        batch_dir = root / "batch"
        batch_dir.mkdir()
        argv = command(data, base_url, options.model, "--batch")
        open_tickets, killed_at, killed_seconds = await killed_in_the_middle(
            argv, batch_dir, batches, options.kill_after
        )
        code, resumed_seconds = await run(argv, batch_dir, "resumed.log")
        if code != 0:
            raise SystemExit(f"the resumed run failed ({code}): see {batch_dir}/resumed.log")
        executed_batch = batches.executed
        batch_records = results(batch_dir)
        ids = [record["ticket_id"] for record in batch_records]

    print(f"open tickets: {open_tickets:,} (of {options.tickets:,} sample tickets)")
    print(f"killed after {killed_at:,} analyses answered, at {killed_seconds:.1f} s")
    print(f"resumed run: {resumed_seconds:.1f} s, exit {code}")
    print(
        f"results: {len(ids):,} lines, {len(set(ids)):,} tickets, "
        f"{sum(r['status'] == 'responded' for r in batch_records):,} responded, "
        f"{dead_letters(batch_dir)} dead letters"
    )
    print(
        f"requests answered by the simulator through batches: {executed_batch:,} "
        f"(2 per ticket: {2 * open_tickets:,}); batches: {len(batches.batches)}"
    )
    lost = open_tickets - len(set(ids))
    twice = executed_batch - 2 * open_tickets
    print("OK" if lost == 0 and twice == 0 and len(ids) == len(set(ids)) else "FAILED")


if __name__ == "__main__":
    asyncio.run(main())
