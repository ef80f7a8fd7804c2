"""The simulator's Responses API (`POST /v1/responses`), served by its chat-completions engine.

A Responses request is translated into the equivalent Chat Completions request
(same rate limits, failures, schemas, prompt cache and model checks), and the
answer back into a Response object, as documented in
https://developers.openai.com/api/reference/resources/responses/methods/create and
https://developers.openai.com/api/docs/guides/structured-outputs?api-mode=responses:

- `instructions` and `input` (a string or a list of role/content messages) are the prompt;
- `text.format` `{type: "json_schema", name, schema, strict}` asks for Structured Outputs;
- `reasoning.effort`, `max_output_tokens`, `temperature`, `top_p`, `service_tier`;
- the answer is an `output` list holding one `message` whose content is an `output_text`
  (or a `refusal`); `status` "incomplete" with `incomplete_details.reason`
  "max_output_tokens" when the answer was cut off;
- `usage` gives `input_tokens` (with `input_tokens_details.cached_tokens` and
  `cache_write_tokens`) and `output_tokens` (with `output_tokens_details.reasoning_tokens`).
"""

from __future__ import annotations

from typing import Any

JSONObject = dict[str, Any]

# Chat Completions' parameter names as a Responses client knows them, for error messages.
_PARAM_NAMES = {
    "reasoning_effort": "reasoning.effort",
    "max_tokens": "max_output_tokens",
    "response_format": "text.format",
    "messages": "input",
}


def chat_body(body: object) -> tuple[JSONObject | None, JSONObject | None]:
    """(the Chat Completions request it amounts to, None) or (None, a 400 error)."""
    if not isinstance(body, dict):
        return None, _invalid("The request body must be a JSON object.")
    messages: list[JSONObject] = []
    instructions = body.get("instructions")
    if isinstance(instructions, str):
        messages.append({"role": "developer", "content": instructions})
    given = body.get("input")
    if isinstance(given, str):
        messages.append({"role": "user", "content": given})
    elif isinstance(given, list) and all(
        isinstance(item, dict) and isinstance(item.get("role"), str) for item in given
    ):
        # Content parts (input_text) pass as they are: the engine reads their text.
        messages += [{"role": item["role"], "content": item.get("content")} for item in given]
    else:
        return None, _invalid(
            "Missing or invalid required parameter: 'input' (a string or a list of messages).",
            "input",
        )
    chat: JSONObject = {"model": body.get("model"), "messages": messages}
    text_format = (
        (body.get("text") or {}).get("format") if isinstance(body.get("text"), dict) else None
    )
    if isinstance(text_format, dict):
        if text_format.get("type") == "json_schema":
            spec = {key: text_format.get(key) for key in ("name", "schema", "strict")}
            chat["response_format"] = {"type": "json_schema", "json_schema": spec}
        else:
            chat["response_format"] = {"type": text_format.get("type")}
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict) and reasoning.get("effort") is not None:
        chat["reasoning_effort"] = reasoning["effort"]
    if body.get("max_output_tokens") is not None:
        chat["max_completion_tokens"] = body["max_output_tokens"]
    for name in ("temperature", "top_p", "service_tier", "stream"):
        if body.get(name) is not None:
            chat[name] = body[name]
    return chat, None


def renamed(error: JSONObject) -> JSONObject:
    """A Chat Completions error as the Responses API would name its parameter."""
    param = error.get("param")
    if not isinstance(param, str):
        return error
    head, _, rest = param.partition(".")
    name = _PARAM_NAMES.get(head, head)
    message = str(error.get("message", ""))
    for old, new in _PARAM_NAMES.items():
        message = message.replace(f"'{old}'", f"'{new}'")
    return {**error, "param": f"{name}.{rest}" if rest else name, "message": message}


def response(completion: JSONObject, body: JSONObject) -> JSONObject:
    """The Response object for a chat completion the simulator produced."""
    choice = completion["choices"][0]
    message = choice["message"]
    if message.get("refusal"):
        content = [{"type": "refusal", "refusal": message["refusal"]}]
    else:
        content = [{"type": "output_text", "text": message["content"] or "", "annotations": []}]
    cut = choice["finish_reason"] == "length"
    usage = completion["usage"]
    serial = completion["id"].removeprefix("chatcmpl-")
    return {
        "id": f"resp_{serial}",
        "object": "response",
        "created_at": completion["created"],
        "status": "incomplete" if cut else "completed",
        "incomplete_details": {"reason": "max_output_tokens"} if cut else None,
        "error": None,
        "model": completion["model"],
        "output": [
            {
                "type": "message",
                "id": f"msg_{serial}",
                "status": "incomplete" if cut else "completed",
                "role": "assistant",
                "content": content,
            }
        ],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "reasoning": body.get("reasoning"),
        "service_tier": completion["service_tier"],
        "text": body.get("text"),
        "usage": {
            "input_tokens": usage["prompt_tokens"],
            "input_tokens_details": {
                "cached_tokens": usage["prompt_tokens_details"]["cached_tokens"],
                "cache_write_tokens": 0,
            },
            "output_tokens": usage["completion_tokens"],
            "output_tokens_details": {
                "reasoning_tokens": usage["completion_tokens_details"]["reasoning_tokens"]
            },
            "total_tokens": usage["total_tokens"],
        },
    }


def _invalid(message: str, param: str | None = None) -> JSONObject:
    return {"message": message, "type": "invalid_request_error", "param": param, "code": None}
