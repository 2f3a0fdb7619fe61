"""The OpenAPI schema as this app enforces it: its own limits (from its settings) and its key, or none.

The request models leave the configurable limits to the app (``deps.check_limits``, ``service.limits``), so
they are written into the schema here, with the rules the models check in code (a question that is not only
white space, ``n`` = 1, ...), so that what the schema allows is what the server accepts
(``tests/service/test_schema.py`` checks it with schemathesis).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from footnote.service.models import NOT_BLANK as _NOT_BLANK
from footnote.settings import Settings

_APPLIES = {"maxLength": "string", "pattern": "string", "maxItems": "array", "maximum": "integer"}


def _prop(schema: dict[str, Any], model: str, field: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = schema.get("components", {}).get("schemas", {}).get(model, {}).get(
        "properties", {}).get(field)
    return found


def _set(schema: dict[str, Any], model: str, field: str, **rules: Any) -> None:
    """Add JSON Schema ``rules`` to a model's field (to each variant of a union the rule applies to)."""
    prop = _prop(schema, model, field)
    for variant in (prop or {}).get("anyOf", [prop] if prop else []):
        # An enum applies to the variant of its values' type (``n``: the integer one, not null).
        kind = {int: "integer", bool: "boolean", str: "string"}
        variant.update({k: v for k, v in rules.items()
                        if variant.get("type") == (kind[type(v[0])] if k == "enum" else _APPLIES[k])})


def describe(schema: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """``schema`` with ``settings``' limits and the models' coded rules written in (changed in place)."""
    question = {"maxLength": settings.max_question_chars, "pattern": _NOT_BLANK}
    _set(schema, "AnswerRequest", "question", **question)
    _set(schema, "SearchRequest", "query", **question)
    for model, field in (("AnswerRequest", "top_k"), ("SearchRequest", "k"), ("ChatCompletionRequest", "top_k")):
        _set(schema, model, field, maximum=settings.max_top_k)
    _set(schema, "AnswerRequest", "history", maxItems=settings.max_history_turns)
    _set(schema, "Turn", "content", maxLength=settings.max_turn_chars)
    _set(schema, "ChatMessage", "content", maxLength=settings.max_turn_chars)
    _set(schema, "ChatCompletionRequest", "n", enum=[1])
    _set(schema, "ChatCompletionRequest", "logprobs", enum=[False])
    for field in ("tool_choice", "function_call"):  # forcing a tool (a string naming one, or an object) is refused
        _set(schema, "ChatCompletionRequest", field, enum=["none", "auto"])
        prop = _prop(schema, "ChatCompletionRequest", field)
        if prop and "anyOf" in prop:
            prop["anyOf"] = [v for v in prop["anyOf"] if v.get("type") != "object"]
    response_format = _prop(schema, "ChatCompletionRequest", "response_format")
    for variant in (response_format or {}).get("anyOf", []):
        if variant.get("type") == "object":
            variant["properties"] = {"type": {"enum": ["text"]}}
    _set(schema, "TextPart", "type", enum=["text", "refusal"])
    messages = _prop(schema, "ChatCompletionRequest", "messages")
    if messages is not None:  # at least one user message with some text: the question
        text = {"type": "string", "pattern": _NOT_BLANK}
        part = {"type": "object", "properties": {"type": {"const": "text"}, "text": text}, "required": ["type", "text"]}
        content = {"anyOf": [text, {"type": "array", "contains": part}]}
        messages["contains"] = {"type": "object", "properties": {"role": {"const": "user"}, "content": content},
                                "required": ["role", "content"]}
    if not settings.api_key:  # nothing needs a key, so nothing is documented as needing one
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                operation.pop("security", None)
                operation.get("responses", {}).pop("401", None)
        schema.get("components", {}).pop("securitySchemes", None)
    return schema


def install(app: FastAPI, settings: Settings) -> None:
    """Serve the described schema at /openapi.json (generated once, on first use)."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe(generate(), settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
