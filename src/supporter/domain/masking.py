"""Card-number masking, applied as text is read so no full number is ever kept.

A card number is 13 to 19 digits, optionally grouped by spaces or dashes (one to
three between groups, no-break spaces and typographic dashes included), that
passes the Luhn check. Runs of grouped digits longer than that
are searched for any span of whole groups that is a card number, so a card
written right after an order number is still found. A labelled security code
(CVV, CVC, ...) is removed wherever it stands, and an expiry date is removed
when it follows a card number closely or carries a label.
"""

from __future__ import annotations

import re

# What may stand between the groups of a card number: spaces and dashes, one or a few,
# including the no-break and thin spaces and the typographic dashes that HTML bodies
# (`&nbsp;`, `&ndash;`) and word processors put there.
_SEPARATOR_CHAR = "[ \\-\u00a0\u2007\u2009\u202f\u2010\u2011\u2012\u2013]"
_SEPARATOR = f"{_SEPARATOR_CHAR}{{1,3}}"
_DIGIT_RUN = re.compile(rf"(?<![\d])\d+(?:{_SEPARATOR}\d+)*(?![\d])")
_GROUP_SEPARATOR = re.compile(f"({_SEPARATOR})")
_SECURITY_CODE = re.compile(
    r"\b(?:cvv2?|cvc2?|cid|csc|security\s+code|card\s+verification(?:\s+code)?)\b"
    r"\s*(?:is|:|=|#|-)?\s*\d{3,4}\b",
    re.IGNORECASE,
)
_LABELLED_EXPIRY = re.compile(
    r"\b(?:exp(?:iry|iration|ires)?(?:\s+date)?|valid\s+(?:thru|through|until))\b\.?"
    r"\s*(?:is|:|=|-)?\s*(?:0?[1-9]|1[0-2])\s*[/-]\s*(?:\d{4}|\d{2})\b",
    re.IGNORECASE,
)
_EXPIRY_AFTER_CARD = re.compile(r"^(\W{0,3}.{0,20}?)\b(?:0?[1-9]|1[0-2])\s*/\s*(?:\d{4}|\d{2})\b")
_HAS_DIGIT = re.compile(r"\d")
# A card needs 13 digits in one run of groups: text without 13 digits in a row (each
# pair at most a separator apart) has no card number, and most text has not.
_THIRTEEN_DIGITS = re.compile(rf"\d(?:{_SEPARATOR_CHAR}{{0,3}}\d){{12}}")
# The same question for ASCII text, asked several times faster than the expression asks it
# (it tries every digit as a start): with its separators (space, dash) dropped, every digit
# made 0 and everything else x, thirteen such digits leave thirteen 0s in a row.
_ZERO_FOR_DIGIT = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x78 for byte in range(256))
_THIRTEEN_ZEROS = b"0" * 13
# Cheap pre-filters: the labelled patterns are costly, the labels rare.
_SECURITY_LABEL = re.compile(r"cv|cid|csc|secur|verif", re.IGNORECASE)
_EXPIRY_LABEL = re.compile(r"exp|valid", re.IGNORECASE)
_ANY_LABEL = re.compile(f"{_SECURITY_LABEL.pattern}|{_EXPIRY_LABEL.pattern}", re.IGNORECASE)
# ASCII text lowered first: searched case-sensitively, several times faster.
_ANY_LABEL_LOWER = re.compile(_ANY_LABEL.pattern)
MASK_PREFIX = "**** "
_MASKED_CARD = re.compile(r"\*{4} \d{4}")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _is_card(digits: str) -> bool:
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def _mask_run(run: str) -> str:
    """Mask every card number made of whole groups inside one run of digit groups."""
    parts = _GROUP_SEPARATOR.split(run)
    groups = parts[0::2]
    seps = parts[1::2]
    masked: list[str | None] = list(groups)
    start = 0
    while start < len(groups):
        found = None
        digits = ""
        for end in range(start, len(groups)):
            digits += groups[end]
            if len(digits) > 19:
                break
            if _is_card(digits):
                found = end  # keep looking: the longest span wins
        if found is None:
            start += 1
            continue
        last4 = "".join(groups[start : found + 1])[-4:]
        masked[start] = MASK_PREFIX + last4
        for index in range(start + 1, found + 1):
            masked[index] = None
        start = found + 1
    out: list[str] = []
    for index, group in enumerate(masked):
        if group is None:
            continue
        if out and index > 0:
            out.append(seps[index - 1])
        out.append(group)
    return "".join(out)


