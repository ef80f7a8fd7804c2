"""The cue matcher: which keywords and phrases it finds in a ticket's tokens."""

from __future__ import annotations

import pytest

from supporter.llm.offline import matching
from supporter.llm.offline.matching import CueMatcher, Hit, build_cues
from supporter.llm.offline.text import tokenize

LEXICON = [
    (0, ["refund*", "money back", "cancel my subscription"], 1.0),
    (1, ["charged twice", "charge*", "twice"], 1.0),
    (2, ["card", "not authori*"], 1.0),
]


def found(hits: list[Hit]) -> list[tuple[str, tuple[int, ...]]]:
    return sorted((hit.cue.text, hit.positions) for hit in hits)


def test_words_phrases_and_endings_are_found_where_they_stand() -> None:
    matcher = CueMatcher(build_cues(LEXICON))
    tokens = tokenize("I was charged twice, I want my money back and a refunded card")
    assert found(matcher.find(tokens)) == [
        ("card", (12,)),
        ("charged twice", (2, 3)),
        ("money back", (7, 8)),
        ("refund*", (11,)),
    ]


def test_the_longer_of_two_overlapping_phrases_wins() -> None:
    matcher = CueMatcher(build_cues(LEXICON))
    # "charged twice" and "twice" overlap: the phrase takes both words.
    assert found(matcher.find(tokenize("charged twice"))) == [("charged twice", (0, 1))]
    # The words of a phrase may stand a little apart, never far.
    near = tokenize("cancel my yearly subscription")
    assert found(matcher.find(near)) == [("cancel my subscription", (0, 1, 3))]
    assert matcher.find(tokenize("cancel my very old yearly subscription")) == []


def test_a_repeated_word_is_a_hit_at_each_position() -> None:
    matcher = CueMatcher(build_cues(LEXICON))
    tokens = tokenize("card card, CARD")
    assert found(matcher.find(tokens)) == [("card", (0,)), ("card", (1,)), ("card", (2,))]


def test_tokens_without_cues_find_nothing() -> None:
    matcher = CueMatcher(build_cues(LEXICON))
    assert matcher.find(tokenize("hello there, how are you")) == []
    assert matcher.find([]) == []
    # A stem is no word of its own: "refund*" needs the stem at a word's start.
    assert matcher.find(tokenize("unrefunded cards")) == []


def test_what_it_remembers_between_tickets_does_not_change_what_it_finds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    texts = [
        "I was charged twice, I want my money back",
        "not authorised: this card was charged",
        "cancel my subscription and refund me",
        "charged twice? refund the card",
    ] * 3
    expected = [found(CueMatcher(build_cues(LEXICON)).find(tokenize(text))) for text in texts]
    # A limit smaller than one ticket's tokens: the matcher forgets them mid-run.
    monkeypatch.setattr(matching, "_MEMO_LIMIT", 4)
    small = CueMatcher(build_cues(LEXICON))
    assert [found(small.find(tokenize(text))) for text in texts] == expected
    shared = CueMatcher(build_cues(LEXICON))
    monkeypatch.setattr(matching, "_MEMO_LIMIT", 50_000)
    assert [found(shared.find(tokenize(text))) for text in texts] == expected


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("I didn't get it", ["i", "did", "not", "get", "it"]),
        ("I didnt get it, it wasn't", ["i", "did", "not", "get", "it", "it", "was", "not"]),
        ("I cannot pay", ["i", "can", "not", "pay"]),
        ("Won't work", ["will", "not", "work"]),
        ("a t-shirt, t", ["a", "t", "shirt", "t"]),
        ("Réembolsó ça", ["reembolso", "ca"]),
    ],
)
def test_tokens_spell_out_negative_contractions(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens
