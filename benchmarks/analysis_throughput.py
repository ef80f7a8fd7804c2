"""CPU time of the per-ticket analysis work, apart from the pipeline around it.

Reads the sample tickets and transactions (`supporter sample-data --seed 7`) as
`supporter run` does, finds each open ticket's transactions with the same window
lookup, then times each step over every open ticket in turn: the card masking of a
ticket's subject and body, the references it quotes, its transaction facts, the
offline analysis rules, the offline draft, and the reply check. A digest of everything
the steps return shows that two versions of the code agree.

    .venv/bin/python benchmarks/analysis_throughput.py --tickets 10000
    # versions side by side, alternating, on the same data (checkouts of each):
    .venv/bin/python benchmarks/analysis_throughput.py --tickets 10000 --rounds 5 \
        --code /tmp/base /tmp/new

Each figure is the fastest of `--repeat` passes over the tickets (process CPU time,
so other work on the machine inflates it less than wall time would).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from supporter.analysis.grounding import check_reply, compute_facts
from supporter.analysis.taxonomy import DEFAULT_TAXONOMY
from supporter.domain import keys
from supporter.domain.masking import mask_card_numbers
from supporter.domain.models import (
    Analysis,
    GroundingCheck,
    Reply,
    Ticket,
    Transaction,
    TransactionFacts,
)
from supporter.llm.base import AnalysisRequest, ReplyRequest
from supporter.llm.offline.provider import OfflineProvider
from supporter.llm.offline.replies import compose_reply
from supporter.sources.csv import CsvTicketSource, CsvTransactionSource
from supporter.transactions.base import TransactionWindow
from supporter.transactions.sqlite import SqliteTransactionIndex

STEPS = ("masking", "references", "facts", "analysis", "draft", "check")
_OPEN = frozenset({"new", "open"})


@dataclass
class Case:
    """One open ticket, its transactions, and what each step made of it."""

    ticket: Ticket
    transactions: list[Transaction]
    facts: TransactionFacts = field(default_factory=TransactionFacts)
    analysis: Analysis | None = None
    reply: Reply = field(default_factory=lambda: Reply(body=""))
    grounding: GroundingCheck = field(default_factory=lambda: GroundingCheck(passed=True))


def sample(size: int, workdir: Path) -> Path:
    data = workdir / f"data-{size}"
    if not data.exists():
        command = [sys.executable, "-m", "supporter", "sample-data", "--seed", "7"]
        command += ["--tickets", str(size), "--out", str(data)]
        subprocess.run(command, check=True, capture_output=True)
    return data


async def load(data: Path) -> list[Case]:
    index = SqliteTransactionIndex()
    try:
        source = CsvTransactionSource(data / "transactions.csv")
        await index.load(source.transactions(lambda reject: None))
        window = TransactionWindow()
        cases = []
        async for ticket in CsvTicketSource(data / "tickets.csv").tickets(lambda reject: None):
            if ticket.status in _OPEN:
                cases.append(Case(ticket, await window.of(index, ticket)))
        return cases
    finally:
        index.close()


def _cpu(step: Callable[[], None], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        step()
        best = min(best, time.process_time() - started)
    return best


def measure(data: Path, repeat: int) -> dict[str, float | str]:
    cases = asyncio.run(load(data))
    provider = OfflineProvider(DEFAULT_TAXONOMY)
    digest = hashlib.sha256()

    def masking() -> None:
        for case in cases:
            mask_card_numbers(case.ticket.subject)
            mask_card_numbers(case.ticket.body)

    def references() -> None:
        keys._quoted.cache_clear()  # the pipeline searches each ticket once before its hits
        for case in cases:
            keys.quoted_references(f"{case.ticket.subject}\n{case.ticket.body}")

    def facts() -> None:
        for case in cases:
            case.facts = compute_facts(case.ticket, case.transactions)

    def analysis() -> None:
        async def all_cases() -> None:
            for case in cases:
                request = AnalysisRequest(
                    ticket=case.ticket,
                    transactions=case.transactions,
                    facts=case.facts,
                    taxonomy=DEFAULT_TAXONOMY,
                )
                case.analysis = (await provider.analyze(request)).value

        asyncio.run(all_cases())

    def draft() -> None:
        for case in cases:
            if case.analysis is None:
                raise RuntimeError("the draft needs the analysis step first")
            request = ReplyRequest(
                ticket=case.ticket,
                transactions=case.transactions,
                facts=case.facts,
                analysis=case.analysis,
                passages=[],
            )
            case.reply = compose_reply(request)

    def check() -> None:
        for case in cases:
            case.grounding = check_reply(case.reply, case.transactions, case.ticket, None)

    timings: dict[str, float | str] = {}
    for name, step in zip(STEPS, (masking, references, facts, analysis, draft, check), strict=True):
        timings[name] = _cpu(step, repeat)
    for case in cases:
        masked = [mask_card_numbers(case.ticket.subject), mask_card_numbers(case.ticket.body)]
        quoted = keys.quoted_references(f"{case.ticket.subject}\n{case.ticket.body}")
        for part in (case.facts, case.analysis, case.reply, case.grounding):
            digest.update(part.model_dump_json().encode() if part is not None else b"-")
        digest.update(json.dumps([masked, quoted]).encode())
    timings["tickets"] = len(cases)
    timings["digest"] = digest.hexdigest()[:12]
    return timings


def _row(code: str, row: dict[str, float | str]) -> str:
    tickets = float(row["tickets"])
    steps = [float(row[name]) for name in STEPS]
    total = sum(steps)
    cells = " | ".join(f"{seconds * 1e6 / tickets:.0f}" for seconds in steps)
    return (
        f"| {code} | {tickets:,.0f} | {cells} | {total * 1e6 / tickets:.0f} "
        f"| {tickets / total:,.0f} | {row['digest']} |"
    )


def _in_checkout(code: Path, data: Path, repeat: int) -> dict[str, float | str]:
    environ = {**os.environ, "PYTHONPATH": str(code / "src")}
    command = [sys.executable, __file__, "--data", str(data), "--repeat", str(repeat), "--json"]
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=environ)
    result: dict[str, float | str] = json.loads(done.stdout)
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=10_000, help="sample tickets")
    parser.add_argument("--data", type=Path, help="sample data already written (a directory)")
    parser.add_argument("--repeat", type=int, default=3, help="passes per step; the fastest counts")
    parser.add_argument("--rounds", type=int, default=1, help="times each checkout is measured")
    parser.add_argument(
        "--code", nargs="+", type=Path, help="checkouts to compare, run alternately"
    )
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or sample(args.tickets, Path(tmp))
        if args.json:
            print(json.dumps(measure(data, args.repeat)))
            return
        print(
            "| code | open tickets | "
            + " | ".join(f"{name} (µs)" for name in STEPS)
            + " | all (µs) | tickets per CPU s | digest |"
        )
        print("|---|---:|" + "---:|" * len(STEPS) + "---:|---:|---|")
        for _ in range(args.rounds):
            for code in args.code or [None]:
                if code is None:
                    print(_row("-", measure(data, args.repeat)), flush=True)
                else:
                    print(_row(code.name, _in_checkout(code, data, args.repeat)), flush=True)


if __name__ == "__main__":
    main()
