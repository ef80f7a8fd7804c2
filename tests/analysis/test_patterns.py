"""The fast forms of the patterns that read every ticket and reply find what their plain
forms find.

For speed several patterns start with a literal character instead of a lookaround (the
regex engine then skips to that character), and some are not tried at all on text
without a word they need. Each test holds the fast form to the plain, readable one on
texts made of the pieces where the two could part: word boundaries, case, letters that
case-fold to ASCII ones (dotted and dotless i, long s, the Kelvin sign), separators and
non-ASCII digits.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supporter.analysis import grounding, mentions
from supporter.analysis.mentions import scan_dates
from supporter.domain import keys
from supporter.domain.keys import quoted_references
from supporter.llm.offline import signals

PLAIN_NUMERIC_DATE = re.compile(
    r"(?<![\d/.-])(?:(?P<year>\d{4})(?P<sep>[-/.])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})"
    r"|(?P<first>\d{1,2})(?P<sep2>[-/.])(?P<second>\d{1,2})(?P=sep2)(?P<last>\d{4}|\d{2}))"
    r"(?!\d|[-/.]\d)"
)
PLAIN_ID_AFTER_WORD = re.compile(  # as it stood before the faster form
    r"\b(?:transactions?|txn|trx|ref(?:erence)?|transacci[oó]n|transa[cç][ãa]o"
    r"|transaktion|transazione|r[ée]f[ée]rence|referencia|riferimento)\b"
    r"(?:\s+(?:id|number|no\.?|nr\.?|n[º°o]\.?|#|número|numéro|nummer|numero))?"
    r"\s*(?:[:#]\s*)?(?P<token>[A-Za-z0-9][A-Za-z0-9_-]{3,})(?![.,]\d)",
    re.IGNORECASE,
)
PLAIN_MARKED_NUMBER = re.compile(
    r"(?:#|\b(?:order|invoice|bestellung|rechnung|pedido|factura|commande|facture|ordine"
    r"|fattura|encomenda)\b(?:\s+(?:number|no\.?|nr\.?|n[º°o]\.?|número|numéro|nummer"
    r"|numero))?\s*[:#]?\s*)(?P<number>\d{3,})\b",
    re.IGNORECASE,
)
PLAIN_SHOUTED_WORD = re.compile(r"\b[A-Z]{4,}\b")

# Letters that case-insensitive matching takes for ASCII ones: İ and ı for i, ſ for s, the
# Kelvin sign for k.
FOLDING = ["\u0130", "\u0131", "\u017f", "\u212a"]
PIECES = [
    *"0123456789-/.,:;_# \n\u00a0",
    *"aAtTrRxXnNeEfFsSiIkKoOcC",
    *FOLDING,
    *"éÉçã٣٤",  # accented letters, Arabic-Indic digits (\d takes them)
    *("2024", "12", "03", "1999", "123", "4567", "tx_9", "ab12cd"),
    *("transaction", "Transactions", "TRX", "txn", "ref", "REF", "Reference", "réf"),
    *("référence", "Transaktion", "transacción", "transação", "riferimento", "preference"),
    *("order", "ORDER", "Order", "ordine", "invoice", "INVOİCE", "ınvoıce", "beſtellung"),
    *("Rechnung", "pedido", "FACTURA", "facture", "commande", "fattura", "encomenda"),
    *(" no. ", " nr ", " número ", " id ", "URGENT", "PLEASE", "HELP"),
]
TEXTS = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)


def spans(pattern: re.Pattern[str], text: str) -> list[tuple[tuple[int, int], str]]:
    return [(match.span(), match[0]) for match in pattern.finditer(text)]


@settings(max_examples=400, deadline=None)
@given(TEXTS)
def test_numeric_dates_are_found_as_the_plain_pattern_finds_them(text: str) -> None:
    assert spans(mentions._NUMERIC_DATE, text) == spans(PLAIN_NUMERIC_DATE, text)
    for fast, plain in zip(
        mentions._NUMERIC_DATE.finditer(text), PLAIN_NUMERIC_DATE.finditer(text), strict=True
    ):
        first = text[fast.start() : fast.start("sep" if fast["sep"] else "sep2")]
        assert first == (plain["year"] or plain["first"])


@settings(max_examples=400, deadline=None)
@given(TEXTS)
def test_ids_after_a_word_are_found_as_the_plain_pattern_finds_them(text: str) -> None:
    fast = [(m.span(), m["token"]) for m in grounding._ID_AFTER_WORD.finditer(text)]
    assert fast == [(m.span(), m["token"]) for m in PLAIN_ID_AFTER_WORD.finditer(text)]


@settings(max_examples=400, deadline=None)
@given(TEXTS)
def test_quoted_references_are_those_the_plain_patterns_find(text: str) -> None:
    found = [m[0] for m in keys._WORD.finditer(text) if not keys._DATE.fullmatch(m[0])]
    found += [m["number"] for m in PLAIN_MARKED_NUMBER.finditer(text)]
    assert quoted_references(text) == list(dict.fromkeys(found))[: keys.MAX_QUOTED]


@settings(max_examples=400, deadline=None)
@given(TEXTS)
def test_shouted_words_are_those_the_plain_pattern_finds(text: str) -> None:
    assert signals._SHOUTED_WORD.findall(text) == PLAIN_SHOUTED_WORD.findall(text)


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("my order 1234 and #5678", ["1234", "5678"]),
        ("ORDER NO. 4321", ["4321"]),
        ("İNVOİCE 98765", ["98765"]),  # dotted capital I: lower() would not give "invoice"
        ("ınvoıce 98765", ["98765"]),  # dotless i
        ("Beſtellung Nr. 55555", ["55555"]),  # long s
        ("reorder 1234, invoices 4321", []),  # inside or longer words: not a mark
        ("Número de pedido: 777", ["777"]),
    ],
)
def test_marked_numbers_are_found_in_any_case_and_spelling(text: str, numbers: list[str]) -> None:
    assert quoted_references(text) == numbers


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("paid on 2024-03-05.", ["2024-03-05"]),
        ("05.03.2024 and 5/3/24", ["05.03.2024", "5/3/24"]),
        ("v2024-03-05 or 1.2024-03-05", ["2024-03-05"]),  # glued to a letter is fine
        ("12024-03-05, 2024-03-055", []),  # part of longer numbers
        ("٢٠٢٤-٠٣-٠٥", ["٢٠٢٤-٠٣-٠٥"]),
    ],
)
def test_numeric_dates_stand_apart_from_other_numbers(text: str, found: list[str]) -> None:
    assert [mention.text for mention in scan_dates(text)] == found


@pytest.mark.parametrize(
    ("text", "amounts"),
    [
        ("$49.99 USD", [("49.99", "USD")]),  # the code after it wins over the symbol before
        ("49,99 € then 5 $10", [("49.99", "€"), ("5", "$"), ("10", "$")]),
        ("1 234,56 EUR and 1 234", [("1234.56", "EUR")]),  # a space groups only before one
        ("20 bucks, 3 kr, 7 KRONA", [("20", "bucks"), ("3", "kr")]),
        ("at 10.30 am, 12.50%, 4.99", [("4.99", "")]),
        ("tx_49 USD, A1 EUR", []),  # inside an id or glued to a word
        ("100USD 7zł", [("100", "USD"), ("7", "zł")]),
    ],
)
def test_a_currency_right_after_a_number_is_read_with_it(
    text: str, amounts: list[tuple[str, str]]
) -> None:
    found = mentions.scan_amounts(text, bare_needs_context=False)
    assert [(str(amount.value), amount.label) for amount in found] == amounts
