"""The sample as two CSV files, `tickets.csv` and `transactions.csv`."""

from __future__ import annotations

import csv
from pathlib import Path

from supporter.sample_data.generator import iter_sample
from supporter.sample_data.records import TICKET_COLUMNS, TRANSACTION_COLUMNS, SampleFiles


def write_sample_data(out_dir: Path, tickets: int, *, seed: int = 7) -> SampleFiles:
    """Write `tickets.csv` and `transactions.csv` into `out_dir`, streamed customer by customer."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tickets_path = out_dir / "tickets.csv"
    transactions_path = out_dir / "transactions.csv"
    ticket_count = transaction_count = customer_count = 0
    with (
        tickets_path.open("w", encoding="utf-8", newline="") as tickets_file,
        transactions_path.open("w", encoding="utf-8", newline="") as transactions_file,
    ):
        ticket_writer = csv.writer(tickets_file, lineterminator="\n")
        transaction_writer = csv.writer(transactions_file, lineterminator="\n")
        ticket_writer.writerow(TICKET_COLUMNS)
        transaction_writer.writerow(TRANSACTION_COLUMNS)
        for customer in iter_sample(tickets, seed=seed):
            customer_count += 1
            for ticket in customer.tickets:
                ticket_writer.writerow(ticket.row.values())
            transaction_writer.writerows(row.values() for row in customer.transactions)
            ticket_count += len(customer.tickets)
            transaction_count += len(customer.transactions)
    return SampleFiles(
        tickets_path, transactions_path, ticket_count, transaction_count, customer_count
    )
