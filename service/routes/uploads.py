"""POST /documents (upload), DELETE /documents/{doc_id}, GET /jobs, GET /jobs/{job_id} and DELETE /jobs/{job_id}.

Uploads are read as a stream with a byte budget (``FOOTNOTE_MAX_UPLOAD_MB`` per file and per request), staged,
and ingested in the background by ``service.jobs.JobRunner``; the reply is ``202`` with the job to poll.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from pathlib import Path
from typing import IO, Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from footnote.errors import InputError, UnsupportedUpload, UploadTooLarge
from footnote.ingest.documents import unsupported_reason
from footnote.ingest.loaders import FORMATS
from footnote.service.deps import ApiKey, JobsDep, SettingsDep, WriteAccess
from footnote.service.errors import ERROR_RESPONSES
from footnote.service.guard import BodyLimit
from footnote.service.jobs import Job
from footnote.service.names import safe_name
from footnote.settings import Settings

router = APIRouter(tags=["documents"])

MAX_FILES = 100  # file parts per upload request (README, Uploads)
MAX_FIELDS = 10  # other form fields per upload request
OVERHEAD = 256 * 1024  # multipart boundaries and part headers on top of the files themselves
UPLOAD_BODY = {
    "required": True,
    "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["files"],
        "properties": {"files": {"type": "array", "minItems": 1, "items": {"type": "string", "format": "binary"}}},
    }}},
}
WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    403: {"description": "No FOOTNOTE_API_KEY and the server listens beyond localhost, or a cross-site request"},
    409: {"description": "The document comes from the corpus folder (read-only here)"},
    413: {"description": "Over FOOTNOTE_MAX_UPLOAD_MB per file or per request"},
    415: {"description": "Not multipart/form-data, or no file in a format ingest reads"},
}


class UploadBodyLimit(BodyLimit):
    """The request guard's cap for POST /documents: the upload limit plus the multipart overhead."""

    def message(self) -> str:
        return f"the upload is over the limit of {self.setting} per request (FOOTNOTE_MAX_UPLOAD_MB)"


def body_limit(settings: Settings) -> BodyLimit:
    return UploadBodyLimit(int(settings.max_upload_mb * 1e6) + OVERHEAD, f"{settings.max_upload_mb:g} MB")


def _mb(n: float) -> str:
    return f"{n / 1e6:.3g} MB"


@router.post("/documents", status_code=202, response_model=Job, responses=WRITE_RESPONSES,
             dependencies=[WriteAccess], openapi_extra={"requestBody": UPLOAD_BODY})
async def upload_documents(request: Request, jobs: JobsDep, settings: SettingsDep) -> JSONResponse:
    """Store the files (txt, md, html, pdf, docx) and ingest them in the background: poll the job."""
    from starlette.datastructures import UploadFile
    from starlette.formparsers import MultiPartException, MultiPartParser

    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "multipart/form-data":
        got = ctype or "none"
        raise UnsupportedUpload(f"send the files as `multipart/form-data`, one `files` part each (got {got})")
    limit = int(settings.max_upload_mb * 1e6)
    shown = f"{settings.max_upload_mb:g} MB"
    too_big = f"the upload is over the limit of {shown} per request (FOOTNOTE_MAX_UPLOAD_MB)"
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit + OVERHEAD:
        raise UploadTooLarge(f"the upload is {_mb(int(length))}, over the limit of {shown} per request "
                             "(FOOTNOTE_MAX_UPLOAD_MB)")

    async def capped() -> AsyncGenerator[bytes, None]:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit + OVERHEAD:
                raise UploadTooLarge(too_big)
            yield chunk

    parser = MultiPartParser(request.headers, capped(), max_files=MAX_FILES, max_fields=MAX_FIELDS)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise InputError(f"the body is not valid multipart/form-data: {exc.message}") from exc
    try:
        files = [(v.filename or "", v) for _, v in form.multi_items() if isinstance(v, UploadFile)]
        if not files:
            raise InputError("no files in the upload: send one or more `files` parts with a filename")
        for name, upload in files:
            if (upload.size or 0) > limit:
                raise UploadTooLarge(f"{name} is {_mb(upload.size or 0)}, over the limit of {shown} per file "
                                     "(FOOTNOTE_MAX_UPLOAD_MB)")
        total = sum(upload.size or 0 for _, upload in files)
        if total > limit:
            raise UploadTooLarge(f"the files add up to {_mb(total)}, over the limit of {shown} per request "
                                 "(FOOTNOTE_MAX_UPLOAD_MB)")
        if not any(Path(safe_name(name)).suffix.lower() in FORMATS for name, _ in files):
            reasons = "; ".join(f"{name}: {unsupported_reason(Path(safe_name(name)))}" for name, _ in files)
            raise UnsupportedUpload(f"nothing to ingest ({reasons}): upload {', '.join(sorted(FORMATS))} files")
        handles: list[tuple[str, IO[bytes]]] = [(name, upload.file) for name, upload in files]
        job = await run_in_threadpool(jobs.submit_upload, handles)
    finally:
        await form.close()
    return JSONResponse(status_code=202, content=job.model_dump(),
                        headers={"Location": f"/jobs/{job.id}"})


@router.delete("/documents/{doc_id}", status_code=202, response_model=Job, responses=WRITE_RESPONSES,
               dependencies=[WriteAccess])
def delete_document(doc_id: str, jobs: JobsDep) -> JSONResponse:
    """Remove an uploaded document and re-index in the background; corpus documents get 409."""
    job = jobs.submit_delete(doc_id)
    return JSONResponse(status_code=202, content=job.model_dump(), headers={"Location": f"/jobs/{job.id}"})


@router.get("/jobs", response_model=list[Job], responses=ERROR_RESPONSES, dependencies=[ApiKey])
def list_jobs(jobs: JobsDep) -> list[Job]:
    """The latest upload and delete jobs, newest first."""
    return jobs.recent()


@router.get("/jobs/{job_id}", response_model=Job, responses=ERROR_RESPONSES, dependencies=[ApiKey])
def get_job(job_id: str, jobs: JobsDep) -> Job:
    """A job's state (queued, parsing, embedding, done, failed), progress and per-file results."""
    return jobs.get(job_id)


@router.delete("/jobs/{job_id}", status_code=202, response_model=Job, responses=WRITE_RESPONSES,
               dependencies=[WriteAccess])
def cancel_job(job_id: str, jobs: JobsDep) -> JSONResponse:
    """Cancel a queued or running upload, delete or sync job: it fails with the reason "cancelled" and changes
    nothing (a job already publishing its index finishes). A finished job is returned as it is."""
    job = jobs.cancel(job_id)
    return JSONResponse(status_code=202, content=job.model_dump(), headers={"Location": f"/jobs/{job.id}"})
