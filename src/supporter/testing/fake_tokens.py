"""Token counts as OpenAI's current models count them, without the network.

The o200k_base encoding (GPT-4o, GPT-4.1 and later) comes from the `bpe-openai`
package, whose wheels ship the encoding file: tiktoken would download it on
first use. Chat messages add a few tokens each for their framing, as OpenAI's
cookbook counts them for gpt-4o ("How to count tokens with tiktoken": 3 per
message and 3 to prime the answer). Without the package (a plain install), the
counts fall back to four characters a token.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Final

_PER_MESSAGE: Final = 3
_ANSWER_PRIMING: Final = 3


@functools.cache
def _encoder() -> Callable[[str], int] | None:
    try:
        import bpe_openai  # type: ignore[import-untyped]
    except ImportError:
        return None
    encoding = bpe_openai.get_encoding("o200k_base")
    return lambda text: len(encoding.encode_ordinary(text))


def exact() -> bool:
    """Whether counts come from the real encoding rather than the estimate."""
    return _encoder() is not None


def count(text: str) -> int:
    encode = _encoder()
    if encode is None:
        return max(1, len(text) // 4)
    return encode(text)


def count_messages(messages: Sequence[tuple[str, str]]) -> int:
    """Prompt tokens of (role, text) chat messages."""
    return (
        sum(_PER_MESSAGE + count(role) + count(text) for role, text in messages) + _ANSWER_PRIMING
    )
