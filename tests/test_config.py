"""Settings: a bad one is named where it was set (option, variable, or file and line)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from supporter.config import ConfigError, load_settings


@pytest.fixture(autouse=True)
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./supporter.toml but the test's own
    monkeypatch.delenv("SUPPORTER_MAX_ATTEMPTS", raising=False)


def write(text: str | bytes) -> Path:
    path = Path("supporter.toml")
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_a_misspelt_key_is_named_with_its_file_line_and_the_key_it_resembles() -> None:
    write('db = "x.db"\nmax_atempts = 3\n')
    with pytest.raises(ConfigError) as caught:
        load_settings({})
    assert str(caught.value) == (
        "invalid configuration: supporter.toml:2: max_atempts: not a setting"
        " (did you mean max_attempts?)"
    )


def test_a_wrong_type_names_the_line_inside_its_table() -> None:
    path = write('[ticket_columns]\nticket_id = "Id"\nbody = 3\n')
    with pytest.raises(ConfigError, match=r"supporter.toml:3: ticket_columns.body: .*string"):
        load_settings({}, path)


def test_a_bad_variable_is_named_and_its_value_is_not_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write("max_attempts = 3\n")  # the variable wins over the file: it is the one to blame
    monkeypatch.setenv("SUPPORTER_MAX_ATTEMPTS", "hunter2")
    with pytest.raises(ConfigError) as caught:
        load_settings({})
    message = str(caught.value)
    assert message.startswith("invalid configuration: SUPPORTER_MAX_ATTEMPTS: max_attempts: ")
    assert "hunter2" not in message


def test_a_bad_option_is_named_as_the_option() -> None:
    with pytest.raises(ConfigError, match=r"--max-attempts: max_attempts: .*greater than"):
        load_settings({"max_attempts": 0})


def test_a_file_that_is_not_toml_is_named_with_the_place() -> None:
    write("max_attempts = \n")
    with pytest.raises(ConfigError, match=r"^supporter.toml: not valid TOML: .*line 1, column"):
        load_settings({})


def test_a_file_that_is_not_text_is_named() -> None:
    write(b"\xff\xfemax_attempts = 3\n")
    with pytest.raises(ConfigError, match=r"^supporter\.toml: not UTF-8 text"):
        load_settings({})


def test_a_missing_file_is_named() -> None:
    with pytest.raises(ConfigError, match=r"config file other\.toml does not exist"):
        load_settings({}, Path("other.toml"))


@pytest.mark.parametrize("days", [0, -3])
def test_a_first_poll_of_no_days_or_fewer_is_named_as_the_option(days: int) -> None:
    with pytest.raises(ConfigError, match=r"--first-poll-days: first_poll_days: .*greater than"):
        load_settings({"first_poll_days": days})


@pytest.mark.parametrize("days", [3651, 10**9])
def test_a_first_poll_further_back_than_ten_years_is_named_as_the_option(
    monkeypatch: pytest.MonkeyPatch, days: int
) -> None:
    """Far enough back, the first poll's start is before 1970 (Zendesk's start_time
    would be negative) or no date at all (an OverflowError when serve starts)."""
    with pytest.raises(ConfigError, match=r"--first-poll-days: first_poll_days: .*less than"):
        load_settings({"first_poll_days": days})
    monkeypatch.setenv("SUPPORTER_FIRST_POLL_DAYS", str(days))
    with pytest.raises(ConfigError, match=r"SUPPORTER_FIRST_POLL_DAYS: first_poll_days: .*less"):
        load_settings({})
    monkeypatch.setenv("SUPPORTER_FIRST_POLL_DAYS", "3650")
    assert load_settings({}).first_poll_days == 3650


def test_a_first_poll_days_that_is_not_a_number_is_named_where_it_was_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SUPPORTER_FIRST_POLL_DAYS", "a month")
    with pytest.raises(ConfigError, match=r"SUPPORTER_FIRST_POLL_DAYS: first_poll_days: .*integer"):
        load_settings({})
    monkeypatch.delenv("SUPPORTER_FIRST_POLL_DAYS")
    write('db = "x.db"\nfirst_poll_days = "soon"\n')
    with pytest.raises(ConfigError, match=r"supporter.toml:2: first_poll_days: .*integer"):
        load_settings({})


def test_the_first_poll_looks_back_30_days_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings({}).first_poll_days == 30
    monkeypatch.setenv("SUPPORTER_FIRST_POLL_DAYS", "90")
    assert load_settings({}).first_poll_days == 90
    assert load_settings({"first_poll_days": 7}).first_poll_days == 7


def test_a_bad_option_is_named_as_what_the_user_typed_for_it() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"formats": ["xml"]}, option_names={"formats": "--format"})
    assert str(caught.value) == (
        "invalid configuration: --format: formats.0: Input should be 'jsonl' or 'csv'"
    )


def test_the_file_is_read_once_for_all_its_bad_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    path = write("max_attempts = 0\nqueue_size = 0\n[ticket_columns]\nbody = 3\n")
    reads: list[Path] = []
    read_text = Path.read_text

    def counted(self: Path, *args: Any, **kwargs: Any) -> str:
        reads.append(self)
        return read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", counted)
    with pytest.raises(ConfigError) as caught:
        load_settings({}, path)
    message = str(caught.value)
    assert "supporter.toml:1: max_attempts: " in message
    assert "supporter.toml:2: queue_size: " in message
    assert "supporter.toml:4: ticket_columns.body: " in message
    assert reads.count(path) == 1
