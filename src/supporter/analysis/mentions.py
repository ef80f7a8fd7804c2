"""Amounts and dates as people write them, read from a ticket or a draft reply.

Amounts: "$49.99", "49,99 €", "USD 1,234.56", "20 bucks", and a bare "49.99"
near a word about money. Dates: "2024-03-05", "05.03.2024", "March 5",
"5 de marzo", and in a ticket "yesterday" and its like in six languages.
This runs for every ticket and every reply, so every pattern is compiled once, here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

# --- amounts -----------------------------------------------------------------

_DOLLAR = frozenset({"USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN"})
_CODES = "USD|EUR|GBP|CAD|AUD|NZD|CHF|JPY|CNY|SEK|NOK|DKK|PLN|CZK|HUF|BRL|MXN|INR|SGD|HKD|ZAR"
# Lower-case codes are taken only where they cannot be ordinary words ("try" is not TRY).
_CODE = rf"(?:{_CODES}|(?i:usd|eur|gbp))"
_CODE_SET = frozenset(_CODES.split("|"))
_CURRENCY_TOKENS: dict[str, frozenset[str]] = {
    "$": _DOLLAR,
    "us$": frozenset({"USD"}),
    "c$": frozenset({"CAD"}),
    "ca$": frozenset({"CAD"}),
    "a$": frozenset({"AUD"}),
    "au$": frozenset({"AUD"}),
    "nz$": frozenset({"NZD"}),
    "r$": frozenset({"BRL"}),
    "€": frozenset({"EUR"}),
    "£": frozenset({"GBP"}),
    "¥": frozenset({"JPY", "CNY"}),
    "kr": frozenset({"SEK", "NOK", "DKK"}),
    "zł": frozenset({"PLN"}),
    "dollar": _DOLLAR,
    "dollars": _DOLLAR,
    "bucks": _DOLLAR,
    "euro": frozenset({"EUR"}),
    "euros": frozenset({"EUR"}),
    "pound": frozenset({"GBP"}),
    "pounds": frozenset({"GBP"}),
    "quid": frozenset({"GBP"}),
}
_PREFIX_SYMBOL = r"(?:\b(?:US|CA|C|AU|A|NZ|R))?\$|€|£|¥"
_SUFFIX_SYMBOL = r"€|£|\$|¥|zł|(?i:kr)\b"
_CURRENCY_WORD = r"(?i:dollars?|bucks|euros?|pounds?|quid)\b"
_SUFFIX = rf"\s?(?:(?P<code>{_CODE})\b|(?P<symbol>{_SUFFIX_SYMBOL})|(?P<word>{_CURRENCY_WORD}))"
_SUFFIX_AHEAD = rf"\s?(?:{_CODE}\b|{_SUFFIX_SYMBOL}|{_CURRENCY_WORD})"  # no groups, to look ahead
# Grouped thousands ("1,234.56", "1.234,56", "1 234,56" with a no-break space) or plain;
# a plain space groups thousands only right before a currency.
# Each form after its first digit, which the pattern below matches on its own.
_NUMBER_AFTER_FIRST_DIGIT = (
    rf"\d{{0,2}}(?: \d{{3}})+(?:[.,]\d{{1,2}})?(?={_SUFFIX_AHEAD})"
    r"|\d{0,2}(?:[,.\u00a0\u202f']\d{3})+(?:[.,]\d{1,2})?|\d*(?:[.,]\d{1,2})?"
)
# Numbers are found first and their currency read around them. The pattern starts with a
# digit, so the regex engine skips to digits instead of trying every position (a
# lookaround first would not let it); what precedes that digit is checked after it. A
# number inside an id ("tx_49"), a date ("03-05", "05.03.2024") or a fraction is no amount.
# A currency right after the number is read in the same pass (no digit can start in it, so
# every number is found as without it).
_NUMBER_IN_TEXT = re.compile(
    rf"(?P<number>\d(?<![\d_.,/]\d)(?<!\d-\d)(?:{_NUMBER_AFTER_FIRST_DIGIT})(?!\d|[.,]\d))"
    rf"(?:{_SUFFIX})?"
)
_PREFIX_CURRENCY = re.compile(rf"(?:(?P<symbol>{_PREFIX_SYMBOL})|\b(?P<code>{_CODE}))\s?$")
_PREFIX_REACH = 5  # "US$ " or "USD " and one character to see a word boundary
_TWO_DECIMALS = re.compile(r"\d{1,3}(?:,\d{3})+\.\d{2}|\d{1,3}(?:\.\d{3})+,\d{2}|\d+[.,]\d{2}")
_TIME_OR_RATE_AFTER = re.compile(r"\s?(?:%|[ap]\.?m\b|h\b)", re.IGNORECASE)
# In a ticket a bare "49.99" is an amount only near words about money (checked as substrings:
# far cheaper than a regex alternation on every ticket).
_MONEY_STEMS = (
    *("charg", "paid", "pay", "amount", "refund", "price", "cost", "fee", "bill", "debit"),
    *("total", "withdr", "transfer", "spent", "purchas", "balance", "money", "invoice"),
    *("deposit", "top up", "top-up", "cobr", "pag", "importe", "montant", "rembours"),
    *("betrag", "zahl", "abbuch", "importo", "addebit", "valor", "reembols", "rimbors"),
    *("estorn", "usd", "eur", "gbp"),
)
_NOT_IN_NUMBER = str.maketrans("", "", " '\u00a0\u202f")
_CONTEXT_BEFORE = 40
_CONTEXT_AFTER = 25


@dataclass(frozen=True, slots=True)
class Amount:
    value: Decimal
    currencies: frozenset[str] | None  # None: no currency written, any matches
    label: str  # the currency as written, for problem messages


def _to_decimal(number: str) -> Decimal | None:
    """Read "1,234.56", "1.234,56" or "49,99": a last separator before 1-2 digits is decimal."""
    digits = number.translate(_NOT_IN_NUMBER)
    cut = max(digits.rfind("."), digits.rfind(","))
    if cut >= 0 and len(digits) - cut - 1 <= 2:
        whole, fraction = digits[:cut], digits[cut + 1 :]
    else:
        whole, fraction = digits, ""
    whole = whole.replace(",", "").replace(".", "")
    try:
        return Decimal(f"{whole}.{fraction}" if fraction else whole)
    except InvalidOperation:
        return None


def _currencies(token: str) -> frozenset[str] | None:
    if token.upper() in _CODE_SET:
        return frozenset({token.upper()})
    return _CURRENCY_TOKENS.get(token.lower())


def scan_amounts(text: str, *, bare_needs_context: bool) -> Iterator[Amount]:
    for match in _NUMBER_IN_TEXT.finditer(text):
        amount = _read_amount(text, match, bare_needs_context)
        if amount is not None:
            yield amount


def _read_amount(text: str, match: re.Match[str], bare_needs_context: bool) -> Amount | None:
    start = match.start()
    prefix = _PREFIX_CURRENCY.search(text, max(0, start - _PREFIX_REACH), start)
    if prefix is None and text[start - 1 : start].isalpha():
        return None  # glued to a word: "A1", "tx49"
    # "$49.99 USD": the code is the more precise of the two.
    token = match["code"] or (prefix and (prefix["symbol"] or prefix["code"]))
    token = token or match["symbol"] or match["word"]
    if not token and not _is_bare_amount(text, match, bare_needs_context):
        return None
    value = _to_decimal(match["number"])
    if value is None:
        return None
    return Amount(value, _currencies(token) if token else None, token or "")


def _is_bare_amount(text: str, match: re.Match[str], needs_context: bool) -> bool:
    """A number without currency is money only with exactly two decimals, and not "10.30 am"."""
    start, end = match.span("number")
    if not _TWO_DECIMALS.fullmatch(match["number"]) or _TIME_OR_RATE_AFTER.match(text, end):
        return False
    if not needs_context:
        return True
    window = text[max(0, start - _CONTEXT_BEFORE) : end + _CONTEXT_AFTER].lower()
    return any(stem in window for stem in _MONEY_STEMS)


# --- dates ---------------------------------------------------------------------

_MONTH_NAMES = (  # en es fr de pt it, with common abbreviations and unaccented spellings
    "january jan enero janvier januar jänner janeiro gennaio",
    "february feb febrero février fevrier februar fevereiro febbraio",
    "march mar marzo mars märz maerz março marco",
    "april apr abril avril aprile",
    "may mayo mai maio maggio",
    "june jun junio juin juni junho giugno",
    "july jul julio juillet juli julho luglio",
    "august aug agosto août aout",
    "september sept sep septiembre setiembre septembre setembro settembre",
    "october oct octubre octobre oktober outubro ottobre",
    "november nov noviembre novembre novembro",
    "december dec diciembre décembre decembre dezember dezembro dicembre",
)
_MONTHS = {name: number for number, names in enumerate(_MONTH_NAMES, 1) for name in names.split()}
# English words that are also month names count only when capitalised ("May 5", not "may 5").
_NEEDS_CAPITAL = frozenset({"may", "mar"})
_ANY_DIGIT = re.compile(r"\d")
# Year first ("2024-03-05", "2024/03/05") or last ("05.03.2024", "05/03/24"). The pattern
# starts with a digit, outside any group, so the regex engine skips to digits (see
# `_DAY_NUMBER`); the year, or the first number, is the text from there to the separator.
_NUMERIC_DATE = re.compile(
    r"\d(?<![\d/.-]\d)(?:\d{3}(?P<sep>[-/.])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})"
    r"|\d?(?P<sep2>[-/.])(?P<second>\d{1,2})(?P=sep2)(?P<last>\d{4}|\d{2}))"
    r"(?!\d|[-/.]\d)"
)
# Dates with a month name are found from their day number (a pattern that starts with a
# digit is fast to scan for: what precedes the digit is checked after it); the month word
# is then read just before ("March 5") or after ("5 March") it.
_DAY_NUMBER = re.compile(r"\d(?<![\w.,/:-]\d)\d?(?!\d|[.,/:-]\d)")
_MONTH_BEFORE_DAY = re.compile(r"\b([^\W\d_]{3,10})\.?\s+$")
_MONTH_WORD_REACH = 12  # the longest month name, a dot and a space
_YEAR_AFTER_DAY = re.compile(r"(?:st|nd|rd|th)?\b(?:,?\s+(\d{4})\b)?")
_MONTH_AFTER_DAY = re.compile(
    r"(?:st|nd|rd|th|er|º|°|\.)?\s+(?:[Oo]f\s+|[Dd]e\s+)?([^\W\d_]{3,10})\b"
    r"(?:\.?,?\s+(?:del?\s+)?(\d{4})\b)?"
)
# French "hier" alone is German "here", so only "hier soir/matin" are taken.
_RELATIVE_DAY = re.compile(
    r"(?i)\b(?:(?P<two>day\s+before\s+yesterday|anteayer|antier|avant-hier|vorgestern|anteontem"
    r"|altroieri|l'altro\s+ieri)"
    r"|(?P<one>yesterday|last\s+night|ayer|anoche|gestern|ontem|ieri|hier(?=\s+(?:soir|matin)))"
    r"|(?P<zero>today|this\s+morning|tonight|hoy|aujourd'hui|heute|hoje|oggi))\b"
)
# Substrings at least one of which every relative day contains: a cheap test first.
_RELATIVE_STEMS = (
    *("yesterday", "last night", "ayer", "anoche", "antier", "gestern", "ontem", "ieri"),
    *("hier", "today", "this morning", "tonight", "hoy", "aujourd", "heute", "hoje", "oggi"),
)

# A date as written: (year or None, month, day) readings; two when "05/03/2024" is ambiguous.
Reading = tuple[int | None, int, int]


@dataclass(frozen=True, slots=True)
class DateMention:
    start: int
    end: int
    text: str
    readings: tuple[Reading, ...]


def _valid(year: int | None, month: int, day: int) -> bool:
    try:
        date(2000 if year is None else year, month, day)  # 2000 is a leap year: Feb 29 may pass
    except ValueError:
        return False
    return True


def _numeric_readings(first: int, second: int, year: int, separator: str) -> tuple[Reading, ...]:
    # Dotted dates ("05.03.2024") are day-first wherever they are written.
    if separator == "." or first > 12 or first == second:
        pairs = [(second, first)]
    elif second > 12:
        pairs = [(first, second)]
    else:
        pairs = [(second, first), (first, second)]  # 05/03: March 5 or May 3, undecidable
    return tuple((year, month, day) for month, day in pairs if _valid(year, month, day))


def _numeric_mentions(text: str) -> Iterator[DateMention]:
    for match in _NUMERIC_DATE.finditer(text):
        if match["sep"]:
            year = int(text[match.start() : match.start("sep")])
            month, day = int(match["month"]), int(match["day"])
            readings: tuple[Reading, ...] = ((year, month, day),)
            readings = readings if _valid(year, month, day) else ()
        else:
            year = int(match["last"]) + (2000 if len(match["last"]) == 2 else 0)
            first, second = int(text[match.start() : match.start("sep2")]), int(match["second"])
            readings = _numeric_readings(first, second, year, match["sep2"])
        if readings:
            yield DateMention(match.start(), match.end(), match[0], readings)


def _month(word: str) -> int | None:
    month = _MONTHS.get(word.lower())
    if month is None or (word.lower() in _NEEDS_CAPITAL and word[0].islower()):
        return None
    return month


def _named_month_mentions(text: str) -> Iterator[DateMention]:
    for match in _DAY_NUMBER.finditer(text):
        mention = _month_first(text, match) or _day_first(text, match)
        if mention is not None:
            yield mention


def _month_first(text: str, day: re.Match[str]) -> DateMention | None:
    reach = max(0, day.start() - _MONTH_WORD_REACH)
    before = _MONTH_BEFORE_DAY.search(text, reach, day.start())
    if before is None or (month := _month(before[1])) is None:
        return None
    after = _YEAR_AFTER_DAY.match(text, day.end())
    if after is None:
        return None
    return _named_mention(text, before.start(), after.end(), after[1], month, int(day[0]))


def _day_first(text: str, day: re.Match[str]) -> DateMention | None:
    after = _MONTH_AFTER_DAY.match(text, day.end())
    if after is None or (month := _month(after[1])) is None:
        return None
    return _named_mention(text, day.start(), after.end(), after[2], month, int(day[0]))


def _named_mention(
    text: str, start: int, end: int, year_text: str | None, month: int, day: int
) -> DateMention | None:
    year = int(year_text) if year_text else None
    if not _valid(year, month, day):
        return None
    return DateMention(start, end, text[start:end], ((year, month, day),))


def scan_dates(text: str) -> list[DateMention]:
    """Written dates in order of appearance; a span two patterns both read counts once."""
    if _ANY_DIGIT.search(text) is None:
        return []
    found = sorted([*_numeric_mentions(text), *_named_month_mentions(text)], key=lambda m: m.start)
    kept: list[DateMention] = []
    for mention in found:
        if not kept or mention.start >= kept[-1].end:
            kept.append(mention)
    return kept


def _resolve_year(reading: Reading, today: date) -> date | None:
    """A date without a year is the latest one not after the ticket: customers write of the past."""
    year, month, day = reading
    if year is not None:
        return date(year, month, day)
    for candidate_year in (today.year, today.year - 1):
        if _valid(candidate_year, month, day) and date(candidate_year, month, day) <= today:
            return date(candidate_year, month, day)
    return None


def ticket_dates(text: str, lowered: str, today: date) -> list[date]:
    """Dates the ticket mentions, in order; ambiguous ones ("05/03/2024") are left out."""
    spotted: list[tuple[int, date]] = []
    for mention in scan_dates(text):
        if len(mention.readings) == 1 and (day := _resolve_year(mention.readings[0], today)):
            spotted.append((mention.start, day))
    if any(stem in lowered for stem in _RELATIVE_STEMS):
        for match in _RELATIVE_DAY.finditer(text):
            back = 2 if match["two"] else 1 if match["one"] else 0
            spotted.append((match.start(), today - timedelta(days=back)))
    spotted.sort(key=lambda pair: pair[0])
    return list(dict.fromkeys(day for _, day in spotted))
