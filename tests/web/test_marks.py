"""Grounding problems marked where they are in the draft."""

from __future__ import annotations

from supporter.web.marks import Piece, marked


def test_each_problem_marks_what_it_names_and_the_rest_is_left_as_it_is() -> None:
    body = "We refunded 19.99 EUR on 2 May (tx_9). Regards"
    problems = [
        "amount 19.99 EUR not in the customer's transactions",
        "cites tx_9, which is not one of the customer's transactions",
        "the draft promises a refund",
    ]
    assert marked(body, problems) == [
        Piece("We refunded "),
        Piece("19.99 EUR", problems[0]),
        Piece(" on 2 May ("),
        Piece("tx_9", problems[1]),
        Piece("). Regards"),
    ]


def test_a_problem_whose_words_are_not_in_the_text_marks_its_first_word_or_nothing() -> None:
    body = "We refunded 19.99 on 2 May."
    problems = ["amount 19.99 EUR not in the customer's transactions", "date 3 June not a date"]
    assert marked(body, problems) == [
        Piece("We refunded "),
        Piece("19.99", problems[0]),
        Piece(" on 2 May."),
    ]
    assert "".join(piece.text for piece in marked(body, problems)) == body
