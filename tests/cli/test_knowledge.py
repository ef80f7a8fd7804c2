"""`supporter knowledge index` and `supporter knowledge search`."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from supporter.cli.app import app

runner = CliRunner()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("SUPPORTER_DB", "SUPPORTER_KNOWLEDGE_INDEX"):
        monkeypatch.delenv(name, raising=False)
    help_center = tmp_path / "help-center"
    (help_center / "de").mkdir(parents=True)
    (help_center / "refunds.md").write_text(
        "---\nid: refunds\nlanguage: en\n---\n# Refunds\n\nAsk within 14 days for a refund.\n"
    )
    (help_center / "de" / "erstattung.md").write_text(
        "---\nid: erstattung\nlanguage: de\n---\n# Erstattung\n\n"
        "Eine Rückerstattung gibt es innerhalb von 14 Tagen.\n"
    )
    return tmp_path


def test_index_then_update_reports_what_changed(workdir: Path) -> None:
    first = runner.invoke(app, ["knowledge", "index", "help-center"])
    assert first.exit_code == 0, first.output
    assert "2 added, 0 changed, 0 removed, 0 unchanged (2 passages)" in first.output
    assert (workdir / "supporter-knowledge.db").is_file()
    (workdir / "help-center" / "refunds.md").write_text(
        "---\nid: refunds\nlanguage: en\n---\n# Refunds\n\nAsk within 30 days.\n"
    )
    (workdir / "help-center" / "de" / "erstattung.md").unlink()
    (workdir / "help-center" / "fees.md").write_text("# Fees\n\nNo fees.\n")
    second = runner.invoke(app, ["knowledge", "index", "help-center"])
    assert second.exit_code == 0, second.output
    assert "1 added, 1 changed, 1 removed, 0 unchanged" in second.output
    assert "  added: fees" in second.output
    assert "  changed: refunds" in second.output
    assert "  removed: erstattung" in second.output


def test_search_in_a_language(workdir: Path) -> None:
    assert runner.invoke(app, ["knowledge", "index", "help-center"]).exit_code == 0
    result = runner.invoke(app, ["knowledge", "search", "Rückerstattung bitte", "--language", "de"])
    assert result.exit_code == 0, result.output
    assert "1. erstattung#1  [de] Erstattung" in result.output
    assert "refunds#1" not in result.output


def test_unusable_files_are_listed_and_the_rest_indexed(workdir: Path) -> None:
    (workdir / "help-center" / "bad.json").write_text("{")
    result = runner.invoke(app, ["knowledge", "index", "help-center"])
    assert result.exit_code == 1
    assert "bad.json:1: not valid JSON" in result.output
    assert "2 added" in result.output


def test_skipped_files_exit_1_on_every_run_whether_or_not_the_index_changed(
    workdir: Path,
) -> None:
    (workdir / "help-center" / "bad.json").write_text("{")
    # The same article saved again under another name (its own id: its path).
    (workdir / "help-center" / "refunds_copy.md").write_text(
        "---\nlanguage: en\n---\n# Refunds\n\nAsk within 14 days for a refund.\n"
    )
    first = runner.invoke(app, ["knowledge", "index", "help-center"])
    again = runner.invoke(app, ["knowledge", "index", "help-center"])
    assert (first.exit_code, again.exit_code) == (1, 1), again.output
    assert "2 added" in first.output
    assert "0 added, 0 changed, 0 removed, 2 unchanged" in again.output
    for result in (first, again):
        assert "skipped: help-center/bad.json:1: not valid JSON" in result.output
        assert (
            "skipped: help-center/refunds_copy.md: 'refunds_copy' has the same content as "
            "help-center/refunds.md ('refunds'), which was kept" in result.output
        )


def test_nothing_usable_says_why_each_file_was_skipped(workdir: Path) -> None:
    (workdir / "binary").mkdir()
    (workdir / "binary" / "a.md").write_bytes(b"\x00\x01\x02")
    result = runner.invoke(app, ["knowledge", "index", "binary"])
    assert result.exit_code == 2
    assert "skipped: binary/a.md: not a text file: it holds NUL bytes" in result.output
    assert "binary: no usable article or saved reply in it" in result.output


def test_nothing_usable_leaves_the_index_alone(workdir: Path) -> None:
    assert runner.invoke(app, ["knowledge", "index", "help-center"]).exit_code == 0
    (workdir / "empty").mkdir()
    result = runner.invoke(app, ["knowledge", "index", "empty"])
    assert result.exit_code == 2
    assert "no usable article or saved reply in it" in result.output
    search = runner.invoke(app, ["knowledge", "search", "refund"])
    assert "refunds#1" in search.output


def test_search_without_an_index(workdir: Path) -> None:
    result = runner.invoke(app, ["knowledge", "search", "refund", "--index", "none.db"])
    assert result.exit_code == 2
    assert "no knowledge index at none.db" in result.output


def test_search_given_a_folder_as_its_index_says_so(workdir: Path) -> None:
    (workdir / "indexes").mkdir()
    result = runner.invoke(app, ["knowledge", "search", "refund", "--index", "indexes"])
    assert result.exit_code == 2
    assert "the knowledge index indexes is a folder; give the path of a file" in result.output


def test_a_long_list_of_changes_is_cut(workdir: Path) -> None:
    for number in range(25):
        (workdir / "help-center" / f"a{number:02d}.md").write_text(f"# A{number}\n\ntext\n")
    result = runner.invoke(app, ["knowledge", "index", "help-center"])
    assert "27 added" in result.output
    assert "  added: a19" in result.output
    assert "  added: a20" not in result.output
    assert "  ... and 7 more added" in result.output


def test_with_a_postgresql_store_the_index_is_tables_in_its_database(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    monkeypatch.setenv("SUPPORTER_STORE_URL", postgres_url.replace("postgres@", "postgres:pw@"))
    first = runner.invoke(app, ["knowledge", "index", "help-center"])
    assert first.exit_code == 0, first.output
    assert "(schema supporter_knowledge): 2 added" in first.output
    assert "pw" not in first.output
    assert not (workdir / "supporter-knowledge.db").exists()
    result = runner.invoke(app, ["knowledge", "search", "Rückerstattung bitte", "--language", "de"])
    assert result.exit_code == 0, result.output
    assert "1. erstattung#1  [de] Erstattung" in result.output
    # An index file named on the command line is still a file.
    local = runner.invoke(app, ["knowledge", "index", "help-center", "--index", "local.db"])
    assert local.exit_code == 0, local.output
    assert (workdir / "local.db").is_file()


@pytest.fixture
def concept_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    """all-MiniLM-L6-v2 played by the small deterministic encoder of the fusion tests."""
    from tests.knowledge.test_fused import ConceptEncoder

    from supporter.classifier.encoders import ENCODERS
    from supporter.classifier.metadata import MINILM

    monkeypatch.setitem(ENCODERS, MINILM, ConceptEncoder)


@pytest.mark.usefixtures("concept_encoder")
def test_embeddings_are_computed_once_and_searched(workdir: Path) -> None:
    plain = runner.invoke(app, ["knowledge", "index", "help-center"])
    assert plain.exit_code == 0, plain.output
    refused = runner.invoke(app, ["knowledge", "search", "Geld zurück", "--embeddings"])
    assert refused.exit_code == 2
    assert "run `supporter knowledge index --embeddings FOLDER` first" in refused.output
    first = runner.invoke(app, ["knowledge", "index", "help-center", "--embeddings"])
    assert first.exit_code == 0, first.output
    assert "2 unchanged (2 passages, 2 embedded)" in first.output
    again = runner.invoke(app, ["knowledge", "index", "help-center", "--embeddings"])
    assert "(2 passages)" in again.output
    found = runner.invoke(
        app, ["knowledge", "search", "Geld zurück", "--language", "de", "--embeddings"]
    )
    assert found.exit_code == 0, found.output
    assert "1. erstattung#1" in found.output


def test_embeddings_without_the_extra_say_what_to_install(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    # A missing library fails its import as this does.
    monkeypatch.setitem(sys.modules, "supporter.knowledge.fused", None)
    result = runner.invoke(app, ["knowledge", "index", "help-center", "--embeddings"])
    assert result.exit_code == 2
    assert "pip install 'supporter[embeddings]'" in result.output
    assert not (workdir / "supporter-knowledge.db-wal").exists()
