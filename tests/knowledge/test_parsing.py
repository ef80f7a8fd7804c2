"""Reading articles and saved replies: Markdown, HTML, text, Zendesk exports, CSV and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from supporter.knowledge.documents import MAX_PASSAGE_CHARS, Document, KnowledgeError, passages
from supporter.knowledge.folder import read_knowledge


def read(root: Path) -> tuple[dict[str, Document], list[str]]:
    problems: list[KnowledgeError] = []
    documents = {d.article_id: d for d in read_knowledge(root, problems.append)}
    return documents, [str(problem) for problem in problems]


def test_markdown_front_matter_and_sections(tmp_path: Path) -> None:
    (tmp_path / "refunds.md").write_text(
        "---\nid: refund-policy\ntitle: Refund policy\nlanguage: en-GB\ntags: [refunds, billing]\n"
        "---\n# Refund policy\n\nWho can ask.\n\n## Refund window\n\nWithin 14 days.\n\n"
        "```\n# not a heading\n```\n\n## How refunds are paid\nTo the card.\n",
        encoding="utf-8",
    )
    documents, problems = read(tmp_path)
    assert problems == []
    document = documents["refund-policy"]
    assert (document.title, document.language, document.tags) == (
        "Refund policy",
        "en",
        ("refunds", "billing"),
    )
    found = passages(document)
    assert [(p.passage_id, p.heading) for p in found] == [
        ("refund-policy#1", ""),
        ("refund-policy#2", "Refund window"),
        ("refund-policy#3", "How refunds are paid"),
    ]
    assert "# not a heading" in found[1].text
    assert found[2].text == "To the card."


def test_markdown_without_front_matter_takes_its_path_and_heading(tmp_path: Path) -> None:
    (tmp_path / "billing").mkdir()
    (tmp_path / "billing" / "fees.md").write_text("# Our fees\n\nNo monthly fee.\n")
    (tmp_path / "notes.txt").write_text("Plain words.\n\n\n\nMore words.\n")
    documents, _ = read(tmp_path)
    assert documents["billing/fees"].title == "Our fees"
    assert documents["billing/fees"].language is None
    assert passages(documents["notes"])[0].text == "Plain words.\n\nMore words."


def test_html_article_sections_title_and_language(tmp_path: Path) -> None:
    (tmp_path / "fees.html").write_text(
        '<html lang="de-DE"><head><title>Gebühren</title><style>p {}</style></head><body>'
        "<p>Einleitung &amp; mehr.</p><h2>Fremdwährung</h2><p>1,5 % Gebühr.</p>"
        "<h2>Mahngebühren</h2><ul><li>Keine.</li><li>Nie.</li></ul><script>x()</script></body></html>"
    )
    document = read(tmp_path)[0]["fees"]
    assert (document.title, document.language) == ("Gebühren", "de")
    texts = [(p.heading, p.text) for p in passages(document)]
    assert texts == [
        ("", "Einleitung & mehr."),
        ("Fremdwährung", "1,5 % Gebühr."),
        ("Mahngebühren", "- Keine.\n- Nie."),
    ]


def test_zendesk_articles_export_pages(tmp_path: Path) -> None:
    page = {
        "articles": [
            {
                "id": 360001,
                "title": "Cancel a subscription",
                "body": "<p>Go to Settings.</p><h3>Refunds</h3><p>None after 14 days.</p>",
                "locale": "en-us",
                "label_names": ["subscription"],
                "draft": False,
            },
            {"id": 360002, "title": "Draft", "body": "<p>x</p>", "locale": "en-us", "draft": True},
            {"id": 360003, "title": "", "body": "<p>x</p>", "locale": "en-us"},
        ],
        "next_page": None,
        "count": 3,
    }
    (tmp_path / "export.json").write_text(json.dumps([page]))
    documents, problems = read(tmp_path)
    assert list(documents) == ["360001"]
    article = documents["360001"]
    assert (article.language, article.tags) == ("en", ("subscription",))
    assert [p.heading for p in passages(article)] == ["", "Refunds"]
    assert problems == [f"{tmp_path / 'export.json'}: [0].articles[2].title: missing"]


def test_saved_replies_csv_and_json(tmp_path: Path) -> None:
    (tmp_path / "macros.csv").write_text(
        "Title,Body,Category,Language\n"
        'Duplicate charge,"We see {{amount}} twice.",duplicate_charge,en\n'
        ",no title,,\n"
        "Doppelte Abbuchung,Zweimal {{amount}}.,duplicate_charge,deutsch\n"
    )
    (tmp_path / "replies.json").write_text(
        json.dumps(
            {"saved_replies": [{"id": "r1", "title": "Hi", "body": "Hello", "language": "fr"}]}
        )
    )
    documents, problems = read(tmp_path)
    reply = documents["macros/duplicate-charge"]
    assert (reply.kind, reply.category, reply.language) == ("saved_reply", "duplicate_charge", "en")
    assert passages(reply)[0].text == "We see {{amount}} twice."
    assert documents["r1"].language == "fr"
    csv_file = tmp_path / "macros.csv"
    assert problems == [
        f"{csv_file}:3: title: missing",
        f"{csv_file}:4: language: 'deutsch' is not a language code (de, en-US)",
    ]


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        (
            "bad.md",
            "---\nid: x\ntitle: Refunds: when\n---\nx",
            "bad.md:3: front matter is not valid YAML: mapping values are not allowed",
        ),
        ("open.md", "---\ntitle: x\n", "open.md:1: front matter starts with --- but never ends"),
        ("list.md", "---\n- a\n---\nx", "list.md:2: front matter must be a mapping"),
        ("lang.md", "---\nlanguage: klingon\n---\nx", "lang.md: front matter field language"),
        ("broken.json", '{"articles": [', "broken.json:1: not valid JSON"),
        ("other.json", '{"tickets": []}', "other.json: not a Zendesk articles export"),
        ("columns.csv", "name,text\na,b\n", "columns.csv:1: a saved-replies CSV needs"),
        ("latin1.txt", "caf\xe9", "latin1.txt:1: not UTF-8 text"),
    ],
)
def test_a_bad_file_is_reported_and_the_rest_is_read(
    tmp_path: Path, name: str, content: str, problem: str
) -> None:
    (tmp_path / "good.md").write_text("# Good\n\ntext")
    encoding = "latin-1" if name.endswith(".txt") else "utf-8"
    (tmp_path / name).write_text(content, encoding=encoding)
    documents, problems = read(tmp_path)
    assert list(documents) == ["good"]
    assert len(problems) == 1
    assert problems[0].startswith(f"{tmp_path}/{problem}")


def test_an_id_used_twice_keeps_the_first(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("---\nid: same\n---\nfirst")
    (tmp_path / "b.md").write_text("---\nid: same\n---\nsecond")
    documents, problems = read(tmp_path)
    assert passages(documents["same"])[0].text == "first"
    assert problems == [f"{tmp_path / 'b.md'}: id 'same' is already used by {tmp_path / 'a.md'}"]


def test_the_same_content_in_two_files_is_indexed_once_naming_the_file_kept(
    tmp_path: Path,
) -> None:
    article = "# Refunds\n\nWithin 14 days of the charge.\n"
    (tmp_path / "refunds.md").write_text(article)
    (tmp_path / "refunds_copy.md").write_text(article)
    (tmp_path / "other.md").write_text("# Refunds\n\nWithin 30 days of the charge.\n")
    documents, problems = read(tmp_path)
    assert sorted(documents) == ["other", "refunds"]
    assert problems == [
        f"{tmp_path / 'refunds_copy.md'}: 'refunds_copy' has the same content as "
        f"{tmp_path / 'refunds.md'} ('refunds'), which was kept: it would only repeat in searches"
    ]


@pytest.mark.parametrize("suffix", [".md", ".txt", ".html"])
def test_copies_that_name_an_id_but_no_title_are_found(tmp_path: Path, suffix: str) -> None:
    """Their titles come from their paths, which differ: not what the copies say."""
    (tmp_path / f"refunds{suffix}").write_text("---\nid: refunds\n---\nWithin 14 days.\n")
    (tmp_path / f"refunds_copy{suffix}").write_text("---\nid: copy\n---\nWithin 14 days.\n")
    documents, problems = read(tmp_path)
    assert list(documents) == ["refunds"]
    assert problems == [
        f"{tmp_path / f'refunds_copy{suffix}'}: 'copy' has the same content as "
        f"{tmp_path / f'refunds{suffix}'} ('refunds'), which was kept: it would only repeat "
        "in searches"
    ]


def test_copies_with_different_titles_in_front_matter_are_both_kept(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("---\nid: a\ntitle: Refunds\n---\nWithin 14 days.\n")
    (tmp_path / "b.md").write_text("---\nid: b\ntitle: Returns\n---\nWithin 14 days.\n")
    documents, problems = read(tmp_path)
    assert (sorted(documents), problems) == (["a", "b"], [])


@pytest.mark.parametrize(
    ("content", "where"),
    [
        (b"\x00\x01\x02binary\x00", ""),  # NULs from the first line: binary data
        (b"# Fees\n\nNo fees.\nPNG\x00\x00\x01\n", ":4"),  # a NUL further on, named by line
        ("# Fees\n\nNo fees.\n".encode("utf-16-le"), ""),  # UTF-16 without a mark
    ],
    ids=["binary", "nul-later", "utf16-no-mark"],
)
def test_a_file_with_nul_bytes_is_refused_as_binary(
    tmp_path: Path, content: bytes, where: str
) -> None:
    (tmp_path / "good.md").write_text("# Good\n\ntext")
    (tmp_path / "image.md").write_bytes(content)
    documents, problems = read(tmp_path)
    assert list(documents) == ["good"]
    assert problems == [
        f"{tmp_path / 'image.md'}{where}: not a text file: it holds NUL bytes (binary data, "
        "or UTF-16/UTF-32 without a byte-order mark); save it as UTF-8"
    ]


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-8-sig"])
def test_utf16_and_utf8_with_a_byte_order_mark_are_read(tmp_path: Path, codec: str) -> None:
    text = (
        "---\nid: gebuehren\nlanguage: de\n---\n# Gebühren\n\nKeine Gebühren für Überweisungen.\n"
    )
    data = text.encode(codec)
    if codec == "utf-16-be":
        data = b"\xfe\xff" + data  # Python writes no mark for an explicit byte order
    (tmp_path / "fees.md").write_bytes(data)
    documents, problems = read(tmp_path)
    assert problems == []
    document = documents["gebuehren"]
    assert document.title == "Gebühren"
    assert [p.text for p in passages(document)] == ["Keine Gebühren für Überweisungen."]


def test_a_file_whose_mark_says_utf16_but_is_not_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.md").write_bytes(b"\xff\xfe\x00")
    documents, problems = read(tmp_path)
    assert documents == {}
    assert problems == [
        f"{tmp_path / 'x.md'}: not UTF-16 LE text (truncated data): save it as UTF-8"
    ]


def test_missing_folder_and_hidden_files(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="no such file or folder"):
        read(tmp_path / "nowhere")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "notes.txt").write_text("not an article")
    assert read(tmp_path) == ({}, [])


def test_a_paragraph_longer_than_a_passage_is_cut_at_sentences_then_spaces(
    tmp_path: Path,
) -> None:
    # One passage per section used to hold the whole paragraph however long: a 6 MB
    # article with no blank line made every draft that cited it 6 MB.
    sentence = "Refunds reach the card within five business days. "
    words = "policy " * 400
    (tmp_path / "wall.md").write_text(f"# Wall\n\n{sentence * 100}\n\n{words}\n\n{'x' * 4000}")
    cut = passages(read(tmp_path)[0]["wall"])
    assert all(len(p.text) <= MAX_PASSAGE_CHARS for p in cut)
    texts = [p.text for p in cut]
    assert all(text.endswith("business days.") for text in texts[:3])
    assert "".join(texts).replace(" ", "").replace("\n", "") == (
        (sentence * 100 + words).replace(" ", "") + "x" * 4000
    )


def test_paragraphs_that_fit_are_kept_as_written_in_a_long_section(tmp_path: Path) -> None:
    # Cutting over-long paragraphs must not touch the others: an indent changed would
    # change the passages' text and hashes of existing indexes.
    words = ("word " * 60).strip()
    section = "\n\n".join([words, "    indented code", "Refunds take five days."] * 10)
    (tmp_path / "code.md").write_text(f"# Code\n\n{section}\n")
    cut = passages(read(tmp_path)[0]["code"])
    assert len(cut) > 1
    assert "\n\n".join(p.text for p in cut) == section


def test_long_sections_are_cut_at_paragraphs_and_hashes_follow_content(tmp_path: Path) -> None:
    paragraph = "word " * 100
    (tmp_path / "long.md").write_text("# Long\n\n" + "\n\n".join([paragraph] * 8))
    document = read(tmp_path)[0]["long"]
    cut = passages(document)
    assert len(cut) > 1
    assert all(len(p.text) <= MAX_PASSAGE_CHARS for p in cut)
    before = {p.passage_id: p.content_hash for p in cut}
    (tmp_path / "long.md").write_text("# Long\n\n" + "\n\n".join([paragraph] * 7 + ["changed"]))
    after = {p.passage_id: p.content_hash for p in passages(read(tmp_path)[0]["long"])}
    assert before["long#1"] == after["long#1"]
    assert before != after


def test_inline_html_and_links_that_run_code_stay_out_of_markdown_passages(
    tmp_path: Path,
) -> None:
    """Passages are quoted into replies to customers: a Markdown or text article's
    inline HTML goes (its text kept), and so does a link address that could run code."""
    (tmp_path / "refunds.md").write_text(
        "# Refunds\n\nAsk <b>within 14 days</b>.<script>steal()</script>\n"
        '<a href="javascript:steal()">Open the form</a> or [write to us](javascript:x(1)) '
        "or [call](  JaVa%09script:x) <javascript:x> ![chart](data:text/html,x)\n"
        "[ref]: vbscript:x\n<!-- draft: hidden -->\n\n"
        "See [prices](https://example.com/p_(1)), <https://example.com/a>, <help@example.com>, "
        "3 < 5 and &lt;b&gt; as written.\n",
        encoding="utf-8",
    )
    (tmp_path / "note.txt").write_text("Plain <i>text</i> here.<style>x{}</style>\n")
    documents, problems = read(tmp_path)
    assert problems == []
    text = "\n".join(p.text for d in documents.values() for p in passages(d))
    for gone in ("<", "script", "steal", "javascript", "data:", "vbscript", "draft", "x{}"):
        assert gone not in text.replace("3 < 5", "").replace("&lt;b&gt;", ""), gone
    assert "Ask within 14 days." in text
    assert "Open the form or write to us or call  chart" in text
    assert "[prices](https://example.com/p_(1))" in text
    assert "https://example.com/a, help@example.com, 3 < 5 and &lt;b&gt; as written." in text
    assert "Plain text here." in text
