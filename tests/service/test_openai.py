"""The OpenAI-compatible API through the official `openai` client, against a real server on the real corpus."""

from __future__ import annotations

from pathlib import Path

import httpx
import openai
import pytest

from tests.service.conftest import live_server

IBM_URL = (
    "https://www.rapidus.inc/en/news_topics/information/"
    "ibm-and-rapidus-form-strategic-partnership-to-build-advanced-semiconductor-technology-and-ecosystem-in-japan/"
)
REPORT_TITLE = "Critical and Emerging Technologies Index 2025: Japan Report"


@pytest.fixture(scope="module")
def client(corpus_server: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{corpus_server}/v1", api_key="x", max_retries=0, timeout=60)


def ibm_note(footnotes: list[dict]) -> dict:
    notes = [n for n in footnotes if "IBM" in n["quote"]]
    assert notes, footnotes
    return notes[0]


def test_models_lists_footnote(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["footnote"]
    assert client.models.retrieve("footnote").owned_by == "footnote"
    with pytest.raises(openai.NotFoundError, match="the only model is 'footnote'"):
        client.models.retrieve("gpt-4o")


def test_completion_quotes_with_footnotes(client: openai.OpenAI) -> None:
    resp = client.chat.completions.create(
        model="footnote",
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},  # ignored
            {"role": "user", "content": "What is Rapidus?"},
        ],
        temperature=0.2,
        max_tokens=50,
        n=1,
        user="test",
    )
    assert resp.object == "chat.completion"
    assert resp.model == "footnote"
    choice = resp.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    content = choice.message.content
    extra = resp.model_extra
    assert extra["grounded"] is True and extra["query"] == "What is Rapidus?"
    note = ibm_note(extra["footnotes"])
    assert set(note) == {"n", "quote", "doc_id", "title", "section", "passage_id", "start", "end", "citations",
                         "confidence", "ocr", "page", "pages", "boxes", "anchor"}
    assert (note["page"], note["pages"], note["boxes"]) == (None, [], [])  # a text file: no pages
    assert IBM_URL in [u for c in note["citations"] for u in c["urls"]]
    # The answer with its markers, then one footnote line per quote, naming the source it cites.
    answer = content.partition("\n\n[1]: ")[0]
    assert f"“{note['quote']}” [{note['n']}]" in answer
    line = next(ln for ln in content.splitlines() if ln.startswith(f"[{note['n']}]: "))
    assert line.startswith(f"[{note['n']}]: “{note['quote']}” — {REPORT_TITLE} › Semiconductors")
    assert f"(cites: {IBM_URL}" in line
    assert resp.usage is not None and resp.usage.completion_tokens > 0


def test_follow_up_uses_earlier_turns_and_text_parts(client: openai.OpenAI) -> None:
    first = client.chat.completions.create(model="footnote", messages=[{"role": "user", "content": "What is Rapidus?"}])
    resp = client.chat.completions.create(
        model="footnote",
        messages=[
            {"role": "user", "content": "What is Rapidus?"},
            {"role": "assistant", "content": first.choices[0].message.content},
            {"role": "user", "content": [{"type": "text", "text": "Who is it partnering with?"}]},
        ],
    )
    assert resp.model_extra["query"] == "Who is Rapidus partnering with?"
    assert "IBM" in resp.choices[0].message.content
    ibm_note(resp.model_extra["footnotes"])


def test_streamed_completion_carries_footnotes_on_the_final_chunk(client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "Which company is Rapidus partnering with?"}]
    plain = client.chat.completions.create(model="footnote", messages=messages)
    chunks = list(client.chat.completions.create(
        model="footnote", messages=messages, stream=True, stream_options={"include_usage": True}
    ))
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    deltas = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(deltas) > 5  # streamed in pieces, not one lump
    assert "".join(deltas) == plain.choices[0].message.content
    final = next(c for c in chunks if c.choices and c.choices[0].finish_reason)
    assert final.choices[0].finish_reason == "stop"
    assert final.model_extra["footnotes"] == plain.model_extra["footnotes"]
    assert final.model_extra["grounded"] is True
    assert IBM_URL in [u for c in ibm_note(final.model_extra["footnotes"])["citations"] for u in c["urls"]]
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0


def test_stream_ends_with_done(corpus_server: str) -> None:
    body = {"model": "footnote", "stream": True, "messages": [{"role": "user", "content": "What is Rapidus?"}]}
    response = httpx.post(f"{corpus_server}/v1/chat/completions", json=body, timeout=60)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [block for block in response.text.split("\n\n") if block]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"


def test_not_found_is_said_plainly(client: openai.OpenAI) -> None:
    resp = client.chat.completions.create(
        model="footnote", messages=[{"role": "user", "content": "What is the recipe for banana bread?"}]
    )
    assert resp.choices[0].message.content == "Not found in the documents."
    assert resp.model_extra["grounded"] is False and resp.model_extra["footnotes"] == []


@pytest.mark.parametrize(
    ("kwargs", "param", "message"),
    [
        ({"messages": [{"role": "system", "content": "Be brief."}]}, "messages",
         "messages: must contain a user message with the question"),
        ({"messages": [{"role": "user", "content": "What is Rapidus?"}], "n": 2}, "n",
         "n: only n=1 is supported: there is one extractive answer"),
        ({"messages": [{"role": "user", "content": "What is Rapidus?"}], "extra_body": {"temperatur": 0}},
         "temperatur", "temperatur: is not a known field"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
         "messages.0.content", "content parts of type 'image_url' are not supported"),
    ],
)
def test_invalid_requests_get_openai_errors(client: openai.OpenAI, kwargs: dict, param: str, message: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="footnote", **kwargs)
    error = caught.value
    assert error.status_code == 400
    assert message in error.message
    assert error.body == {"message": error.body["message"], "type": "invalid_request_error", "param": param,
                          "code": None}


def test_api_key_is_required_when_set(corpus_index: Path) -> None:
    with live_server(corpus_index, api_key="s3cret") as url:
        messages = [{"role": "user", "content": "What is Rapidus?"}]
        wrong = openai.OpenAI(base_url=f"{url}/v1", api_key="nope", max_retries=0)
        with pytest.raises(openai.AuthenticationError) as caught:
            wrong.chat.completions.create(model="footnote", messages=messages)
        assert caught.value.body["type"] == "authentication_error"
        assert "FOOTNOTE_API_KEY" in caught.value.body["message"]
        right = openai.OpenAI(base_url=f"{url}/v1", api_key="s3cret", max_retries=0)
        assert right.chat.completions.create(model="footnote", messages=messages).model_extra["grounded"] is True
