"""Model answers kept across runs, so the same question is never paid for twice.

The key is a digest of everything that decides an answer: model, prompt
version, kind of call, the exact (masked) messages sent and the response
schema. Only validated answers are stored; the stored usage records what the
first call cost, a hit itself costs nothing.

A small SQLite file (stdlib `sqlite3`): several worker processes may share
it (WAL, a busy timeout), and the blocking calls are meant to run in a
thread (`asyncio.to_thread`), hence one connection guarded by a lock.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from supporter.domain.models import Usage

__all__ = ["CachedAnswer", "ResultCache", "cache_key"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS llm_results (
    key TEXT PRIMARY KEY,
    answer TEXT NOT NULL,
    usage TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
)
"""


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    answer_json: str
    usage: Usage
    """What the call that produced the answer cost (a hit costs nothing)."""


def cache_key(
    *,
    model: str,
    prompt_version: str,
    kind: str,
    messages: Sequence[Mapping[str, object]],
    schema_name: str,
    schema: Mapping[str, object] | None = None,
) -> str:
    """sha256 over a canonical JSON of the inputs that decide an answer."""
    payload = json.dumps(
        {
            "model": model,
            "prompt_version": prompt_version,
            "kind": kind,
            "messages": list(messages),
            "schema_name": schema_name,
            "schema": schema,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class ResultCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=10.0, check_same_thread=False)
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_SCHEMA)
            self._db.commit()

    def get(self, key: str) -> CachedAnswer | None:
        with self._lock:
            row = self._db.execute(
                "SELECT answer, usage FROM llm_results WHERE key = ?", (key,)
            ).fetchone()
        if row is None:
            return None
        answer, usage = row
        return CachedAnswer(answer_json=answer, usage=Usage.model_validate_json(usage))

    def put(self, key: str, answer_json: str, usage: Usage) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO llm_results (key, answer, usage) VALUES (?, ?, ?)",
                (key, answer_json, usage.model_dump_json()),
            )
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT COUNT(*) FROM llm_results").fetchone()
        return int(count)

    def close(self) -> None:
        with self._lock:
            self._db.close()
