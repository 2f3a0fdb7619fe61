"""POST /search: the passages a query retrieves, in rank order."""

from __future__ import annotations

from fastapi import APIRouter

from footnote.service.deps import AnswererDep, ApiKey, IndexDep, SettingsDep
from footnote.service.errors import ERROR_RESPONSES
from footnote.service.limits import check_limits
from footnote.service.models import PassageOut, SearchRequest, SearchResponse
from footnote.service.where import page_map

router = APIRouter(tags=["search"], dependencies=[ApiKey])


@router.post("/search", response_model=SearchResponse, responses=ERROR_RESPONSES)
def search(request: SearchRequest, index: IndexDep, answerer: AnswererDep, settings: SettingsDep) -> SearchResponse:
    """Retrieve passages with `hybrid` (default), `dense` or `bm25` search. With `rerank`, the passages are
    reordered by the reader: a passage scores as its best sentence's probability of answering the query."""
    check_limits(settings, text=(("body", "query"), request.query), k=(("body", "k"), request.k))
    hits = index.retriever(request.mode).search(request.query, request.k)
    if request.rerank:
        hits = answerer.rerank(request.query, hits)
    return SearchResponse(passages=[PassageOut.of(hit, page_map(index, index.documents[hit.passage.doc_id]))
                                    for hit in hits])
