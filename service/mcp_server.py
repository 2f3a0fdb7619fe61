"""Footnote as a tool for assistants: a Model Context Protocol server over the same index the HTTP API serves.

Tools: ``answer`` (quotes with numbered footnotes, the document's own sources, confidence, abstention),
``search``, ``list_documents`` and ``read_document`` (a capped span of a document's clean text). Resources:
each document as ``footnote://documents/{doc_id}``. Prompt: ``cite-from-documents``.

Two transports share one server definition:

- stdio (``footnote mcp``, :func:`run_stdio`): the process's stdout carries protocol messages only, so
  everything else (logs, progress bars, stray prints) goes to stderr;
- streamable HTTP at ``/mcp`` on the FastAPI app (:class:`HttpEndpoint`): behind the same Host rules
  (``service.guard`` runs before every route) and the same API key as every other route.

The rules are the HTTP API's: the same request models and limits (``service.models``, ``service.limits``),
and the same one-line messages for an empty question, an over-long input, an unknown document or a missing
index. A tool's failure reaches the model as an error result (``isError``) carrying that line, never a
traceback; an unknown resource is a protocol error with the same line.
"""

# No `from __future__ import annotations`: the SDK reads the tool functions' annotations at run time to
# build their JSON schemas.

import logging
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal, TypeVar

from fastapi.exceptions import RequestValidationError
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import (
    ResourceError,
    ResourceNotFoundError,
    ToolError,
    UnexpectedToolError,
)
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import CallToolResult, InputRequiredResult, TextContent, ToolAnnotations
from mcp_types import Resource as MCPResource
from pydantic import BaseModel, Field, ValidationError
from starlette.types import Receive, Scope, Send

from footnote import __version__
from footnote.errors import FootnoteError
from footnote.index.hits import Mode
from footnote.service.answering.answerer import AnswerSettings
from footnote.service.deps import MISSING_KEY, key_matches
from footnote.service.errors import describe_validation, error_response
from footnote.service.limits import check_history, check_limits
from footnote.service.models import (
    Answer,
    AnswerRequest,
    CitationOut,
    PassageOut,
    SearchRequest,
    Turn,
)
from footnote.service.routes.documents import DocumentSummary, list_documents
from footnote.service.state import IndexHolder
from footnote.service.where import page_map
from footnote.settings import Settings

log = logging.getLogger("footnote.service")
T = TypeVar("T")

SERVER_NAME = "footnote"
PATH = "/mcp"
DOCUMENT_URI = "footnote://documents/{doc_id}"
# One read_document call returns at most this many characters; the result says where to go on.
MAX_READ_CHARS = 8_000

INSTRUCTIONS = """\
Footnote answers questions about the user's documents with verbatim quotes and numbered footnotes.
Call `answer` first: every quote in its result is the document's own text, with its footnote number, its
place (document, section, character offsets) and the sources the document itself cites there (with URLs).
Answer from those quotes only and keep their footnote numbers; when `abstained` is true, say that the
documents do not answer the question rather than answering from memory. `search` returns ranked passages,
`list_documents` the documents, and `read_document` the text around a quote (by its offsets)."""

CITE_PROMPT = """\
Answer the question below using only the Footnote tools.

1. Call the `answer` tool with the question (pass the earlier turns as `history` for a follow-up).
2. If `abstained` is true, reply that the documents do not answer it. Do not answer from memory.
3. Otherwise write the answer from the returned quotes only: quote them verbatim, and put each quote's
   footnote number right after it, as [n], exactly as `answer` numbered it. Do not renumber, merge or invent
   footnotes, and add no claim that no quote supports.
4. End with the footnotes: [n] document title, section, and the URLs of the sources it cites, if any.
5. To check the context of a quote, call `read_document` with its doc_id and offsets.

Question: {question}"""

_READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                             open_world_hint=False)


# -- structured results ---------------------------------------------------------------------------------


