"""The default taxonomy and loading a user's own."""

import pytest

from supporter.analysis.taxonomy import DEFAULT_TAXONOMY, load_taxonomy
from supporter.llm.base import Category

DEFAULT_NAMES = [
    "billing_question",
    "refund_request",
    "duplicate_charge",
    "payment_failed",
    "unrecognized_charge",
    "subscription_cancellation",
    "account_access",
    "technical_issue",
    "general_inquiry",
]


def test_default_taxonomy_has_the_nine_categories_in_order() -> None:
    assert [category.name for category in DEFAULT_TAXONOMY] == DEFAULT_NAMES


@pytest.mark.parametrize("category", DEFAULT_TAXONOMY, ids=lambda category: category.name)
def test_every_default_category_is_described_and_has_cues(category: Category) -> None:
    assert len(category.description) > 40
    assert len(category.keywords) >= 20
    assert all(keyword == keyword.strip().lower() for keyword in category.keywords)


@pytest.mark.parametrize(
    ("name", "keywords"),
    [
        # One cue per language: en, es, fr, de, pt, it, nl.
        (
            "refund_request",
            ["refund*^2.5", "reembols*^2.5", "rembours*^2.5", "ruckerstatt*^2.5",
             "devolucao^2", "rimbors*^2.5", "terugbetal*^2.5"],
        ),
        (
            "duplicate_charge",
            ["charged twice^3", "dos veces^2.5", "deux fois^2.5", "zweimal^2.5",
             "duas vezes^2.5", "due volte^2.5", "twee keer^2.5"],
        ),
        (
            "account_access",
            ["password*^2.5", "contrasena^2.5", "mot de passe^2.5", "passwort^2.5",
             "senha^2.5", "dimenticat*^1.5", "wachtwoord^2.5"],
        ),
    ],
)  # fmt: skip
def test_default_keywords_cover_the_supported_languages(name: str, keywords: list[str]) -> None:
    category = next(category for category in DEFAULT_TAXONOMY if category.name == name)
    assert set(keywords) <= set(category.keywords)


def test_loading_the_defaults_as_plain_data_gives_them_back() -> None:
    entries = [category.model_dump() for category in DEFAULT_TAXONOMY]
    assert load_taxonomy(entries) == DEFAULT_TAXONOMY


def test_load_taxonomy_builds_categories_and_tidies_text() -> None:
    loaded = load_taxonomy(
        [
            {"name": " shipping ", "description": " Where is my parcel ", "keywords": [" Parcel*"]},
            {"name": "other"},
        ]
    )
    assert loaded == [
        Category(name="shipping", description="Where is my parcel", keywords=["parcel*"]),
        Category(name="other", description="", keywords=[]),
    ]


def test_duplicate_names_are_refused_whatever_their_case() -> None:
    with pytest.raises(ValueError, match=r"#2: name 'Refunds' is already used by entry #1"):
        load_taxonomy([{"name": "refunds"}, {"name": "Refunds"}])


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"description": "no name"}, r"#1: 'name' must be a non-empty string"),
        ({"name": "   "}, r"#1: 'name' must be a non-empty string"),
        ({"name": 7}, r"#1: 'name' must be a non-empty string"),
        ({"name": "a", "keyword": ["x"]}, r"unknown field\(s\) keyword"),
        ({"name": "a", "keywords": "refund"}, r"\('a'\): 'keywords' must be a list of strings"),
        ({"name": "a", "keywords": ["ok", ""]}, r"every keyword must be a non-empty string"),
        ({"name": "a", "keywords": ["ok", 3]}, r"every keyword must be a non-empty string"),
        ({"name": "a", "description": ["x"]}, r"'description' must be a string"),
        ({"name": "a", "keywords": ["refund^two"]}, r"write a boost as text\^N"),
        ({"name": "a", "keywords": ["refund^0"]}, r"write a boost as text\^N"),
        ({"name": "a", "keywords": ["^2"]}, r"write a boost as text\^N"),
    ],
)
def test_bad_entries_are_refused_with_a_message_that_names_them(
    entry: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        load_taxonomy([entry])


def test_an_entry_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(ValueError, match="#2: expected a mapping"):
        load_taxonomy([{"name": "a"}, ["b"]])  # type: ignore[list-item]


def test_an_empty_taxonomy_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        load_taxonomy([])


def test_a_valid_boost_is_kept() -> None:
    [category] = load_taxonomy([{"name": "a", "keywords": ["refund*^2", "pending ^ 0.5"]}])
    assert category.keywords == ["refund*^2", "pending ^ 0.5"]
