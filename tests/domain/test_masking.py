import pytest
from hypothesis import given
from hypothesis import strategies as st

from supporter.domain import masking
from supporter.domain.masking import (
    contains_card_number,
    luhn_valid,
    mask_card_numbers,
    may_hold_card_data,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("card 4111 1111 1111 1111 thanks", "card **** 1111 thanks"),
        ("4111-1111-1111-1111", "**** 1111"),
        ("4111111111111111", "**** 1111"),
        ("amex 3782 822463 10005.", "amex **** 0005."),
        ("order 12345 4111 1111 1111 1111", "order 12345 **** 1111"),
        ("my card 5500 0000 0000 0004 12/26", "my card **** 0004 [removed]"),
        ("card 4111111111111111 exp 04/27, CVV 123", "card **** 1111 [removed], [removed]"),
        # As HTML bodies and word processors write them: no-break spaces (&nbsp;), en
        # dashes, narrow no-break spaces, doubled spaces.
        ("card 4111\u00a01111\u00a01111\u00a01111.", "card **** 1111."),
        ("4111\u20131111\u20131111\u20131111", "**** 1111"),
        ("4111\u202f1111\u202f1111\u202f1111", "**** 1111"),
        ("4111  1111 - 1111  1111", "**** 1111"),
    ],
)
def test_card_numbers_are_masked_to_their_last_four(text: str, expected: str) -> None:
    assert mask_card_numbers(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "order 1234567890123",  # 13 digits, not Luhn-valid
        "phone +44 20 7946 0958",
        "charged 49.99 on 2024-05-01",
        "ref 4111 1111 1111 1112",  # Luhn fails
        "no digits at all",
    ],
)
def test_other_numbers_are_left_alone(text: str) -> None:
    assert mask_card_numbers(text) == text


def test_luhn() -> None:
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")


def luhn_complete(prefix: str) -> str:
    for digit in "0123456789":
        if luhn_valid(prefix + digit):
            return prefix + digit
    raise AssertionError


@given(
    digits=st.text(alphabet="0123456789", min_size=12, max_size=18),
    separator=st.sampled_from(["", " ", "-", "\u00a0", "\u2013", "  ", " - "]),
    # Surrounding digits could join the kept last four into a new digit run; cases with
    # digit neighbours are the parametrized ones above.
    before=st.text(alphabet=st.characters(blacklist_categories=["Nd"]), max_size=20),
    after=st.text(alphabet=st.characters(blacklist_categories=["Nd"]), max_size=20),
)
def test_no_card_number_survives_masking(
    digits: str, separator: str, before: str, after: str
) -> None:
    card = luhn_complete(digits)
    written = separator.join(card[i : i + 4] for i in range(0, len(card), 4))
    masked = mask_card_numbers(f"{before} {written} {after}")
    assert card not in "".join(char for char in masked if char.isdigit() or char == "*")
    assert not contains_card_number(masked)
    assert f"**** {card[-4:]}" in masked


def _every_run_examined(text: str) -> str:
    """The masking as it was before its 13-digit pre-check: every run of digit groups
    examined, whatever its length."""
    text = masking._DIGIT_RUN.sub(lambda match: masking._mask_run(match.group(0)), text)
    text = masking._SECURITY_CODE.sub("[removed]", text)
    text = masking._LABELLED_EXPIRY.sub("[removed]", text)
    if masking.MASK_PREFIX in text:
        text = masking._remove_expiry_after_cards(text)
    return text


@given(
    st.lists(
        st.sampled_from(
            [*"0123456789", " ", "-", "\u00a0", "\u2013", "/", "x", "\n", "cvv ", "exp ", "**** "]
        ),
        max_size=60,
    ).map("".join)
)
def test_the_pre_checks_skip_only_text_without_a_card(text: str) -> None:
    assert mask_card_numbers(text) == _every_run_examined(text)
    runs = [match.group(0) for match in masking._DIGIT_RUN.finditer(text)]
    assert contains_card_number(text) == any(masking._mask_run(run) != run for run in runs)


@given(
    st.lists(
        st.sampled_from(
            [*"0123456789", " ", "-", "\u00a0", "\u2013", "/", "x", "\n", "CVV ", "Exp ", "**** "]
        ),
        max_size=60,
    ).map("".join),
    st.integers(0, 60),
    st.integers(0, 60),
)
def test_text_cleared_as_holding_no_card_data_is_left_alone_in_every_part(
    text: str, start: int, end: int
) -> None:
    if not may_hold_card_data(text):
        assert _every_run_examined(text) == text
        assert _every_run_examined(text[start:end]) == text[start:end]
