"""The MCP server through the SDK's own client: over stdio (a real `footnote mcp` process) and over streamable
HTTP (`/mcp` on a real uvicorn server), on the default corpus.

Each transport runs one scripted session per module (starting a server loads the models); the tests then
check what that session saw, the same checks for both transports.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import mcp_types
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from tests.service.conftest import live_server
from tests.service.test_answer_api import IBM_URL

FOOTNOTE = str(Path(sys.executable).with_name("footnote"))
API_KEY = "mcp-test-key"
RAPIDUS = "Which company is Rapidus partnering with?"
OFF_TOPIC = "What is the population of Osaka?"
TOOLS = {"answer", "search", "list_documents", "read_document"}
QUESTIONS = [  # the stdout check's session: 20 questions, answered and abstained
    RAPIDUS, OFF_TOPIC, "What is Society 5.0?", "How does Japan rank in quantum technologies?",
    "What is the Space Strategy Fund?", "Who chairs the CSTI?",
    "Has digital transformation progressed in Japanese businesses?", "Which company did Rapidus partner with?",
    "Where will Rapidus build its factory?", "What does the report say about artificial intelligence?",
    "What is Japan's science and technology basic plan?", "Which ministry oversees science policy?",
    "What is the Moonshot research program?", "How much does Japan spend on research and development?",
    "What is the best pizza in Naples?", "How tall is Mount Everest?",
    "What are Japan's semiconductor policies?", "What is the Cabinet Office's role in innovation?",
    "What did Japan decide about quantum computing?", "Who won the 1998 World Cup?",
]

Session = dict[str, Any]


def _env() -> dict[str, str]:
    return {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


async def _outcome(call: Awaitable[Any]) -> Any:
    """The result, or the MCP error it raised (a protocol error, for a resource)."""
    try:
        return await call
    except MCPError as exc:
        return exc


async def _script(client: Client) -> Session:
    """List and call every tool, resource and prompt once, the good calls and the refused ones."""
    seen: Session = {"tools": {tool.name: tool for tool in (await client.list_tools()).tools}}
    seen["rapidus"] = await client.call_tool("answer", {"question": RAPIDUS})
    note = seen["rapidus"].structured_content["footnotes"][0]
    seen["quote_span"] = await client.call_tool(
        "read_document", {"doc_id": note["doc_id"], "start": note["start"], "end": note["end"]})
    seen["off_topic"] = await client.call_tool("answer", {"question": OFF_TOPIC})
    seen["follow_up"] = await client.call_tool("answer", {
        "question": "When was it founded?",
        "history": [{"role": "user", "content": "What is Rapidus?"},
                    {"role": "assistant", "content": "Rapidus is a Japanese semiconductor company."}]})
    seen["blank"] = await client.call_tool("answer", {"question": "   "})
    seen["too_long"] = await client.call_tool("answer", {"question": "x" * 2001})
    seen["bad_history"] = await client.call_tool("answer", {"question": "Why?", "history": [{"role": "robot"}]})
    seen["search"] = await client.call_tool("search", {"query": "Rapidus IBM partnership", "k": 3})
    seen["search_bm25"] = await client.call_tool("search", {"query": "quantum", "mode": "bm25"})
    seen["big_k"] = await client.call_tool("search", {"query": "quantum", "k": 51})
    seen["documents"] = await client.call_tool("list_documents", {})
    doc_id = seen["documents"].structured_content["documents"][0]["doc_id"]
    seen["doc_id"] = doc_id
    seen["read"] = await client.call_tool("read_document", {"doc_id": doc_id, "start": 10, "end": 60})
    seen["read_long"] = await client.call_tool("read_document", {"doc_id": doc_id})
    seen["bad_doc"] = await client.call_tool("read_document", {"doc_id": "no-such-doc"})
    seen["bad_start"] = await client.call_tool("read_document", {"doc_id": doc_id, "start": -1})
    seen["resources"] = (await client.list_resources()).resources
    seen["templates"] = (await client.list_resource_templates()).resource_templates
    seen["resource"] = await _outcome(client.read_resource(f"footnote://documents/{doc_id}"))
    seen["bad_resource"] = await _outcome(client.read_resource("footnote://documents/no-such-doc"))
    seen["prompts"] = (await client.list_prompts()).prompts
    seen["prompt"] = await client.get_prompt("cite-from-documents", {"question": RAPIDUS})
    return seen


def _run(connect: Callable[[], Awaitable[Session]]) -> Session:
    return anyio.run(connect)


@pytest.fixture(scope="module")
def stdio_session(corpus_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Session:
    """A `footnote mcp` process, its stdout copied to a file (tee) to check that it carries protocol only."""
    folder = tmp_path_factory.mktemp("mcp-stdio")
    wire, errors = folder / "stdout.jsonl", folder / "stderr.txt"
    params = StdioServerParameters(
        command="sh", args=["-c", 'exec "$0" mcp --index "$1" | tee "$2"', FOOTNOTE, str(corpus_index), str(wire)],
        env=_env())

    async def session() -> Session:
        with errors.open("w") as errlog:
            from mcp.client.stdio import stdio_client

            async with Client(stdio_client(params, errlog=errlog)) as client:
                seen = await _script(client)
                seen["questions"] = [await client.call_tool("answer", {"question": q}) for q in QUESTIONS]
        seen["stdout"] = wire.read_text("utf-8")
        seen["stderr"] = errors.read_text("utf-8")
        return seen

    return _run(session)


@pytest.fixture(scope="module")
def keyed_server(corpus_index: Path) -> Iterator[str]:
    with live_server(corpus_index, api_key=API_KEY) as url:
        yield url


@pytest.fixture(scope="module")
def http_session(keyed_server: str) -> Session:
    async def session() -> Session:
        headers = {"Authorization": f"Bearer {API_KEY}"}
        async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(60, read=300)) as http:
            async with Client(streamable_http_client(f"{keyed_server}/mcp", http_client=http)) as client:
                return await _script(client)

    return _run(session)


@pytest.fixture(params=["stdio", "http"])
def seen(request: pytest.FixtureRequest) -> Session:
    session: Session = request.getfixturevalue(f"{request.param}_session")
    return session


def _text(result: mcp_types.CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, mcp_types.TextContent))


def _error(result: mcp_types.CallToolResult) -> str:
    """The one line of a tool's error result."""
    assert result.is_error, result
    text = _text(result)
    assert "\n" not in text and "Traceback" not in text, text
    return text


