"""GET /documents/{doc_id}/file (the original bytes) and GET /documents/{doc_id}/pages/{n}.png (a PDF page,
with a quote highlighted): where a footnote's ``page`` and ``boxes`` point.

The original is the file the index was built from: its path and sha256 are in the index manifest (corpus
files where they lie, uploads in the uploads folder). It is served only while its bytes still have the
indexed sha256; a file changed or gone since is refused with 409, so offsets never point into other bytes.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from footnote.errors import NotFound
from footnote.index.load import Index
from footnote.index.pages import Box
from footnote.ingest.models import Document
from footnote.service.deps import ApiKey, IndexDep
from footnote.service.errors import ERROR_RESPONSES
from footnote.service.render import PageOutOfRange, RenderBusy, Renderer, RenderTimeout
from footnote.service.where import page_map

router = APIRouter(tags=["documents"], dependencies=[ApiKey])

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "txt": "text/plain",
    "md": "text/markdown",
    "html": "text/html",
    "rst": "text/x-rst",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "epub": "application/epub+zip",
}
# Everything but a PDF opens as a sandboxed, script-less page: an uploaded HTML file must not run on this
# origin (where the chat page keeps the API key). Chromium will not show a PDF under a sandbox.
SANDBOX = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"
CHANGED = "the file changed on disk since it was indexed; run footnote ingest"

FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    200: {"description": "The original file, with its format's content type",
          "content": {kind: {} for kind in [*CONTENT_TYPES.values(), "application/octet-stream"]}},
    409: {"description": "The file changed on disk (or is gone) since it was indexed: run `footnote ingest`"},
}
PAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    200: {"description": "The page as PNG. Headers: `X-Page-Count` (the document's pages), `X-Highlight` "
                         "(`x0,y0,x1,y1`, the highlighted boxes' union in image pixels, when any on this page)",
          "content": {"image/png": {}}},
    409: {"description": "The file changed on disk (or is gone) since it was indexed: run `footnote ingest`"},
    429: {"description": "Too many renders at once: retry after `Retry-After` seconds"},
    503: {"description": "The render took too long"},
}


@dataclass(frozen=True)
class Original:
    path: Path
    raw: bytes


def _document(index: Index, doc_id: str) -> Document:
    doc = index.documents.get(doc_id)
    if doc is None:
        raise NotFound(f"no document with id {doc_id!r}: GET /documents lists them")
    return doc


def original(index: Index, doc: Document) -> Original:
    """The bytes the index was built from, read and checked against the indexed sha256 (409 otherwise)."""
    entry = next((e for e in index.manifest.documents if e.get("doc_id") == doc.doc_id), None)
    if entry is None or not entry.get("source"):
        raise NotFound(f"the index does not record where {doc.doc_id!r} came from: run footnote ingest")
    path = Path(str(entry["source"]))
    try:
        raw = path.read_bytes()
    except OSError:
        raise HTTPException(409, f"{doc.path}: the file is no longer on disk since it was indexed; "
                                 "run footnote ingest") from None
    if hashlib.sha256(raw).hexdigest() != doc.sha256:
        raise HTTPException(409, f"{doc.path}: {CHANGED}")
    return Original(path, raw)


def content_type(doc: Document, raw: bytes) -> str:
    kind = CONTENT_TYPES.get(doc.format) or mimetypes.guess_type(doc.path)[0] or "application/octet-stream"
    if kind.startswith("text/"):
        try:
            raw.decode("utf-8")
            kind += "; charset=utf-8"
        except UnicodeDecodeError:
            pass
    return kind


def disposition(name: str) -> str:
    """``inline`` with the file's name: ASCII for old clients, and RFC 5987 UTF-8 for the rest."""
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in name) or "document"
    return f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get("/documents/{doc_id}/file", response_class=Response, responses=FILE_RESPONSES)
def get_file(doc_id: str, index: IndexDep) -> Response:
    """The document's original file (PDF, docx, HTML, ...) as it was indexed, to open in the browser.

    409 when the file changed on disk since it was indexed: the footnotes' offsets and pages point into the
    indexed version, so other bytes are never served in its place."""
    doc = _document(index, doc_id)
    found = original(index, doc)
    headers = {"Content-Disposition": disposition(Path(doc.path).name), "X-Content-Type-Options": "nosniff",
               "Cache-Control": "private, no-cache"}
    if doc.format != "pdf":
        headers["Content-Security-Policy"] = SANDBOX
    return Response(content=found.raw, media_type=content_type(doc, found.raw), headers=headers)


def _span(index: Index, doc: Document, passage: str | None, start: int | None,
          end: int | None) -> tuple[int, int] | None:
    if passage is not None:
        if start is not None or end is not None:
            raise HTTPException(422, "give either `passage` or `start` and `end`, not both")
        found = index.passage(passage)
        if found.doc_id != doc.doc_id:
            raise NotFound(f"passage {passage!r} is not in document {doc.doc_id!r}")
        return found.start, found.end
    if start is None and end is None:
        return None
    if start is None or end is None:
        raise HTTPException(422, "give both `start` and `end` (character offsets of the quote)")
    if not 0 <= start < end <= len(doc.text):
        raise HTTPException(422, f"`start` and `end` must satisfy 0 <= start < end <= {len(doc.text)} "
                                 "(the document's length in characters)")
    return start, end


@router.get("/documents/{doc_id}/pages/{n}.png", response_class=Response, responses=PAGE_RESPONSES)
def get_page(request: Request, doc_id: str, n: int, index: IndexDep,
             passage: Annotated[str | None, Query(description="Highlight this passage (its id).")] = None,
             start: Annotated[int | None, Query(description="Highlight the text from this offset...")] = None,
             end: Annotated[int | None, Query(description="...to this one (a footnote's `start` and `end`).")] = None,
             ) -> Response:
    """Page `n` (1-based) of a PDF document as PNG, at most 2000 pixels on its long side; with `passage`, or
    `start` and `end`, the text's boxes on this page are highlighted. 404 for a page out of range or a
    document that is no PDF."""
    doc = _document(index, doc_id)
    if doc.format != "pdf":
        raise NotFound(f"{doc_id!r} is not a PDF ({doc.format}): only PDF pages render; "
                       f"GET /documents/{doc_id} has its text")
    span = _span(index, doc, passage, start, end)
    boxes: list[Box] = []
    pages = page_map(index, doc)
    if span is not None and pages is not None:
        boxes = [b for b in pages.boxes(*span) if b.page == n]
    if pages is not None and pages.page_count and not 1 <= n <= pages.page_count:
        raise NotFound(str(PageOutOfRange(n, pages.page_count)))
    renderer: Renderer = request.app.state.renderer
    try:
        rendered = renderer.cached(doc.sha256, n, boxes) or renderer.render(
            doc.sha256, original(index, doc).raw, n, boxes)
    except PageOutOfRange as exc:
        raise NotFound(str(exc)) from None
    except RenderBusy as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": "2"}) from None
    except RenderTimeout as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": "5"}) from None
    headers = {"X-Page-Count": str(rendered.page_count), "Cache-Control": "private, no-cache",
               "X-Content-Type-Options": "nosniff"}
    if rendered.highlight is not None:
        headers["X-Highlight"] = ",".join(map(str, rendered.highlight))
    return Response(content=rendered.png, media_type="image/png", headers=headers)
