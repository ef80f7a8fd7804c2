"""Tickets per second and peak memory of `supporter run` on sample data.

Each size runs in a fresh process (so peak RSS is that run's own), on a fresh
database, with the default settings (offline provider, in-memory broker, SQLite).

    .venv/bin/python benchmarks/pipeline_throughput.py --tickets 10000 100000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def measure(size: int, workdir: Path) -> dict[str, float]:
    data = workdir / f"data-{size}"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "supporter",
            "sample-data",
            "--tickets",
            str(size),
            "--out",
            str(data),
        ],
        check=True,
        capture_output=True,
    )
    out = workdir / f"results-{size}.jsonl"
    command = [
        sys.executable,
        "-m",
        "supporter",
        "run",
        "--no-progress",
        "--tickets",
        str(data / "tickets.csv"),
        "--transactions",
        str(data / "transactions.csv"),
        "--db",
        str(workdir / f"run-{size}.db"),
        "--out",
        str(out),
        "--rejects",
        str(workdir / f"rejects-{size}.jsonl"),
    ]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # wait4 gives this child's own resource usage, so the peak is this run's alone.
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    peak_kib = usage.ru_maxrss
    if code not in (0, 1):
        raise SystemExit(f"run of {size} tickets failed with exit status {code}")
    processed = sum(1 for _ in out.open(encoding="utf-8"))
    return {
        "tickets": size,
        "processed": processed,
        "seconds": elapsed,
        "tickets_per_second": processed / elapsed,
        "peak_rss_mib": peak_kib / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    print(
        "| sample tickets | open tickets processed | wall time (s) | tickets/s | peak RSS (MiB) |"
    )
    print("|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.tickets:
            row = measure(size, Path(tmp))
            print(
                f"| {row['tickets']:,.0f} | {row['processed']:,.0f} | {row['seconds']:.1f} | "
                f"{row['tickets_per_second']:,.0f} | {row['peak_rss_mib']:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