class QuoteOut(BaseModel):
    """One numbered quote of an answer: the document's own words and where they stand."""

    n: int = Field(description="The footnote number; the answer text marks the quote with [n].")
    quote: str = Field(description="Verbatim: the document's text from `start` to `end`.")
    doc_id: str
    title: str
    section: list[str] = Field(description="The heading path of the quote, outermost first.")
    start: int = Field(description="Character offset of the quote in the document's clean text.")
    end: int
    page: int | None = Field(default=None, description="The page the quote is on, where the index records one.")
    uri: str = Field(description="The document as a resource (its clean text).")
    confidence: float = Field(description="The reader's probability that this quote answers the question.")
    citations: list[CitationOut] = Field(
        description="The sources the document itself cites for this sentence (its own footnotes), with URLs.")


class AnswerOut(BaseModel):
    answer: str = Field(description="Markdown: the quotes, each followed by its [n] footnote marker.")
    abstained: bool = Field(description="True when the documents hold no answer: there are no quotes then.")
    uncertain: bool = Field(description="True when it answers with low confidence.")
    confidence: float = Field(description="Probability (0..1) that the documents answer the question.")
    query: str = Field(description="The standalone query that was searched (follow-ups are rewritten).")
    footnotes: list[QuoteOut]


class SearchOut(BaseModel):
    passages: list[PassageOut] = Field(description="The passages in rank order, each with its score and offsets.")


class DocumentsOut(BaseModel):
    documents: list[DocumentSummary]


class SectionOut(BaseModel):
    path: list[str]
    start: int
    end: int


class ReadOut(BaseModel):
    doc_id: str
    title: str
    chars: int = Field(description="The length of the document's clean text.")
    start: int
    end: int = Field(description="Where the returned text ends (exclusive).")
    text: str = Field(description="The document's clean text from `start` to `end`.")
    truncated: bool = Field(description=f"True when the span asked for was over {MAX_READ_CHARS:,} characters.")
    next_start: int | None = Field(description="Where to start the next read to go on; null at the end.")
    sections: list[SectionOut] = Field(description="The sections that overlap the span.")
    citations: list[CitationOut] = Field(description="The document's own footnotes cited within the span.")


# -- the server -----------------------------------------------------------------------------------------


def _one_line(exc: ValidationError | RequestValidationError) -> str:
    """The API's one-line message for invalid input (``service.errors.describe_validation``)."""
    if isinstance(exc, ValidationError):
        # Locations as the API has them: describe_validation drops the leading "body".
        exc = RequestValidationError([{**err, "loc": ("body", *err["loc"])} for err in exc.errors()])
    return describe_validation(exc)[0]


def _result(text: str, structured: BaseModel) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)],
                          structured_content=structured.model_dump(mode="json"))


