"""GET /documents and /documents/{doc_id}: the clean text a quote's offsets point into."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from footnote.errors import NotFound
from footnote.service.deps import ApiKey, IndexDep
from footnote.service.errors import ERROR_RESPONSES
from footnote.service.models import DocumentOut

router = APIRouter(tags=["documents"], dependencies=[ApiKey])


class DocumentSummary(BaseModel):
    doc_id: str
    title: str
    path: str
    format: str
    chars: int


@router.get("/documents", response_model=list[DocumentSummary], responses=ERROR_RESPONSES)
def list_documents(index: IndexDep) -> list[DocumentSummary]:
    """Every ingested document, without its text."""
    return [
        DocumentSummary(doc_id=d.doc_id, title=d.title, path=d.path, format=d.format, chars=len(d.text))
        for d in index.documents.values()
    ]


@router.get("/documents/{doc_id}", response_model=DocumentOut, responses=ERROR_RESPONSES)
def get_document(doc_id: str, index: IndexDep) -> DocumentOut:
    """One document's title, clean text (what footnote offsets index), sections and own footnotes."""
    doc = index.documents.get(doc_id)
    if doc is None:
        raise NotFound(f"no document with id {doc_id!r}: GET /documents lists them")
    return DocumentOut.of(doc)
