"""What the simulator knows of OpenAI's models: the parameters each accepts, the reasoning
tokens it spends, and `GET /v1/models` with shutdown dates.

Facts come from the packaged model table (`supporter/llm/models.toml`), itself
from OpenAI's model pages. A model the table does not know (a local server's
"llama3", the simulator's own "fake-llm") accepts every parameter, as
compatible servers do.

The rejections follow OpenAI's documentation:
- reasoning models take `max_completion_tokens`, not `max_tokens`
  (https://developers.openai.com/api/docs/guides/reasoning);
- they reject `temperature`/`top_p` unless reasoning is off with effort "none"
  (https://developers.openai.com/api/docs/guides/latest-model, parameter compatibility);
- a model that cannot turn reasoning off rejects `reasoning_effort: "none"`
  (https://developers.openai.com/api/docs/models/gpt-6.2-sol).
"""

from __future__ import annotations

from typing import Any, Final

from supporter.llm.catalog import ModelCatalog, ModelInfo

JSONObject = dict[str, Any]

# Reasoning tokens a request spends at each effort: a fixed figure so benchmarks repeat.
REASONING_TOKENS: Final = {
    "none": 0,
    "minimal": 16,
    "low": 96,
    "medium": 384,
    "high": 1536,
    "xhigh": 3072,
    "max": 6144,
}


class FakeModels:
    def __init__(self, catalog: ModelCatalog | None = None) -> None:
        self.catalog = catalog if catalog is not None else ModelCatalog.load()

    def listing(self) -> JSONObject:
        """`GET /v1/models`: every model of the table, with its `shutdown_date`
        (YYYY-MM-DD, or null when none is announced)."""
        models: list[JSONObject] = [_listed("fake-llm", None)]
        for name in self.catalog.names():
            shutdown = self.catalog.info(name).shutdown
            models.append(_listed(name, shutdown.isoformat() if shutdown else None))
        return {"object": "list", "data": models}

    def problem(self, body: JSONObject) -> JSONObject | None:
        """The 400 error OpenAI gives for parameters this model rejects, or None."""
        info = self.catalog.get(str(body.get("model", "")))
        if info is None:
            return None
        effort = body.get("reasoning_effort")
        if effort is not None and effort not in info.reasoning_efforts:
            accepted = ", ".join(repr(e) for e in info.reasoning_efforts) or "none at all"
            return _unsupported(
                f"Unsupported value: 'reasoning_effort' does not support {effort!r} with this "
                f"model. Supported values are: {accepted}.",
                "reasoning_effort",
            )
        if info.reasons and "max_tokens" in body:
            return _unsupported(
                "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead.",
                "max_tokens",
                code="unsupported_parameter",
            )
        applied = effort if effort is not None else info.default_effort
        for name in ("temperature", "top_p"):
            if body.get(name) is not None and not info.takes_sampling(applied):
                return _unsupported(
                    f"Unsupported parameter: '{name}' is not supported with this model "
                    "unless 'reasoning_effort' is 'none'.",
                    name,
                    code="unsupported_parameter",
                )
        return None

    def reasoning_tokens(self, body: JSONObject) -> int:
        info: ModelInfo | None = self.catalog.get(str(body.get("model", "")))
        if info is None or not info.reasons:
            return 0
        effort = body.get("reasoning_effort") or info.default_effort or "medium"
        return REASONING_TOKENS.get(str(effort), 0)


def _listed(name: str, shutdown: str | None) -> JSONObject:
    return {
        "id": name,
        "object": "model",
        "created": 0,
        "owned_by": "system",
        "shutdown_date": shutdown,
    }


def _unsupported(message: str, param: str, code: str = "unsupported_value") -> JSONObject:
    return {"message": message, "type": "invalid_request_error", "param": param, "code": code}
