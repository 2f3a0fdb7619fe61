"""GET /healthz (the process is up) and GET /readyz (an index is loaded and can answer)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from footnote.errors import IndexError_
from footnote.service.deps import HolderDep
from footnote.service.errors import HOST_ERROR
from footnote.service.models import Health, Ready

router = APIRouter(tags=["health"], responses=HOST_ERROR)


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Ready, responses={503: {"model": Ready}})
def readyz(holder: HolderDep) -> Ready | JSONResponse:
    try:
        answerer = holder.answerer()
    except IndexError_ as exc:
        body = Ready(ready=False, documents=0, passages=0, index_version=None, detail=str(exc))
        return JSONResponse(status_code=503, content=body.model_dump())
    index = answerer.index
    return Ready(ready=True, documents=len(index.documents), passages=len(index.passages),
                 index_version=index.version, fusion=index.fusion_status())
