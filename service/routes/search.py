"""POST /search: the passages a query retrieves, in rank order."""

from __future__ import annotations

from fastapi import APIRouter

from footnote.service.answer import passage_out
from footnote.service.deps import AnswererDep, ApiKey
from footnote.service.errors import ERROR_RESPONSES
from footnote.service.models import SearchRequest, SearchResponse

router = APIRouter(tags=["search"], dependencies=[ApiKey])


@router.post("/search", response_model=SearchResponse, responses=ERROR_RESPONSES)
def search(request: SearchRequest, answerer: AnswererDep) -> SearchResponse:
    """Retrieve passages with `hybrid` (default), `dense` or `bm25` search."""
    hits = answerer.index.retriever(request.mode).search(request.query, request.k)
    return SearchResponse(passages=[passage_out(hit) for hit in hits])