def test_lists_the_tools_with_schemas_and_descriptions(seen: Session) -> None:
    tools = seen["tools"]
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.description and len(tool.description) > 80, tool.name
        assert tool.input_schema["type"] == "object"
        assert tool.output_schema is not None, tool.name
        assert tool.annotations is not None and tool.annotations.read_only_hint is True
    assert tools["answer"].input_schema["required"] == ["question"]
    assert set(tools["answer"].input_schema["properties"]) == {"question", "history"}
    assert set(tools["search"].input_schema["properties"]) == {"query", "mode", "k"}
    assert set(tools["read_document"].input_schema["properties"]) == {"doc_id", "start", "end"}
    assert "footnotes" in tools["answer"].output_schema["properties"]


def test_rapidus_question_quotes_ibm_with_the_press_release(seen: Session) -> None:
    result = seen["rapidus"]
    assert not result.is_error, _text(result)
    body = result.structured_content
    assert body["abstained"] is False
    quotes = [n for n in body["footnotes"] if "IBM" in n["quote"]]
    assert quotes, body["answer"]
    note = quotes[0]
    assert IBM_URL in [url for cite in note["citations"] for url in cite["urls"]]
    assert note["uri"] == f"footnote://documents/{note['doc_id']}"
    assert f"[{note['n']}]" in body["answer"]
    text = _text(result)  # the short rendering carries the quote and its source too
    assert note["quote"][:40] in text and IBM_URL in text


def test_quotes_are_the_documents_own_text(seen: Session) -> None:
    note = seen["rapidus"].structured_content["footnotes"][0]
    span = seen["quote_span"].structured_content
    assert (span["doc_id"], span["start"], span["end"]) == (note["doc_id"], note["start"], note["end"])
    assert span["text"] == note["quote"]
    assert [c["marker"] for c in span["citations"]] == [c["marker"] for c in note["citations"]]


def test_off_topic_question_abstains(seen: Session) -> None:
    result = seen["off_topic"]
    assert not result.is_error
    body = result.structured_content
    assert body["abstained"] is True
    assert body["footnotes"] == []
    assert "abstained" in _text(result)


def test_follow_up_is_answered_with_history(seen: Session) -> None:
    result = seen["follow_up"]
    assert not result.is_error, _text(result)
    assert "Rapidus" in result.structured_content["query"]


