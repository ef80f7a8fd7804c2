"""What the store remembers of Batch API work: each batch Supporter created, and each
request it put in one, so a rerun resumes a batch instead of paying for it again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

# `pending` in a batch not collected yet; `answered` with a 2xx answer kept for reruns;
# `failed` with why (an HTTP error answer, an expired or cancelled batch): sent again
# in a later batch when the pipeline retries it.
RequestState = Literal["pending", "answered", "failed"]


@dataclass(frozen=True, slots=True)
class StoredRequest:
    custom_id: str
    state: RequestState
    input_file_id: str | None
    status_code: int | None = None
    body: str | None = None  # the answer's JSON body, when it had one
    error: str | None = None  # why it failed without an HTTP answer


@dataclass(frozen=True, slots=True)
class StoredBatch:
    """`status` is the Batch API's (`validating` … `cancelled`), or `uploaded` while the
    input file is up and the batch not yet created; `collected` once its results are in
    the store."""

    input_file_id: str
    batch_id: str | None
    endpoint: str
    status: str
    requests: int
    completed: int
    failed: int
    collected: bool
    created_at: datetime
    updated_at: datetime
