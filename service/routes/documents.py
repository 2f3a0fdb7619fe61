"""GET /documents and /documents/{doc_id}: the clean text a quote's offsets point into."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from footnote.errors import IndexMissing, NotFound
from footnote.index.versions import uploads_dir
from footnote.service.deps import ApiKey, HolderDep, IndexDep
from footnote.service.errors import ERROR_RESPONSES
from footnote.service.models import DocumentOut

router = APIRouter(tags=["documents"], dependencies=[ApiKey])


class DocumentSummary(BaseModel):
    doc_id: str
    title: str
    path: str
    format: str
    chars: int
    source: Literal["corpus", "upload"] = Field(
        description="`upload`: added through POST /documents (can be deleted); `corpus`: from the corpus folder.")
    passages: int
    footnotes: int = Field(description="The document's own footnotes found (sources it cites).")
    added: str | None = Field(description="When the document first entered the index (ISO 8601, UTC).")


@router.get("/documents", response_model=list[DocumentSummary], responses=ERROR_RESPONSES)
def list_documents(holder: HolderDep) -> list[DocumentSummary]:
    """Every ingested document, without its text (an empty list before the first ingest)."""
    try:
        index = holder.index()
    except IndexMissing:
        return []
    uploads = str(uploads_dir(holder.index_dir).resolve())
    entries = {e["doc_id"]: e for e in index.manifest.documents}
    counts: dict[str, int] = {}
    for p in index.passages:
        counts[p.doc_id] = counts.get(p.doc_id, 0) + 1
    return [
        DocumentSummary(doc_id=d.doc_id, title=d.title, path=d.path, format=d.format, chars=len(d.text),
                        source="upload" if entries.get(d.doc_id, {}).get("root") == uploads else "corpus",
                        passages=counts.get(d.doc_id, 0), footnotes=len(d.footnotes),
                        added=entries.get(d.doc_id, {}).get("added"))
        for d in index.documents.values()
    ]


@router.get("/documents/{doc_id}", response_model=DocumentOut, responses=ERROR_RESPONSES)
def get_document(doc_id: str, index: IndexDep) -> DocumentOut:
    """One document's title, clean text (what footnote offsets index), sections and own footnotes."""
    doc = index.documents.get(doc_id)
    if doc is None:
        raise NotFound(f"no document with id {doc_id!r}: GET /documents lists them")
    return DocumentOut.of(doc)
