"""The result cache: the same masked question is answered from disk, across runs."""

import threading
from pathlib import Path
from typing import Any

from supporter.domain.models import Usage
from supporter.llm.cache import ResultCache, cache_key

MESSAGES = [
    {"role": "system", "content": "Classify the ticket."},
    {"role": "user", "content": "<ticket>I was charged twice</ticket>"},
]


def key(**changes: Any) -> str:
    arguments: dict[str, Any] = {
        "model": "gpt-4o",
        "prompt_version": "analysis-v1",
        "kind": "analysis-v1",
        "messages": MESSAGES,
        "schema_name": "ticket_analysis",
        **changes,
    }
    return cache_key(**arguments)


def test_a_miss_then_a_hit(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path / "cache.db")
    assert cache.get(key()) is None
    usage = Usage(prompt_tokens=1500, cached_tokens=1024, completion_tokens=80)
    cache.put(key(), '{"category": "duplicate_charge"}', usage)
    hit = cache.get(key())
    assert hit is not None
    assert hit.answer_json == '{"category": "duplicate_charge"}'
    assert hit.usage == usage
    assert len(cache) == 1
    cache.close()


def test_answers_persist_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "cache.db"
    first = ResultCache(path)
    first.put(key(), '{"body": "Hello"}', Usage(prompt_tokens=10))
    first.close()
    second = ResultCache(path)
    hit = second.get(key())
    assert hit is not None
    assert hit.answer_json == '{"body": "Hello"}'
    second.close()


def test_every_input_that_decides_an_answer_changes_the_key() -> None:
    other_messages = [MESSAGES[0], {"role": "user", "content": "<ticket>Charged once</ticket>"}]
    variants = [
        key(),
        key(model="gpt-4o-mini"),
        key(prompt_version="analysis-v2"),
        key(kind="reply-v1"),
        key(messages=other_messages),
        key(schema_name="reply_draft"),
        key(schema={"type": "object"}),
    ]
    assert len(set(variants)) == len(variants)
    assert key() == key()  # and it is stable


def test_a_put_replaces_the_previous_answer(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path / "cache.db")
    cache.put(key(), "old", Usage())
    cache.put(key(), "new", Usage())
    hit = cache.get(key())
    assert hit is not None
    assert hit.answer_json == "new"
    assert len(cache) == 1
    cache.close()


def test_usable_from_worker_threads(tmp_path: Path) -> None:
    # The provider calls it through asyncio.to_thread.
    cache = ResultCache(tmp_path / "cache.db")

    def work(number: int) -> None:
        cache.put(key(kind=str(number)), str(number), Usage(prompt_tokens=number))
        assert cache.get(key(kind=str(number))) is not None

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 8
    cache.close()