class FootnoteMCP(MCPServer[Any]):
    """The MCP server of one index (an :class:`IndexHolder`) under one set of request limits."""

    def __init__(self, holder: IndexHolder, settings: Settings, **kwargs: Any) -> None:
        # The SDK configures the root logger unless it already has a handler; which handlers a process has
        # is its entry point's choice (`footnote serve` and `footnote mcp` set their own), not a library's.
        root = logging.getLogger()
        placeholder = logging.NullHandler() if not root.handlers else None
        if placeholder is not None:
            root.addHandler(placeholder)
        try:
            super().__init__(SERVER_NAME, title="Footnote", version=__version__, instructions=INSTRUCTIONS,
                             **kwargs)
        finally:
            if placeholder is not None:
                root.removeHandler(placeholder)
        self.holder = holder
        self.footnote_settings = settings
        self._register()

    # A tool's error result is the API's one line: the SDK's "Error executing tool <name>: " prefix is
    # dropped, and invalid arguments (a wrong type, a missing field) are described as the API describes them.
    # A crash keeps the SDK's generic message (its details stay in the server's log).
    async def call_tool(self, name: str, arguments: dict[str, Any],
                        context: Any = None) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError:
            raise
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, ValidationError):
                raise ToolError(_one_line(cause)) from None
            if isinstance(cause, ToolError | ResourceError) and not isinstance(cause, UnexpectedToolError):
                raise ToolError(str(cause)) from None
            raise

    async def list_resources(self) -> list[MCPResource]:
        """Every document of the current index (none before the first ingest)."""
        try:
            documents = self.holder.index().documents.values()
        except FootnoteError:
            return []
        return [MCPResource(uri=DOCUMENT_URI.format(doc_id=doc.doc_id), name=doc.doc_id, title=doc.title,
                            description=f"The clean text of {doc.title} ({len(doc.text):,} characters)",
                            mime_type="text/plain")
                for doc in documents]

    def _register(self) -> None:
        settings = self.footnote_settings
        holder = self.holder
        limits = (f"The question at most {settings.max_question_chars:,} characters; history at most "
                  f"{settings.max_history_turns} turns of {settings.max_turn_chars:,} characters, "
                  f"{settings.max_history_chars:,} in all.")

        @self.tool(name="answer", title="Answer with quoted footnotes", annotations=_READ_ONLY, description=(
            "Answer a question about the user's documents with verbatim quotes, each with a numbered footnote: "
            "the document, section, character offsets (page where known) and the sources the document itself "
            "cites there, with URLs. Use it before answering any question about these documents, and answer "
            "from its quotes only, keeping their [n] numbers. `abstained: true` means the documents hold no "
            f"answer: say so instead of guessing. For a follow-up, pass the earlier turns as `history`. {limits}"))
        def answer(
            question: Annotated[str, Field(description="The question, in natural language.")],
            history: Annotated[list[Turn] | None, Field(
                description="Earlier turns of the conversation, oldest first; a follow-up question is "
                            "rewritten with them into a standalone one.")] = None,
        ) -> Annotated[CallToolResult, AnswerOut]:
            try:
                request = AnswerRequest.model_validate({"question": question, "history": history or []})
                check_limits(settings, text=(("body", "question"), request.question))
                check_history(settings, request.history)
            except (ValidationError, RequestValidationError) as exc:
                raise ToolError(_one_line(exc)) from None
            result = _call(lambda: holder.answerer().answer(request))
            out = _answer_out(result)
            text = result.to_markdown()
            if out.abstained:
                text += "\n\n(abstained: the documents do not answer this question)"
            else:
                text += f"\n\n(confidence {out.confidence:.2f})"
            return _result(text, out)

        @self.tool(name="search", title="Search passages", annotations=_READ_ONLY, description=(
            "Find the passages of the documents that match a query, in rank order, each with its score, "
            "document, section, character offsets and the sources it cites. Use it to explore or to find "
            "material `answer` did not quote; quote from `answer` when citing. Modes: `hybrid` (default, "
            "meaning and words), `dense` (meaning) or `bm25` (exact words). "
            f"`k` passages, at most {settings.max_top_k}; the query at most "
            f"{settings.max_question_chars:,} characters."))
        def search(
            query: Annotated[str, Field(description="What to look for.")],
            mode: Annotated[Literal["hybrid", "dense", "bm25"], Field(description="The retrieval mode.")] = "hybrid",
            k: Annotated[int, Field(description="How many passages to return.")] = 10,
        ) -> Annotated[CallToolResult, SearchOut]:
            try:
                request = SearchRequest.model_validate({"query": query, "mode": Mode(mode), "k": k})
                check_limits(settings, text=(("body", "query"), request.query), k=(("body", "k"), request.k))
            except (ValidationError, RequestValidationError) as exc:
                raise ToolError(_one_line(exc)) from None
            index = _call(holder.index)
            hits = _call(lambda: index.retriever(request.mode).search(request.query, request.k))
            out = SearchOut(passages=[PassageOut.of(hit, page_map(index, index.documents[hit.passage.doc_id]))
                                      for hit in hits])
            lines = [f"{rank}. [{p.score:.3f}] {p.doc_id} > {' > '.join(p.section)} (chars {p.start}-{p.end})\n"
                     f"   {_clip(p.text, 300)}" for rank, p in enumerate(out.passages, 1)]
            return _result("\n".join(lines) or "No passage matches.", out)

        @self.tool(name="list_documents", title="List documents", annotations=_READ_ONLY, description=(
            "List the documents Footnote answers from: id, title, format, length in characters, passages and "
            "how many sources each cites. An empty list means nothing has been ingested yet."))
        def list_documents_tool() -> Annotated[CallToolResult, DocumentsOut]:
            out = DocumentsOut(documents=_call(lambda: list_documents(holder)))
            lines = [f"- {d.doc_id}: {d.title} ({d.format}, {d.chars:,} characters)" for d in out.documents]
            return _result("\n".join(lines) or "No documents: run `footnote ingest`.", out)

        @self.tool(name="read_document", title="Read a document", annotations=_READ_ONLY, description=(
            "Read a span of a document's clean text, the text a quote's offsets point into, to see the context "
            f"around a quote. At most {MAX_READ_CHARS:,} characters per call: a longer span is cut short, and "
            "`next_start` says where to go on. Ids come from `list_documents`, `answer` or `search`."))
        def read_document(
            doc_id: Annotated[str, Field(description="The document's id.")],
            start: Annotated[int, Field(description="The first character (offset into the clean text).")] = 0,
            end: Annotated[int | None, Field(description="Where to stop (exclusive); default: "
                                                         f"{MAX_READ_CHARS:,} characters on.")] = None,
        ) -> Annotated[CallToolResult, ReadOut]:
            index = _call(holder.index)
            doc = index.documents.get(doc_id)
            if doc is None:
                raise ToolError(_unknown(doc_id))
            size = len(doc.text)
            if not 0 <= start <= size:
                raise ToolError(f"start: must be between 0 and {size:,} (the document's length), got {start:,}")
            if end is not None and end < start:
                raise ToolError(f"end: must not be before start ({start:,}), got {end:,}")
            wanted = size if end is None else min(end, size)
            stop = min(wanted, start + MAX_READ_CHARS)
            out = ReadOut(doc_id=doc.doc_id, title=doc.title, chars=size, start=start, end=stop,
                          text=doc.text[start:stop], truncated=stop < wanted,
                          next_start=stop if stop < size else None,
                          sections=[SectionOut(path=list(s.path), start=s.start, end=s.end)
                                    for s in doc.sections if s.start < stop and s.end > start],
                          citations=[CitationOut.of(c) for c in doc.citations_between(start, stop)])
            more = f"\n\n(characters {start:,}-{stop:,} of {size:,}" + (
                f"; go on with start={stop})" if out.next_start is not None else ")")
            return _result(out.text + more, out)

        @self.resource(DOCUMENT_URI, name="document", title="A document's clean text", mime_type="text/plain",
                       description="The clean text of one document: what quotes and offsets point into.")
        def document(doc_id: str) -> str:
            try:
                index = holder.index()
            except FootnoteError as exc:
                raise ResourceError(str(exc)) from None
            doc = index.documents.get(doc_id)
            if doc is None:
                raise ResourceNotFoundError(_unknown(doc_id))
            return doc.text

        @self.prompt(name="cite-from-documents", title="Cite from the documents", description=(
            "Answer a question only from the quotes Footnote's `answer` tool returns, keeping their footnote "
            "numbers and sources."))
        def cite_from_documents(
            question: Annotated[str, Field(description="The question to answer from the documents.")],
        ) -> str:
            return CITE_PROMPT.format(question=question)