def test_invalid_input_gets_the_apis_one_line_messages(seen: Session) -> None:
    assert _error(seen["blank"]) == "question: the question is empty or only white space: ask something"
    assert _error(seen["too_long"]) == "question: String should have at most 2000 characters"
    assert _error(seen["bad_history"]).startswith("history.0.role:")
    assert _error(seen["big_k"]) == "k: Input should be less than or equal to 50"


def test_search_returns_ranked_passages(seen: Session) -> None:
    passages = seen["search"].structured_content["passages"]
    assert 1 <= len(passages) <= 3
    assert any("IBM" in p["text"] for p in passages)
    assert [p["score"] for p in passages] == sorted((p["score"] for p in passages), reverse=True)
    assert seen["search_bm25"].structured_content["passages"]


def test_list_and_read_documents(seen: Session) -> None:
    documents = seen["documents"].structured_content["documents"]
    assert {d["doc_id"] for d in documents} >= {"cet-index-2025-japan-report"}
    read = seen["read"].structured_content
    assert (read["start"], read["end"], len(read["text"])) == (10, 60, 50)
    assert read["truncated"] is False and read["next_start"] == 60
    resource = seen["resource"]
    assert resource.contents[0].text[10:60] == read["text"]
    whole = seen["read_long"].structured_content
    assert len(whole["text"]) == min(whole["chars"], 8000)
    assert whole["truncated"] is (whole["chars"] > 8000)


def test_unknown_document_is_an_error_naming_it(seen: Session) -> None:
    assert _error(seen["bad_doc"]) == "no document with id 'no-such-doc': list_documents lists them"
    assert _error(seen["bad_start"]).startswith("start: must be between 0 and")
    bad = seen["bad_resource"]
    assert isinstance(bad, MCPError), bad
    assert "no-such-doc" in str(bad) and "Traceback" not in str(bad)


def test_documents_are_resources_and_the_prompt_keeps_footnotes(seen: Session) -> None:
    uris = {str(r.uri) for r in seen["resources"]}
    assert f"footnote://documents/{seen['doc_id']}" in uris
    assert [t.uri_template for t in seen["templates"]] == ["footnote://documents/{doc_id}"]
    assert [p.name for p in seen["prompts"]] == ["cite-from-documents"]
    message = seen["prompt"].messages[0].content
    assert isinstance(message, mcp_types.TextContent)
    assert RAPIDUS in message.text and "footnote number" in message.text


def test_stdio_stdout_carries_only_json_rpc(stdio_session: Session) -> None:
    answers = stdio_session["questions"]
    assert len(answers) == 20 and not any(a.is_error for a in answers)
    assert any(a.structured_content["abstained"] for a in answers)
    assert any(not a.structured_content["abstained"] for a in answers)
    lines = stdio_session["stdout"].splitlines()
    assert len(lines) >= 20 + 20
    for line in lines:
        message = json.loads(line)
        assert message.get("jsonrpc") == "2.0", line[:200]
        mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False)
    assert "Traceback" not in stdio_session["stderr"]


def test_http_without_the_key_is_refused(keyed_server: str, http_session: Session) -> None:
    assert http_session["rapidus"].structured_content["footnotes"]  # with the key, it answers
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                  "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                             "clientInfo": {"name": "test", "version": "0"}}}
    headers = {"Accept": "application/json, text/event-stream"}
    for auth in ({}, {"Authorization": "Bearer wrong"}):
        response = httpx2.post(f"{keyed_server}/mcp", json=initialize, headers={**headers, **auth}, timeout=30)
        assert response.status_code == 401, response.text
        assert response.json()["detail"].startswith("missing or wrong API key")

    async def without_key() -> None:
        async with Client(f"{keyed_server}/mcp") as client:
            await client.list_tools()

    with pytest.raises(BaseException):  # noqa: B017 - the SDK wraps the 401 in its own exception groups
        anyio.run(without_key)


def test_http_refuses_a_foreign_host(keyed_server: str) -> None:
    response = httpx2.post(f"{keyed_server}/mcp", json={}, headers={"Host": "evil.example"}, timeout=30)
    assert response.status_code == 400
    assert "does not answer to the host" in response.json()["detail"]


def test_missing_index_is_an_error_result(tmp_path: Path) -> None:
    params = StdioServerParameters(command=FOOTNOTE, args=["mcp", "--index", str(tmp_path / "none")], env=_env())

    async def session() -> mcp_types.CallToolResult:
        async with Client(params) as client:
            return await client.call_tool("answer", {"question": RAPIDUS})

    message = _error(anyio.run(session))
    assert message.startswith("no index at ") and "footnote ingest" in message