def mask_card_numbers(text: str) -> str:
    """Return `text` with every card number masked to its last four digits.

    Security codes and expiry dates that belong to a card are removed too.
    """
    if not _HAS_DIGIT.search(text):
        return text
    # `may_hold_card_data`, with its thirteen-digit answer kept for the card search.
    card_digits = _has_thirteen_digits(text)
    if not card_digits and MASK_PREFIX not in text and not _has_label(text):
        return text  # most text: nothing to mask, and that known cheaply
    if card_digits:
        text = _DIGIT_RUN.sub(lambda match: _mask_run(match.group(0)), text)
    if _SECURITY_LABEL.search(text):
        text = _SECURITY_CODE.sub("[removed]", text)
    if _EXPIRY_LABEL.search(text):
        text = _LABELLED_EXPIRY.sub("[removed]", text)
    if MASK_PREFIX in text:
        text = _remove_expiry_after_cards(text)
    return text


def may_hold_card_data(text: str) -> bool:
    """False when `mask_card_numbers` would leave `text`, and any part of it, as it is: one
    look can clear several values joined together."""
    return MASK_PREFIX in text or _has_label(text) or _has_thirteen_digits(text)


def _has_label(text: str) -> bool:
    if text.isascii():
        return _ANY_LABEL_LOWER.search(text.lower()) is not None
    return _ANY_LABEL.search(text) is not None


def _has_thirteen_digits(text: str) -> bool:
    if text.isascii():
        return _THIRTEEN_ZEROS in text.encode().translate(_ZERO_FOR_DIGIT, b" -")
    return _THIRTEEN_DIGITS.search(text) is not None


def _remove_expiry_after_cards(text: str) -> str:
    out: list[str] = []
    position = 0
    for match in _MASKED_CARD.finditer(text):
        if match.start() < position:
            continue
        out.append(text[position : match.end()])
        rest = text[match.end() :]
        expiry = _EXPIRY_AFTER_CARD.match(rest)
        if expiry:
            out.append(expiry.group(1) + "[removed]")
            position = match.end() + expiry.end()
        else:
            position = match.end()
    out.append(text[position:])
    return "".join(out)


def contains_card_number(text: str) -> bool:
    """True when `text` still holds a full card number (used by tests and output guards)."""
    if not _has_thirteen_digits(text):
        return False
    return any(_mask_run(match.group(0)) != match.group(0) for match in _DIGIT_RUN.finditer(text))


# Query parameters that carry a secret (redis-py takes `?password=`, Kafka clients
# `sasl_plain_password`, TLS settings a key's passphrase): their values are hidden.
_SECRET_PARAMETERS = ("pass", "secret", "token", "key", "auth", "cred")


def masked_url(url: str) -> str:
    """`url` with its password replaced by `***`, for messages: the one before the `@`
    and any query parameter named like a secret (`?password=`). Also for a URL that
    does not parse: everything between the user's colon and the last `@` is hidden."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    rest, question, query = rest.partition("?")
    if question:
        query = "&".join(_masked_parameter(parameter) for parameter in query.split("&"))
    user_info, at, place = rest.rpartition("@")
    if at and ":" in user_info:
        rest = f"{user_info.split(':', 1)[0]}:***@{place}"
    return f"{scheme}://{rest}{question}{query}"


def _masked_parameter(parameter: str) -> str:
    name, equals, _ = parameter.partition("=")
    if equals and any(word in name.lower() for word in _SECRET_PARAMETERS):
        return f"{name}=***"
    return parameter