def _unknown(doc_id: str) -> str:
    return f"no document with id {doc_id!r}: list_documents lists them"


def _call(work: Callable[[], T]) -> T:
    """Run ``work``; a Footnote error (no index yet, an index that cannot be loaded) becomes the tool's
    error result with the same line the API sends. Anything else is a bug the SDK logs and hides."""
    try:
        return work()
    except FootnoteError as exc:
        raise ToolError(str(exc)) from None


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rstrip() + "..."


def _answer_out(answer: Answer) -> AnswerOut:
    quotes = [QuoteOut(n=note.n, quote=note.quote, doc_id=note.doc_id, title=note.title, section=note.section,
                       start=note.start, end=note.end, page=getattr(note, "page", None),
                       uri=DOCUMENT_URI.format(doc_id=note.doc_id), confidence=note.confidence,
                       citations=note.citations)
              for note in answer.footnotes]
    return AnswerOut(answer=answer.answer, abstained=not answer.grounded, uncertain=answer.uncertain,
                     confidence=answer.confidence, query=answer.query, footnotes=quotes)


def index_holder(settings: Settings) -> IndexHolder:
    """The index of ``settings``, loaded and swapped as `footnote ingest` writes new versions (as the app's)."""
    from footnote.index.hybrid import fusion_from_settings
    from footnote.index.vectors import choose_store

    return IndexHolder(settings.index_dir, model_path=settings.model_path,
                       embed_batch_size=settings.embed_batch_size, query_runtime=settings.query_runtime,
                       answer=AnswerSettings.from_settings(settings), fusion=fusion_from_settings(settings),
                       store=choose_store(settings.store, settings.milvus_uri))


