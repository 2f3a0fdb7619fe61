"""Request and response models of the OpenAI-compatible API (``/v1/chat/completions``, ``/v1/models``).

Only what an extractive answerer can honour is accepted: sampling knobs (``temperature``, ``max_tokens``,
...) are accepted and ignored, since the answer is quoted, not generated; options that would change the
shape of the answer (``n`` > 1, ``logprobs``, JSON output, forced tool calls) are refused with a message
naming the parameter, as are parameters OpenAI does not know either.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from footnote.service.models import Footnote, JsonInt, not_blank

MODEL_ID = "footnote"
# Names and short options (model, user, stop sequences, ...): no legitimate value is longer. Message text has
# the app's own limit (FOOTNOTE_MAX_TURN_CHARS, service.limits); dictionaries are bounded by the body limit.
_NAME = 256
# A fixed creation time for the one model (the day the API landed), so /v1/models is stable.
MODEL_CREATED = 1_763_683_200


class TextPart(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str = Field(max_length=64)
    text: str | None = None  # bounded with the whole message (FOOTNOTE_MAX_TURN_CHARS, service.limits)


class ChatMessage(BaseModel):
    """One message; ``content`` is a string or a list of ``{"type": "text", "text": ...}`` parts."""

    # Messages carry fields this API has no use for (name, tool_calls, refusal, ...): ignore them.
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[TextPart] | None = None

    @field_validator("content")
    @classmethod
    def _text_only(cls, value: str | list[TextPart] | None) -> str | list[TextPart] | None:
        if isinstance(value, list):
            for part in value:
                if part.type not in ("text", "refusal"):
                    raise ValueError(f"content parts of type {part.type!r} are not supported: send text")
        return value

    def text(self) -> str:
        """The message's text, parts joined by newlines."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(part.text or "" for part in self.content if part.type == "text")


class ChatCompletionRequest(BaseModel):
    # Unknown parameters are refused, as OpenAI does ("Unrecognized request argument").
    model_config = ConfigDict(extra="forbid")

    model: str = Field(MODEL_ID, max_length=_NAME, description="Any name is accepted; the answer always comes from "
                       "`footnote`.")
    messages: list[ChatMessage] = Field(
        min_length=1,
        description="The conversation, oldest first. System messages are ignored; the last user message is "
        "the question and the user/assistant messages before it are the history.",
    )
    stream: StrictBool | None = False
    stream_options: dict[str, Any] | None = None
    n: JsonInt | None = Field(1, description="Only 1: there is one extractive answer.")
    top_k: JsonInt = Field(5, ge=1, description="Footnote extension: how many passages to retrieve (at most "
                                            "FOOTNOTE_MAX_TOP_K, 50).")

    # Accepted and ignored: they steer sampling, and nothing here is sampled.
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: JsonInt | None = None
    max_completion_tokens: JsonInt | None = None
    stop: Annotated[str, Field(max_length=_NAME)] | Annotated[list[Annotated[str, Field(max_length=_NAME)]], Field(
        max_length=4)] | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    seed: JsonInt | None = None
    user: str | None = Field(None, max_length=_NAME)
    metadata: dict[str, Any] | None = None
    store: StrictBool | None = None
    service_tier: str | None = Field(None, max_length=_NAME)
    reasoning_effort: str | None = Field(None, max_length=_NAME)
    parallel_tool_calls: StrictBool | None = None
    tools: list[dict[str, Any]] | None = None
    functions: list[dict[str, Any]] | None = None
    # Refused when they ask for something the answer cannot be.
    logprobs: StrictBool | None = None
    top_logprobs: JsonInt | None = None
    response_format: dict[str, Any] | None = None
    tool_choice: Annotated[str, Field(max_length=_NAME)] | dict[str, Any] | None = None
    function_call: Annotated[str, Field(max_length=_NAME)] | dict[str, Any] | None = None

    @field_validator("n")
    @classmethod
    def _one_choice(cls, value: int | None) -> int | None:
        if value not in (None, 1):
            raise ValueError("only n=1 is supported: there is one extractive answer")
        return value

    @field_validator("logprobs")
    @classmethod
    def _no_logprobs(cls, value: bool | None) -> bool | None:
        if value:
            raise ValueError("logprobs are not available: answers are quoted, not sampled")
        return value

    @field_validator("response_format")
    @classmethod
    def _text_format(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value and value.get("type", "text") != "text":
            raise ValueError(f"only the text response format is supported, not {value.get('type')!r}")
        return value

    @field_validator("tool_choice", "function_call")
    @classmethod
    def _no_forced_tools(cls, value: str | dict[str, Any] | None) -> str | dict[str, Any] | None:
        if value not in (None, "none", "auto"):
            raise ValueError("tool calls are not supported: answers are quotes from the documents")
        return value

    @field_validator("messages")
    @classmethod
    def _has_question(cls, value: list[ChatMessage]) -> list[ChatMessage]:
        if not any(m.role == "user" and not_blank(m.text()) for m in value):
            raise ValueError("must contain a user message with the question")
        return value

    def question_index(self) -> int:
        """Position of the last user message: the question."""
        return max(i for i, m in enumerate(self.messages) if m.role == "user" and not_blank(m.text()))


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ResponseMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    refusal: None = None


class Choice(BaseModel):
    index: int = 0
    message: ResponseMessage
    logprobs: None = None
    finish_reason: Literal["stop"] = "stop"


class ChatCompletion(BaseModel):
    """OpenAI's ``chat.completion``, plus the structured footnotes, ``grounded`` and ``query``."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str = MODEL_ID
    system_fingerprint: str | None = None
    choices: list[Choice]
    usage: Usage
    footnotes: list[Footnote] = Field(description="The same objects as `POST /answer` returns.")
    grounded: bool
    query: str = Field(description="The standalone query that was searched.")


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
