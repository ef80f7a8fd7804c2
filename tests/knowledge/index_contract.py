"""What every knowledge-index adapter does, run against each (`test_sqlite`, `test_postgres`):
incremental updates, ranking in two languages, filters, and the embeddings it keeps."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from supporter.knowledge.base import IndexWithVectors
from supporter.knowledge.documents import Document, Section

# Opens the index under test: a new handle on the same storage each call, made with
# this match budget (None: the default).
OpenIndex = Callable[..., Awaitable[IndexWithVectors]]


def article(
    article_id: str,
    text: str,
    language: str | None = "en",
    title: str = "",
    **extra: object,
) -> Document:
    return Document(
        article_id=article_id,
        title=title or article_id,
        sections=[Section("", text)],
        source=f"{article_id}.md",
        language=language,
        **extra,  # type: ignore[arg-type]
    )


HELP_CENTER = [
    article("refunds", "You can ask for a refund within 14 days of the charge.", title="Refunds"),
    article(
        "cancel", "Cancel your subscription in Settings, Billing, Cancel plan.", title="Cancel"
    ),
    article("fees", "A currency conversion fee of 1.5% applies to payments abroad.", title="Fees"),
    article(
        "erstattung",
        "Eine Rückerstattung ist innerhalb von 14 Tagen nach der Abbuchung möglich.",
        "de",
        "Rückerstattungen",
    ),
    article(
        "kuendigen", "Sie können Ihr Abonnement in den Einstellungen kündigen.", "de", "Kündigung"
    ),
]


class IndexContract:
    """Subclasses provide the `open_index` fixture."""

    @pytest.fixture
    async def index(self, open_index: OpenIndex) -> IndexWithVectors:
        built = await open_index()
        await built.update(HELP_CENTER)
        return built

    async def test_update_reports_added_changed_removed_and_unchanged(
        self, index: IndexWithVectors
    ) -> None:
        edited = article("fees", "A currency conversion fee of 2% applies.", title="Fees")
        new = article("chargebacks", "A chargeback costs a fee of 15 EUR.", title="Chargebacks")
        changes = await index.update([*HELP_CENTER[:2], edited, HELP_CENTER[3], new])
        assert (changes.added, changes.changed, changes.removed) == (
            ["chargebacks"],
            ["fees"],
            ["kuendigen"],
        )
        assert (changes.unchanged, changes.passages) == (3, 5)
        fees = (await index.passages(["fees#1"]))["fees#1"]
        assert fees.text.startswith("A currency conversion fee of 2%")
        assert await index.search("kündigen Abonnement", language="de", limit=5) == []
        # The removed words are gone from the ranking, the new ones are in it.
        assert await index.search("abroad", language="en", limit=5) == []
        found = await index.search("chargeback fee", language="en", limit=1)
        assert found[0].passage.article_id == "chargebacks"
        again = await index.update([*HELP_CENTER[:2], edited, HELP_CENTER[3], new])
        assert (again.added, again.changed, again.removed, again.unchanged) == ([], [], [], 5)

    async def test_stemmed_words_find_the_right_article_in_each_language(
        self, index: IndexWithVectors
    ) -> None:
        english = await index.search("I was charged and want a refund", language="en", limit=3)
        assert english[0].passage.article_id == "refunds"
        assert english[0].score > 0
        german = await index.search("Ich möchte mein Abo kündigen", language="de", limit=3)
        assert german[0].passage.article_id == "kuendigen"
        assert {hit.passage.language for hit in german} == {"de"}
        # Refunded / Rückerstattungen: the stemmer meets the word's other forms.
        found = await index.search("Rückerstattungen", language="de", limit=1)
        assert found[0].passage.article_id == "erstattung"

    async def test_the_title_weighs_more_than_the_body(self, open_index: OpenIndex) -> None:
        index = await open_index()
        await index.update(
            [
                article("body", "Notes. Invoices are sent monthly.", title="Notes"),
                article("title", "Notes. They are sent monthly.", title="Invoices"),
            ]
        )
        hits = await index.search("invoices", language="en", limit=2)
        assert [hit.passage.article_id for hit in hits] == ["title", "body"]
        assert hits[0].score > hits[1].score

    async def test_a_language_without_articles_searches_all(self, index: IndexWithVectors) -> None:
        hits = await index.search("refund charge", language="fr", limit=5)
        assert hits[0].passage.article_id == "refunds"

    async def test_passages_of_no_language_serve_every_language(
        self, index: IndexWithVectors
    ) -> None:
        await index.update(
            [*HELP_CENTER, article("kontakt", "Abonnement Hotline 0800", language=None)]
        )
        hits = await index.search("Abonnement", language="de", limit=5)
        assert {hit.passage.article_id for hit in hits} == {"kuendigen", "kontakt"}

    async def test_queries_with_query_syntax_or_nothing_indexable(
        self, index: IndexWithVectors
    ) -> None:
        hits = await index.search("refund\" OR NEAR(x) * ' | !& :*", language="en", limit=2)
        assert hits[0].passage.article_id == "refunds"
        assert await index.search("?!", language="en", limit=5) == []
        assert await index.search("refund", language="en", limit=0) == []

    async def test_saved_replies_by_category_and_kind_filter(self, open_index: OpenIndex) -> None:
        index = await open_index()
        macro = article(
            "macro-refund",
            "We have your refund request about {{amount}}.",
            kind="saved_reply",
            category="refund_request",
        )
        anywhere = article(
            "macro-any",
            "Your refund request is with us.",
            language=None,
            kind="saved_reply",
            category="refund_request",
        )
        await index.update([*HELP_CENTER, macro, anywhere])
        replies = await index.saved_replies("refund_request", "en")
        assert [passage.passage_id for passage in replies] == ["macro-refund#1", "macro-any#1"]
        assert [p.passage_id for p in await index.saved_replies("refund_request", "de")] == [
            "macro-any#1"
        ]
        assert await index.saved_replies("fraud_report", "en") == []
        articles = await index.search("refund request", language="en", limit=5, kind="article")
        assert {hit.passage.kind for hit in articles} == {"article"}
        replies_found = await index.search(
            "refund request", language="en", limit=5, kind="saved_reply"
        )
        assert {hit.passage.article_id for hit in replies_found} == {"macro-refund", "macro-any"}

    async def test_another_reader_sees_what_was_indexed(
        self, index: IndexWithVectors, open_index: OpenIndex
    ) -> None:
        reader = await open_index()
        found = await reader.search("refund", language="en", limit=1)
        assert found[0].passage.article_id == "refunds"
        await reader.close()

    async def test_common_words_give_way_to_rare_ones_past_the_match_budget(
        self, open_index: OpenIndex
    ) -> None:
        filler = [
            article(f"faq{n}", f"Your account and your plan, question {n}.") for n in range(30)
        ]
        index = await open_index(match_budget=10)
        await index.update([*filler, article("vat", "Add your VAT number to your account.")])
        hits = await index.search(
            "Your account plan question: VAT number please", language="en", limit=3
        )
        assert hits[0].passage.article_id == "vat"

    async def test_embeddings_are_kept_until_their_passage_changes_or_goes(
        self, index: IndexWithVectors
    ) -> None:
        waiting = await index.passages_without_vectors("encoder-a")
        assert {passage.passage_id for passage in waiting} == {
            f"{document.article_id}#1" for document in HELP_CENTER
        }
        await index.store_vectors(
            "encoder-a", {p.passage_id: bytes([n]) * 8 for n, p in enumerate(waiting)}
        )
        assert await index.passages_without_vectors("encoder-a") == []
        # Another encoder's embeddings are not these.
        assert len(await index.passages_without_vectors("encoder-b")) == len(HELP_CENTER)
        edited = article("fees", "A currency conversion fee of 2% applies.", title="Fees")
        await index.update([*HELP_CENTER[:2], edited, *HELP_CENTER[3:4]])
        assert [p.passage_id for p in await index.passages_without_vectors("encoder-a")] == [
            "fees#1"
        ]
        kept = {vector.passage_id: vector for vector in await index.vectors("encoder-a")}
        assert set(kept) == {"refunds#1", "cancel#1", "erstattung#1"}
        assert kept["erstattung#1"].language == "de"
        assert kept["erstattung#1"].kind == "article"
        assert kept["refunds#1"].vector == bytes([0]) * 8
        await index.store_vectors("encoder-a", {"refunds#1": b"\x09" * 8})
        replaced = {vector.passage_id: vector for vector in await index.vectors("encoder-a")}
        assert replaced["refunds#1"].vector == b"\x09" * 8
        assert await index.vectors("encoder-b") == []
