"""Request and response models of the HTTP API (also used by ``footnote ask`` and the eval).

The mapping from the index's plain data (``Document``, ``Passage``, ``Hit``) to responses lives here
only: ``CitationOut.of``, ``PassageOut.of``, ``Footnote.of``, ``DocumentOut.of``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, field_validator
from pydantic_core import PydanticCustomError

from footnote.index.hits import Mode
from footnote.ingest.models import Citation, Document, Passage
from footnote.service.where import locate

if TYPE_CHECKING:
    from footnote.index.hits import Hit
    from footnote.index.pages import PageMap

# The one "not blank" rule, of the models' checks and of the schema (service.schema): some character that is
# white space neither to Python (str.isspace: U+001C-U+001F, U+0085 ...) nor to JSON Schema's ECMA-262 ``\s``
# (U+FEFF), spelled out so that both regex engines read the pattern alike.
NOT_BLANK = (r"[^\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
             r"\ufeff]")
_NOT_BLANK = re.compile(NOT_BLANK)


def not_blank(text: str) -> bool:
    """Whether ``text`` has a character that is not white space (``NOT_BLANK``)."""
    return _NOT_BLANK.search(text) is not None


def _json_integer(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


# An integer as JSON Schema's ``"type": "integer"`` says: a number without a fraction (5, 5.0), never a boolean
# (``"top_k": true``) or a string (``"5"``), which pydantic's lax mode would take. Booleans: ``StrictBool``.
JsonInt = Annotated[int, BeforeValidator(_json_integer)]


class Turn(BaseModel):
    """One earlier message of the conversation."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    # At most FOOTNOTE_MAX_TURN_CHARS (20000): the app's limit, checked by service.limits.
    content: str


class AnswerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Upper limits (FOOTNOTE_MAX_QUESTION_CHARS, FOOTNOTE_MAX_TOP_K) are the app's: service.limits.check_limits.
    question: str = Field(
        min_length=1,
        description="The question, not only white space; at most FOOTNOTE_MAX_QUESTION_CHARS (2000) characters.",
        examples=["What is Rapidus?"],
    )
    history: list[Turn] = Field(
        default_factory=list,
        description="Earlier turns, oldest first; used to rewrite follow-up questions. At most "
        "FOOTNOTE_MAX_HISTORY_TURNS (50) turns of FOOTNOTE_MAX_TURN_CHARS (20000) characters, "
        "FOOTNOTE_MAX_HISTORY_CHARS (100000) in all.",
    )
    top_k: JsonInt = Field(5, ge=1, description="How many passages to retrieve (at most FOOTNOTE_MAX_TOP_K, 50).")

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not not_blank(value):
            raise ValueError("the question is empty or only white space: ask something")
        return value


class CitationOut(BaseModel):
    """A source the document itself cites (its own footnote or endnote)."""

    marker: str
    text: str
    urls: list[str]

    @classmethod
    def of(cls, citation: Citation) -> CitationOut:
        return cls(marker=citation.marker, text=citation.text, urls=list(citation.urls))


class BoxOut(BaseModel):
    """A rectangle on a PDF page: ``page`` 1-based, coordinates in PDF points from the page's top left."""

    page: int
    x0: float
    y0: float
    x1: float
    y1: float


PAGE_DOC = "The first page (1-based) the text is printed on; null when the document has no pages (not a PDF) " \
           "or its index was built before page maps."
PAGES_DOC = "Every page (1-based) the text is printed on, in order (two for a sentence across a page break)."
ANCHOR_DOC = "The nearest heading's anchor: its own element id in an HTML page that gives it one, else its slug " \
             "(lower case, each run of other characters than letters and digits as one `-`); null without a heading."


def page_label(pages: list[int]) -> str:
    """``p. 7`` or ``pp. 7–8`` (empty without pages)."""
    if not pages:
        return ""
    return f"p. {pages[0]}" if len(pages) == 1 else f"pp. {pages[0]}–{pages[-1]}"


class Footnote(BaseModel):
    """One numbered quote in the answer, with proof of where it stands."""

    n: int
    quote: str = Field(description="Verbatim text: equals documents[doc_id].text[start:end].")
    doc_id: str
    title: str
    section: list[str]
    passage_id: str
    start: int
    end: int
    citations: list[CitationOut]
    confidence: float = Field(default=0.0, description="The reader's probability that this quote answers the question.")
    ocr: bool = Field(default=False, description="True when the document's text was read by OCR (a scanned PDF): "
                                                 "the quote is verbatim to that text, which may differ from the scan.")
    page: int | None = Field(default=None, description=PAGE_DOC)
    pages: list[int] = Field(default_factory=list, description=PAGES_DOC)
    boxes: list[BoxOut] = Field(
        default_factory=list,
        description="PDF only: one box per printed line of the quote, in PDF points (origin top left). "
                    "`GET /documents/{doc_id}/pages/{page}.png?start=&end=` draws them on the page.")
    anchor: str | None = Field(default=None, description=ANCHOR_DOC)

    @classmethod
    def of(cls, n: int, document: Document, passage: Passage, start: int, end: int,
           page_map: PageMap | None = None) -> Footnote:
        """Footnote ``n``: the document's text ``[start:end]`` (a sentence of ``passage``), what it cites, and
        where it stands (pages and boxes from ``page_map``, a PDF's; the heading's anchor)."""
        where = locate(page_map, passage.section, start, end, document=document)
        return cls(n=n, quote=document.text[start:end], doc_id=document.doc_id, title=document.title,
                   section=list(passage.section), passage_id=passage.id, start=start, end=end,
                   citations=[CitationOut.of(c) for c in document.citations_between(start, end)],
                   ocr=document.ocr, page=where.page, pages=where.pages,
                   boxes=[BoxOut(**b.to_dict()) for b in where.boxes], anchor=where.anchor)

    def where(self) -> str:
        """``Title › Section, p. 7``: the text form of where the quote stands."""
        label = page_label(self.pages)
        return " › ".join([self.title, *self.section]) + (f", {label}" if label else "")


