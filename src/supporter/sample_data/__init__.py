"""Realistic synthetic support tickets and payment transactions.

Customers are generated one at a time from a single seeded `random.Random`, so
the output depends only on the seed and the ticket count, and memory stays flat
however many tickets are asked for. Every ticket knows the category it was
written for and the transactions it is about (`iter_sample`), so classification
and grounding can be measured on the data; the CSV files carry neither.

Texts are data: per language, tables of subjects, bodies, greetings, closings
and card sentences. A template may hold inline alternatives, "[I was|I've been]
charged", one of which is picked per ticket, and the placeholders {amount},
{date}, {last4}, {product}, {descriptor} and {email}, filled from the
customer's own transactions. Times are UTC; a ticket's naive timestamp is UTC
wall time.

Modules: `records` (what is produced), `distributions` (how often what
happens), `texts` (per language), `templates` and `formats` (writing texts
and values), `customers`, `transactions` and `tickets` (making each), `generator`
(one customer at a time) and `files` (the CSV files).
"""

from supporter.sample_data.files import write_sample_data
from supporter.sample_data.generator import iter_sample
from supporter.sample_data.records import (
    CATEGORIES,
    LANGUAGES,
    TICKET_COLUMNS,
    TRANSACTION_COLUMNS,
    SampleCustomer,
    SampleFiles,
    SampleTicket,
)

__all__ = [
    "CATEGORIES",
    "LANGUAGES",
    "TICKET_COLUMNS",
    "TRANSACTION_COLUMNS",
    "SampleCustomer",
    "SampleFiles",
    "SampleTicket",
    "iter_sample",
    "write_sample_data",
]