# -- stdio ----------------------------------------------------------------------------------------------


def run_stdio(settings: Settings) -> None:
    """Serve MCP on stdin/stdout until the client closes stdin.

    While it serves, the SDK points file descriptor 1 at stderr and writes the protocol through a private
    duplicate, so nothing printed by any library (or a C extension) can reach the client as a stray line.
    The index loads inside the server's lifespan, after that switch.
    """
    holder = index_holder(settings)

    @asynccontextmanager
    async def lifespan(server: MCPServer[Any]) -> AsyncIterator[None]:
        holder.start()
        try:
            yield
        finally:
            holder.stop()

    FootnoteMCP(holder, settings, lifespan=lifespan).run("stdio")


def stderr_logging() -> None:
    """Logs on stderr only: Footnote's own at INFO (the index served, failed refreshes), others' warnings."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("footnote").setLevel(logging.INFO)


# -- streamable HTTP, mounted on the app ----------------------------------------------------------------


class HttpEndpoint:
    """The MCP server as the app's ``/mcp`` route (streamable HTTP).

    The app's lifespan runs :meth:`running` (the SDK's session manager needs its task group running before
    the first request, and one manager serves one run, so each start makes a new one). Requests pass the
    app's guard first (Host header, body size); this endpoint then asks for the API key like every other
    route, and refuses a cross-site browser request (an ``Origin`` other than the server's own).
    """

    def __init__(self, holder: IndexHolder, settings: Settings) -> None:
        self.settings = settings
        self.server = FootnoteMCP(holder, settings)
        self._manager: StreamableHTTPSessionManager | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        # The Host header is checked by service.guard (FOOTNOTE_ALLOWED_HOSTS) before any route, this one too.
        self.server.streamable_http_app(
            streamable_http_path=PATH, max_request_body_size=self.settings.max_body_kb * 1024,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False))
        manager = self.server.session_manager
        async with manager.run():
            self._manager = manager
            try:
                yield
            finally:
                self._manager = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or [])
        if self.settings.api_key and not key_matches(self.settings.api_key, headers.get(b"authorization")):
            response = error_response(scope, 401, MISSING_KEY, headers={"WWW-Authenticate": "Bearer"})
            await response(scope, receive, send)
            return
        origin = headers.get(b"origin")
        if origin is not None and origin.decode("latin-1").split("://", 1)[-1] != headers.get(b"host", b"").decode(
                "latin-1"):
            message = (f"cross-site request from {origin.decode('latin-1')} refused: "
                       "send it from this server's own origin, or with no Origin header")
            await error_response(scope, 403, message)(scope, receive, send)
            return
        if self._manager is None:
            await error_response(scope, 503, "the MCP endpoint is not running (the app has not started)")(
                scope, receive, send)
            return
        await self._manager.handle_request(scope, receive, send)
