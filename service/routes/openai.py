"""POST /v1/chat/completions and GET /v1/models: Footnote behind OpenAI's chat API, so clients work unchanged.

The last user message is the question and the user/assistant messages before it are the history. The
reply's ``content`` is the answer with its ``[n]`` markers followed by a footnote list; the structured
footnotes (as ``POST /answer`` gives them), ``grounded`` and ``query`` ride along as extra top-level
fields, and on the final chunk when streaming. Invalid requests get status 400 and OpenAI's error shape.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from footnote.errors import NotFound
from footnote.service.deps import AnswererDep, ApiKey, SettingsDep
from footnote.service.errors import OPENAI_ERRORS
from footnote.service.limits import check_limits, check_text, latest_that_fit
from footnote.service.models import Answer, AnswerRequest, Turn, not_blank
from footnote.service.openai_models import (
    MODEL_CREATED,
    MODEL_ID,
    ChatCompletion,
    ChatCompletionRequest,
    Choice,
    ModelCard,
    ModelList,
    ResponseMessage,
    Usage,
)
from footnote.settings import Settings

router = APIRouter(prefix="/v1", tags=["openai"], dependencies=[ApiKey], responses=OPENAI_ERRORS)


# Each streamed delta holds a few words, so clients render progressively without a chunk per character.
_PIECE = re.compile(r"\S+\s*|\s+")
_WORDS_PER_DELTA = 4


@router.get("/models", response_model=ModelList)
def list_models() -> ModelList:
    """The one model: `footnote`."""
    return ModelList(data=[_card()])


@router.get("/models/{model}", response_model=ModelCard)
def get_model(model: str) -> ModelCard:
    if model != MODEL_ID:
        raise NotFound(f"the model {model!r} does not exist: the only model is {MODEL_ID!r}")
    return _card()


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={**OPENAI_ERRORS, 200: {"content": {"text/event-stream": {}},
                                       "description": "A `chat.completion`, or SSE chunks when `stream` is true"}},
)
def chat_completions(body: ChatCompletionRequest, answerer: AnswererDep,
                     settings: SettingsDep) -> ChatCompletion | StreamingResponse:
    """Answer the last user message with verbatim quotes and footnotes, in OpenAI's chat format.

    Sampling parameters (`temperature`, `max_tokens`, ...) are accepted and ignored; `n` must be 1.
    `top_k` (an extension) sets how many passages are retrieved. With `stream: true` the reply is
    Server-Sent Events of `chat.completion.chunk` objects; the final chunk carries `footnotes`.
    """
    request = to_answer_request(body, settings)
    check_limits(settings, text=(("body", "messages", body.question_index(), "content"), request.question),
                 k=(("body", "top_k"), request.top_k))
    answer = answerer.answer(request)
    content = render_content(answer)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    usage = _usage(body, content)
    if body.stream:
        include_usage = bool((body.stream_options or {}).get("include_usage"))
        return StreamingResponse(
            _stream(completion_id, created, content, answer, usage if include_usage else None),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    return ChatCompletion(
        id=completion_id,
        created=created,
        choices=[Choice(message=ResponseMessage(content=content))],
        usage=usage,
        footnotes=answer.footnotes,
        grounded=answer.grounded,
        query=answer.query,
    )


def to_answer_request(body: ChatCompletionRequest, settings: Settings) -> AnswerRequest:
    """The question (last user message) and its history: the latest user/assistant messages before it that fit
    the history limits. Every message, system prompts included, is refused over FOOTNOTE_MAX_TURN_CHARS."""
    for i, message in enumerate(body.messages):
        check_text(settings, ("body", "messages", i, "content"), message.text())
    last = body.question_index()
    history = latest_that_fit(settings, [
        Turn(role=m.role, content=m.text())
        for m in body.messages[:last]
        if m.role in ("user", "assistant") and not_blank(m.text())
    ])
    try:
        return AnswerRequest(question=body.messages[last].text(), history=history, top_k=body.top_k)
    except ValidationError as exc:  # e.g. a question past the length limit: name the message at fault
        raise RequestValidationError(
            [{**err, "loc": ("body", "messages", last, "content")} for err in exc.errors()]
        ) from None


def render_content(answer: Answer) -> str:
    """The answer, then one line per footnote: ``[1]: “quote” — Title › Section, p. 7 (cites: URL)``."""
    if not answer.footnotes:
        return answer.answer
    lines = [answer.answer]
    for note in answer.footnotes:
        quote = " ".join(note.quote.split())
        where = note.where()  # Title › Section, p. 7
        cites = "; ".join(", ".join(c.urls) if c.urls else " ".join(c.text.split()) for c in note.citations)
        # The curly quotes keep Markdown from reading the line as a link reference definition.
        lines.append(f"[{note.n}]: “{quote}” — {where}" + (f" (cites: {cites})" if cites else ""))
    # Blank lines between entries, so Markdown renders one footnote per paragraph.
    return "\n\n".join(lines)


def _stream(completion_id: str, created: int, content: str, answer: Answer, usage: Usage | None) -> Iterator[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "system_fingerprint": None,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    pieces = _PIECE.findall(content)
    for i in range(0, len(pieces), _WORDS_PER_DELTA):
        yield chunk({"content": "".join(pieces[i : i + _WORDS_PER_DELTA])})
    yield chunk({}, "stop", footnotes=[note.model_dump() for note in answer.footnotes],
                grounded=answer.grounded, query=answer.query)
    if usage is not None:
        final = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
                 "choices": [], "usage": usage.model_dump()}
        yield f"data: {json.dumps(final)}\n\n"
    yield "data: [DONE]\n\n"


def _usage(body: ChatCompletionRequest, content: str) -> Usage:
    """cl100k_base token counts of the messages and the reply (nothing is generated; clients expect them)."""
    from footnote.ingest.tokens import count_tokens

    prompt = sum(count_tokens(m.text()) for m in body.messages)
    completion = count_tokens(content)
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


def _card() -> ModelCard:
    return ModelCard(id=MODEL_ID, created=MODEL_CREATED, owned_by="footnote")