class PassageOut(BaseModel):
    passage_id: str
    doc_id: str
    title: str
    section: list[str]
    text: str
    score: float
    start: int
    end: int
    citations: list[CitationOut] = Field(default_factory=list)
    page: int | None = Field(default=None, description=PAGE_DOC)
    pages: list[int] = Field(default_factory=list, description=PAGES_DOC)
    anchor: str | None = Field(default=None, description=ANCHOR_DOC)

    @classmethod
    def of(cls, hit: Hit, page_map: PageMap | None = None) -> PassageOut:
        """The hit's passage; its pages from ``page_map`` (its PDF's; boxes: draw them with
        `GET /documents/{doc_id}/pages/{page}.png?passage=`)."""
        p = hit.passage
        where = locate(page_map, p.section, p.start, p.end, boxes=False)
        return cls(passage_id=p.id, doc_id=p.doc_id, title=p.title, section=list(p.section), text=p.text,
                   score=float(hit.score), start=p.start, end=p.end,
                   citations=[CitationOut.of(c) for c in p.citations], page=where.page, pages=where.pages,
                   anchor=where.anchor)


class Answer(BaseModel):
    answer: str = Field(description="Markdown: quotes, each followed by its [n] footnote marker.")
    grounded: bool = Field(description="False when the documents hold no answer.")
    confidence: float = Field(
        default=0.0,
        description="The reader's probability (0..1) that the documents answer the question; below a fitted "
                    "threshold the answer abstains.")
    uncertain: bool = Field(
        default=False,
        description="True when it answers with low confidence: the answer's first paragraph then says that the "
                    "documents may not answer the question, and the quotes follow.")
    query: str = Field(description="The standalone query that was searched (rewritten for follow-ups).")
    footnotes: list[Footnote]
    passages: list[PassageOut]

    def to_markdown(self) -> str:
        """The answer followed by its footnote list, for terminals and chat clients."""
        lines = [self.answer]
        if self.footnotes:
            lines.append("")
            for note in self.footnotes:
                line = f"[{note.n}] {note.where()} (chars {note.start}-{note.end})" + (" (OCR)" if note.ocr else "")
                for cite in note.citations:
                    urls = " ".join(cite.urls)
                    line += f"\n    cites [{cite.marker}] {cite.text}"
                    if urls and urls not in cite.text:
                        line += f" <{urls}>"
                lines.append(line)
        return "\n".join(lines)


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, description="At most FOOTNOTE_MAX_QUESTION_CHARS (2000) characters.")
    mode: Mode = Mode.HYBRID
    k: JsonInt = Field(10, ge=1, description="At most FOOTNOTE_MAX_TOP_K (50).")
    rerank: StrictBool = Field(False, description="Reorder the passages by the reader: each scores as its best "
                                            "sentence's probability of answering the query.")

    @field_validator("query")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not not_blank(value):
            raise ValueError("the query is empty or only white space")
        return value


class SearchResponse(BaseModel):
    passages: list[PassageOut]


class DocumentOut(BaseModel):
    doc_id: str
    title: str
    path: str
    sha256: str
    format: str
    text: str
    sections: list[dict[str, object]]
    footnotes: list[CitationOut]
    ocr_pages: list[int] = Field(default_factory=list,
                                 description="Pages (0-based) whose text was read by OCR (a scanned PDF).")

    @classmethod
    def of(cls, doc: Document) -> DocumentOut:
        return cls(doc_id=doc.doc_id, title=doc.title, path=doc.path, sha256=doc.sha256, format=doc.format,
                   text=doc.text, sections=[{"path": list(s.path), "start": s.start, "end": s.end}
                                            for s in doc.sections],
                   footnotes=[CitationOut.of(c) for c in doc.footnotes], ocr_pages=list(doc.ocr_pages))


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    ready: bool
    documents: int
    passages: int
    index_version: str | None = None
    fusion: dict[str, Any] | None = None  # the hybrid fusion in use, its source, and the fit's evidence
    detail: str | None = None


class ErrorResponse(BaseModel):
    """Every error: one human-readable line saying what to fix."""

    detail: str
    errors: list[dict[str, object]] | None = None


class OpenAIError(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIErrorResponse(BaseModel):
    """Every error under ``/v1/``, in OpenAI's shape so its SDKs show the message."""

    error: OpenAIError
