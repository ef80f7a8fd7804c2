"""How fast each payment export is read and normalised, beside our own transactions CSV.

Writes the same N payments in each format, as its vendor writes it (the
fixtures' headers; Square as UTF-16 with tabs, the German PayPal download with
decimal commas and day-first dates), then reads each file whole through the
format the registry recognises (detection and the date-order check included),
in rounds over all formats, and prints the best time of each, its rows/s and the
ratio to our CSV reader measured in the same run. Both the wall-clock time and the
process's CPU time are kept: on a shared machine the CPU time is the steadier of the
two (a neighbour's load stretches the wall clock, not the work done), so the ratio
is taken from it.

    .venv/bin/python benchmarks/formats_throughput.py --rows 100000 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from supporter.sources.base import Reject
from supporter.sources.registry import open_transactions

FIXTURES = Path(__file__).parents[1] / "tests" / "sources" / "fixtures"
START = datetime(2024, 1, 1, tzinfo=UTC)
Row = Callable[[int, datetime], list[str]]


def amount(n: int) -> str:
    return f"{10 + n % 990}.{n % 100:02d}"


def ours(n: int, at: datetime) -> list[str]:
    return [f"tx_{n}", f"cus_{n % 5000}", amount(n), "USD", "succeeded", at.isoformat()]


def stripe(n: int, at: datetime) -> list[str]:
    return [
        *(f"ch_{n:08d}", at.strftime("%Y-%m-%d %H:%M:%S"), amount(n), "0.00", "usd", "true"),
        *("Paid", f"cus_{n % 5000}", f"user{n % 5000}@example.com", "4242", "Pro plan"),
        *(f"pi_{n:08d}", f"INV-{n}", "", "", "", str(1000 + n)),
    ]


def stripe_balance(n: int, at: datetime) -> list[str]:
    created = at.strftime("%Y-%m-%d %H:%M:%S")
    return [
        *(f"txn_{n}", created, created, "usd", amount(n), "1.00", amount(n), "charge"),
        *(f"ch_{n:08d}", "Pro plan", f"cus_{n % 5000}", f"user{n % 5000}@example.com"),
        *(f"ch_{n:08d}", f"pi_{n:08d}", f"in_{n}", str(1000 + n)),
    ]


def paypal_en(n: int, at: datetime) -> list[str]:
    gross = f"{1000 + n % 990:,}.{n % 100:02d}"
    return [
        *(f"{at.month}/{at.day}/{at.year}", at.strftime("%H:%M:%S"), "PST", "Alice Martin"),
        *("Express Checkout Payment", "Completed", "USD", gross, "-1.00", gross),
        *(f"user{n % 5000}@example.com", "shop@example.com", f"{n:017d}", "", "Camera kit"),
        *("", f"INV-{n}", "0.00", "", "Credit"),
    ]


def paypal_de(n: int, at: datetime) -> list[str]:
    gross = f"{1000 + n % 990:,}.{n % 100:02d}".replace(",", "X").replace(".", ",")
    return [
        *(at.strftime("%d.%m.%Y"), at.strftime("%H:%M:%S"), "MEZ", "Jonas Weber"),
        *("Express-Zahlung", "Abgeschlossen", "EUR", gross.replace("X", "."), "-1,00", "1,00"),
        *(f"user{n % 5000}@example.de", "shop@example.com", f"{n:017d}", "", "Kaffee", ""),
        *(f"R-{n}", "0,00", "", "Haben"),
    ]


def shopify(n: int, at: datetime) -> list[str]:
    return [
        *(at.strftime("%Y-%m-%d %H:%M:%S -0500"), "charge", f"#{n}", "visa", "online", "paid"),
        *("2024-03-04", "77001", "2024-03-04", amount(n), "1.00", amount(n), "c1a2b3", "card"),
        *(amount(n), "USD", "USD"),
    ]


def square(n: int, at: datetime) -> list[str]:
    money = f"${1000 + n % 990:,}.{n % 100:02d}"
    return [
        *(at.strftime("%Y-%m-%d"), at.strftime("%H:%M:%S"), "Pacific Time (US & Canada)"),
        *(money, "$0.00", money, "$0.00", "$0.00", "$0.00", money, "Point of Sale", money),
        *("-$1.00", money, f"Tx{n}", f"pay_{n}", "Visa", "1111", "Front", "Kim", ""),
        *("Coffee", "Payment", "Main St", f"CUST_{n % 5000}", "Alice", "Complete"),
    ]


def adyen(n: int, at: datetime) -> list[str]:
    return [
        *("TestCompany", "TestMerchant", f"{n:016d}", f"ORDER-{n}", "visa"),
        *(at.strftime("%Y-%m-%d %H:%M:%S"), "CET", "Settled", f"{n + 1:016d}", "EUR"),
        *("", amount(n), "1", "EUR", "", amount(n), "", "0.04", "0.01", "0.07"),
        *("visaclassic", "", "4"),
    ]


def braintree(n: int, at: datetime) -> list[str]:
    created = at.strftime("%m/%d/%Y %H:%M:%S")
    return [
        *(f"bt{n:08d}", "", "sale", "settled", "", created, "CST", "", "", "acme_usd", "USD"),
        *(amount(n), amount(n), "", "", "false", "", f"A-{n}", "ACME*STORE", ""),
        *("Credit Card", "Visa", "Alice Martin", "1111", f"{n % 5000}", "Alice", "Martin"),
        f"user{n % 5000}@example.com",
    ]


OURS_HEADER = ["transaction_id", "customer_id", "amount", "currency", "status", "created_at"]
# name -> (fixture whose header to write, row maker, encoding, delimiter)
FORMATS: dict[str, tuple[str | None, Row, str, str]] = {
    "csv (ours)": (None, ours, "utf-8", ","),
    "stripe": ("stripe_payments_unified.csv", stripe, "utf-8-sig", ","),
    "stripe-balance": ("stripe_balance_itemized.csv", stripe_balance, "utf-8", ","),
    "paypal (en)": ("paypal_activity_en.csv", paypal_en, "utf-8-sig", ","),
    "paypal (de)": ("paypal_activity_de.csv", paypal_de, "utf-8-sig", ","),
    "shopify": ("shopify_payments_transactions.csv", shopify, "utf-8", ","),
    "square": ("square_transactions.tsv", square, "utf-16", "\t"),
    "adyen": ("adyen_settlement_details.csv", adyen, "utf-8", ","),
    "braintree": ("braintree_transactions.csv", braintree, "utf-8", ","),
}


def header(fixture: str | None) -> list[str]:
    if fixture is None:
        return OURS_HEADER
    path = FIXTURES / fixture
    encoding = "utf-16" if path.suffix == ".tsv" else "utf-8-sig"
    with path.open(encoding=encoding, newline="") as file:
        return next(csv.reader(file, delimiter="\t" if path.suffix == ".tsv" else ","))


def write(path: Path, name: str, count: int) -> None:
    fixture, row, encoding, delimiter = FORMATS[name]
    columns = header(fixture)
    with path.open("w", encoding=encoding, newline="") as file:
        writer = csv.writer(file, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow(columns)
        for n in range(count):
            values = row(n, START + timedelta(minutes=7 * n))
            assert len(values) == len(columns), (name, len(values), len(columns))
            writer.writerow(values)


async def read(path: Path) -> tuple[str, int]:
    rejects: list[Reject] = []
    source, choice = open_transactions(path)
    count = 0
    async for _ in source.transactions(rejects.append):
        count += 1
    assert not rejects, rejects[:1]
    return choice.format.name, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    count = arguments.rows
    best: dict[str, float] = {}
    best_cpu: dict[str, float] = {}
    recognised: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as folder:
        paths = {name: Path(folder) / f"{index}.csv" for index, name in enumerate(FORMATS)}
        for name, path in paths.items():
            write(path, name, count)
        # Rounds over every format in turn, the best time of each kept: a neighbour's load
        # then slows every format alike instead of the one that happened to run under it.
        for _ in range(arguments.rounds):
            for name, path in paths.items():
                started, started_cpu = time.perf_counter(), time.process_time()
                recognised[name], read_count = asyncio.run(read(path))
                seconds = time.perf_counter() - started
                cpu = time.process_time() - started_cpu
                assert read_count == count, (name, read_count)
                best[name] = min(best.get(name, seconds), seconds)
                best_cpu[name] = min(best_cpu.get(name, cpu), cpu)
    baseline, baseline_wall = best_cpu["csv (ours)"], best["csv (ours)"]
    print(
        "| format | recognised as | rows | best seconds | best CPU seconds | rows/s (CPU) "
        "| vs our CSV (CPU) | vs our CSV (wall) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, seconds in best.items():
        cpu = best_cpu[name]
        print(
            f"| {name} | {recognised[name]} | {count:,} | {seconds:.2f} | {cpu:.2f} "
            f"| {count / cpu:,.0f} | {baseline / cpu:.2f} | {baseline_wall / seconds:.2f} |"
        )


if __name__ == "__main__":
    main()
