"""Tickets per second and peak memory of `supporter run` on sample data.

Each size runs in a fresh process (so peak RSS is that run's own), on a fresh
database, with the default settings (offline provider, in-memory broker, SQLite).

    .venv/bin/python benchmarks/pipeline_throughput.py --tickets 10000 100000

`--tracing off otlp` runs each size twice: without traces, and with every span
exported over OTLP/HTTP to a receiver in this process (what a collector gets).
`--knowledge off on` runs each size without and with the sample help center
(`supporter sample-data --knowledge`, `supporter run --knowledge`; its indexing,
a fraction of a second, is inside the wall time). `--knowledge fused` adds
`--knowledge-embeddings` (needs supporter[embeddings]); the passages are embedded
before the timed run (`supporter knowledge index --embeddings`), loading the model
is inside it.

`--code OLD NEW` compares versions of the code on one machine in one sitting: each
case runs once per checkout (`PYTHONPATH=<checkout>/src`, e.g. made with `git
worktree add`), alternating, `--rounds` times, on the same sample data. Besides wall
time it gives the CPU seconds the run used (user + system, its SQLite threads
included), which a machine shared with other work inflates less than wall time, and
a digest of the results file: equal digests mean byte-identical results.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import itertools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from supporter.testing.otlp import OtlpReceiver

_runs = itertools.count()
_SUPPORTER = [sys.executable, "-m", "supporter"]


def sample(size: int, workdir: Path, knowledge: str) -> Path:
    """The sample data of `size` tickets (written once per size and help center)."""
    data = workdir / f"data-{size}-{'off' if knowledge == 'off' else 'on'}"
    if not data.exists():
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
                *([] if knowledge == "off" else ["--knowledge"]),
            ],
            check=True,
            capture_output=True,
        )
    return data


def measure(
    size: int, workdir: Path, tracing: str, knowledge: str = "off", code: Path | None = None
) -> dict[str, float | str]:
    data = sample(size, workdir, knowledge)
    run = f"{size}-{tracing}-{knowledge}-{next(_runs)}"
    out = workdir / f"results-{run}.jsonl"
    db = workdir / f"run-{run}.db"
    if knowledge == "fused":
        index = [*_SUPPORTER, "knowledge", "index", str(data / "help-center"), "--embeddings"]
        subprocess.run(
            [*index, "--db", str(db)],
            check=True,
            capture_output=True,
        )
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
        str(db),
        "--out",
        str(out),
        "--rejects",
        str(workdir / f"rejects-{run}.jsonl"),
        *([] if knowledge == "off" else ["--knowledge", str(data / "help-center")]),
        *(["--knowledge-embeddings"] if knowledge == "fused" else []),
    ]
    environ = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    if code is not None:
        environ["PYTHONPATH"] = str(code / "src")
    with contextlib.ExitStack() as stack:
        receiver = None
        if tracing == "otlp":
            receiver = stack.enter_context(OtlpReceiver())
            environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.endpoint
        start = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environ
        )
        # wait4 gives this child's own resource usage, so the peak is this run's alone.
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        spans = len(receiver.received()) if receiver is not None else 0
    exit_code = os.waitstatus_to_exitcode(status)
    peak_kib = usage.ru_maxrss
    if exit_code not in (0, 1):
        raise SystemExit(f"run of {size} tickets failed with exit status {exit_code}")
    processed = sum(1 for _ in out.open(encoding="utf-8"))
    return {
        "spans": spans,
        "tickets": size,
        "processed": processed,
        "seconds": elapsed,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "tickets_per_second": processed / elapsed,
        "peak_rss_mib": peak_kib / 1024,
        "digest": hashlib.sha256(out.read_bytes()).hexdigest()[:12],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument(
        "--tracing", nargs="+", choices=("off", "otlp"), default=["off"], help="trace modes"
    )
    parser.add_argument(
        "--knowledge",
        nargs="+",
        choices=("off", "on", "fused"),
        default=["off"],
        help="help center (fused: with embeddings)",
    )
    parser.add_argument(
        "--code",
        nargs="+",
        type=Path,
        default=[None],
        help="checkouts to compare, run alternately (default: the installed code)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="times each case is run")
    args = parser.parse_args()
    print(
        "| sample tickets | code | tracing | knowledge | open tickets processed "
        "| spans exported | wall time (s) | CPU (s) | tickets/s | tickets per CPU s "
        "| peak RSS (MiB) | results digest |"
    )
    print("|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.tickets:
            for _ in range(args.rounds):
                for tracing in args.tracing:
                    for knowledge in args.knowledge:
                        for code in args.code:
                            row = measure(size, Path(tmp), tracing, knowledge, code)
                            print(
                                f"| {row['tickets']:,.0f} | {code.name if code else '-'} "
                                f"| {tracing} | {knowledge} | {row['processed']:,.0f} "
                                f"| {row['spans']:,.0f} | {row['seconds']:.1f} "
                                f"| {row['cpu_seconds']:.1f} | {row['tickets_per_second']:,.0f} "
                                f"| {row['processed'] / row['cpu_seconds']:,.0f} "
                                f"| {row['peak_rss_mib']:.0f} | {row['digest']} |",
                                flush=True,
                            )


if __name__ == "__main__":
    main()
