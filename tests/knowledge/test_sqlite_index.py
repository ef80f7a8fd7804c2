"""The FTS5 knowledge index: incremental updates, ranking, languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from supporter.knowledge.documents import Document, Section
from supporter.knowledge.sqlite import KnowledgeIndexError, SqliteKnowledgeIndex


def article(article_id: str, text: str, language: str | None = "en", title: str = "") -> Document:
    return Document(
        article_id=article_id,
        title=title or article_id,
        sections=[Section("", text)],
        source=f"{article_id}.md",
        language=language,
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


@pytest.fixture
def index(tmp_path: Path) -> SqliteKnowledgeIndex:
    built = SqliteKnowledgeIndex(tmp_path / "knowledge.db")
    built.update(HELP_CENTER)
    return built


def test_update_reports_added_changed_removed_and_unchanged(index: SqliteKnowledgeIndex) -> None:
    edited = article("fees", "A currency conversion fee of 2% applies.", title="Fees")
    new = article("chargebacks", "A chargeback costs a fee of 15 EUR.", title="Chargebacks")
    changes = index.update([*HELP_CENTER[:2], edited, HELP_CENTER[3], new])
    assert (changes.added, changes.changed, changes.removed) == (
        ["chargebacks"],
        ["fees"],
        ["kuendigen"],
    )
    assert (changes.unchanged, changes.passages) == (3, 5)
    assert index.passages(["fees#1"])["fees#1"].text.startswith("A currency conversion fee of 2%")
    assert index.search("kündigen Abonnement", language="de", limit=5) == []
    again = index.update([*HELP_CENTER[:2], edited, HELP_CENTER[3], new])
    assert (again.added, again.changed, again.removed, again.unchanged) == ([], [], [], 5)


def test_stemmed_words_find_the_right_article_in_each_language(
    index: SqliteKnowledgeIndex,
) -> None:
    english = index.search("I was charged and want a refund", language="en", limit=3)
    assert english[0].passage.article_id == "refunds"
    assert english[0].score > 0
    german = index.search("Ich möchte mein Abo kündigen", language="de", limit=3)
    assert german[0].passage.article_id == "kuendigen"
    assert {hit.passage.language for hit in german} == {"de"}
    # Refunded / Rückerstattungen: the stemmer meets the word's other forms.
    assert index.search("Rückerstattungen", language="de", limit=1)[0].passage.article_id == (
        "erstattung"
    )


def test_a_language_without_articles_searches_all(index: SqliteKnowledgeIndex) -> None:
    hits = index.search("refund charge", language="fr", limit=5)
    assert hits[0].passage.article_id == "refunds"


def test_passages_of_no_language_serve_every_language(index: SqliteKnowledgeIndex) -> None:
    index.update([*HELP_CENTER, article("kontakt", "Abonnement Hotline 0800", language=None)])
    found = {hit.passage.article_id for hit in index.search("Abonnement", language="de", limit=5)}
    assert found == {"kuendigen", "kontakt"}


def test_queries_with_fts_syntax_or_nothing_indexable(index: SqliteKnowledgeIndex) -> None:
    assert index.search('refund" OR NEAR(x) *', language="en", limit=2)[0].passage.article_id == (
        "refunds"
    )
    assert index.search("?!", language="en", limit=5) == []
    assert index.search("refund", language="en", limit=0) == []


def test_the_index_persists_and_another_reader_sees_updates(tmp_path: Path) -> None:
    path = tmp_path / "knowledge.db"
    writer = SqliteKnowledgeIndex(path)
    writer.update(HELP_CENTER)
    reader = SqliteKnowledgeIndex(path)
    assert reader.search("refund", language="en", limit=1)[0].passage.article_id == "refunds"
    writer.close()
    reader.close()


def test_an_index_of_another_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "knowledge.db"
    SqliteKnowledgeIndex(path).close()
    import sqlite3

    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '0' WHERE key = 'format'")
    with pytest.raises(KnowledgeIndexError, match="format 0"):
        SqliteKnowledgeIndex(path)
    (tmp_path / "notadb").write_text("x" * 200)
    with pytest.raises(KnowledgeIndexError, match="cannot open the knowledge index"):
        SqliteKnowledgeIndex(tmp_path / "notadb")


def test_common_words_give_way_to_rare_ones_past_the_match_budget() -> None:
    filler = [article(f"faq{n}", f"Your account and your plan, question {n}.") for n in range(30)]
    documents = [*filler, article("vat", "Add your VAT number to your account.")]
    query = "Your account plan question: VAT number please"
    index = SqliteKnowledgeIndex(":memory:", match_budget=10)
    index.update(documents)
    # Rarest first; past the budget only the minimum of four words is kept.
    kept = index._query_terms(query, "en")
    assert kept[:2] == ["vat", "number"]
    assert len(kept) == 4
    assert index.search(query, language="en", limit=3)[0].passage.article_id == "vat"
    unbounded = SqliteKnowledgeIndex(":memory:")
    unbounded.update(documents)
    assert len(unbounded._query_terms(query, "en")) == 6
