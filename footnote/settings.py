"""The one settings object: every knob, read from ``FOOTNOTE_*`` environment variables.

Built at the edges only (each CLI command, ``service.app.create_app``), which pass plain values down:
nothing in ``ingest/``, ``index/``, ``service/`` or ``eval/`` reads the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def fusion_weights(value: str) -> tuple[float, float] | str | None:
    """``FOOTNOTE_FUSION`` read as plain values: None for ``auto`` (the weights fitted at ingest), ``"rrf"``
    for reciprocal-rank fusion, else the convex weights (dense, bm25) summing to 1, from ``DENSE,BM25`` such
    as ``0.3,0.7`` (or just ``DENSE``). Raises ``ValueError`` naming what is wrong."""
    text = value.strip().lower()
    if text in ("", "auto"):
        return None
    if text == "rrf":
        return "rrf"
    try:
        weights = [float(part) for part in text.split(",")]
    except ValueError:
        raise ValueError(f"use auto, rrf, or weights dense,bm25 such as 0.3,0.7 (not {value!r})") from None
    if len(weights) == 1:
        weights.append(1.0 - weights[0])
    if len(weights) != 2 or min(weights) < 0 or sum(weights) <= 0:
        raise ValueError(f"weights are two numbers dense,bm25, >= 0 and not both 0 (not {value!r})")
    total = sum(weights)
    return weights[0] / total, weights[1] / total


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FOOTNOTE_", extra="ignore")

    # Where things live.
    index_dir: Path = Path(".footnote/index")
    corpus_dir: Path = Path("corpus")

    # Ingest: passages are token-budgeted with tiktoken's cl100k_base (offline copy).
    chunk_tokens: int = Field(default=160, ge=16, le=1024, description="token budget of one passage")
    chunk_overlap: int = Field(default=0, ge=0, le=3, description="sentences repeated between passages")

    # OCR of scanned PDF pages (ingest.ocr): Tesseract, through PyMuPDF; Debian's tesseract-ocr (make install).
    ocr: bool = Field(default=True, description="OCR PDF pages that have no text layer (scans)")
    ocr_language: str = Field(default="eng", min_length=1, description="Tesseract language(s): eng, eng+deu")
    ocr_max_pages: int = Field(default=200, ge=0, description="pages OCRed per document at most")

    # Parse workers (ingest.worker): every file is read and chunked in a separate process with these limits; a file
    # that breaks one is skipped with the reason. 0 workers reads in the ingest's own process, without limits.
    parse_workers: int = Field(default=2, ge=0, le=64, description="parse worker processes (0: none, no limits)")
    parse_max_mb: int = Field(default=1024, ge=64, description="memory (address space) a file may take to read, MB")
    parse_cpu_seconds: int = Field(default=120, ge=1, description="processor seconds a file may take to read")
    parse_wall_seconds: float = Field(default=120, gt=0, description="seconds a file may take to read")
    parse_max_output_mb: int = Field(default=256, ge=1, description="size of one file's text and passages, MB")
    # Checks before anything is expanded (ingest.guards).
    zip_max_mb: int = Field(default=200, ge=1, description="uncompressed size of a docx (any zip), MB")
    zip_max_ratio: int = Field(default=100, ge=2, description="compression ratio of a zip member over 1 MB")
    pdf_max_pages: int = Field(default=2000, ge=1, description="pages of a PDF")
    pdf_max_stream_mb: int = Field(default=64, ge=1, description="one PDF content stream, decoded, MB")
    pdf_max_total_mb: int = Field(default=256, ge=1, description="all content streams of a PDF, decoded, MB")
    # Upload, delete and sync jobs (service.jobs): one that runs longer fails with that reason.
    job_timeout_seconds: float = Field(default=1800, gt=0, description="seconds one job may run")

    # Embeddings: None means the packaged all-MiniLM-L6-v2 (verified by sha256).
    model_path: str | None = None
    embed_batch_size: int = 64
    # A server's queries run on the model exported to ONNX Runtime at start-up (checked against torch when it is
    # built; about half torch's time for one question); "torch" runs them on torch like everything else.
    query_runtime: Literal["onnx", "torch"] = "onnx"
    # Where passage vectors live: None keeps what the index was built with (new indexes: FAISS).
    store: Literal["faiss", "milvus"] | None = None
    milvus_uri: str | None = None
    # FAISS: exact search for small corpora, HNSW above 30,000 passages ("auto"), or forced.
    dense_index: Literal["auto", "flat", "hnsw"] = "auto"
    # Ingest embeds on Ray (index.ray_embed): "local" starts an instance for the run, "auto" joins this machine's
    # cluster, or ray://head:10001 or head:6379 names one. None: in this process.
    ray_address: str | None = None

    # Service.
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    max_question_chars: int = 2000
    max_history_turns: int = 50
    max_top_k: int = 50
    # Hostile input: every request is bounded before it is parsed (docs/api.md, Checks, in order).
    max_body_kb: int = Field(default=1024, ge=1, description="request body size limit (413 above)")
    max_turn_chars: int = Field(default=20_000, ge=1, description="characters per history turn or chat message")
    max_history_chars: int = Field(default=100_000, ge=1, description="characters of all history turns together")
    # Host names the server answers to (comma-separated; "*" for any, "*.example.org" for subdomains). Unset:
    # any name, except that a request arriving over loopback must name a loopback host (DNS rebinding).
    allowed_hosts: Annotated[list[str] | None, NoDecode] = None

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value
    # `footnote serve --watch`: the corpus folder is watched and each change ingested (a "sync" job).
    watch: bool = False
    watch_debounce_ms: int = Field(default=500, ge=50, le=60_000,
                                   description="quiet time after a change before it is ingested")
    # The HTTP server (uvicorn; `footnote serve` options of the same names). An idle keep-alive connection is closed
    # after keep_alive_seconds; beyond max_connections open connections (or tasks) a request gets 503 at once.
    keep_alive_seconds: int = Field(default=5, ge=1, le=300, description="idle keep-alive connections closed after")
    max_connections: int = Field(default=100, ge=1, description="concurrent connections; beyond them: 503")
    graceful_shutdown_seconds: int = Field(default=10, ge=0, description="wait for open requests on shutdown")
    # Behind a reverse proxy: X-Forwarded-For/-Proto are read from these addresses only ("*": any), so client
    # addresses and https are seen as the proxy saw them; "" reads them from nobody.
    forwarded_allow_ips: str = Field(default="127.0.0.1,::1", description="proxies trusted for X-Forwarded-*")
    # Uploads (POST /documents): the limit per file and per request, in MB (10**6 bytes).
    max_upload_mb: float = Field(default=50, gt=0, description="size limit per uploaded file and per request")

    # Answers (service.answering.AnswerSettings). The reader's thresholds are fitted with its weights
    # (service/answering/reader.json, footnote train-reader); None keeps the fitted value.
    answer_abstain_below: float | None = Field(default=None, ge=0, le=1,
                                               description="abstain when the answer's confidence is below this")
    answer_confident_from: float | None = Field(default=None, ge=0, le=1,
                                                description="below this an answer says the documents may not answer")
    answer_quote_bar: float | None = Field(default=None, ge=0, le=1,
                                           description="every further quote's probability must reach this")
    answer_max_quotes: int = Field(default=3, ge=1, le=10, description="quotes (footnotes) per answer at most")
    # The reader: "features" (logistic regressions over the features; about 2 ms an answer) or "neural" (the same
    # stacked with a cross-encoder fine-tuned on eval/sets/reading, which reads six sentences per question on
    # ONNX Runtime: docs/reader.md has both readers' figures and costs).
    reader: Literal["features", "neural"] = "features"
    # The neural reader's cross-encoder on ONNX Runtime: "int8" (matrix products quantized, about three times
    # faster) or "float32" (as trained). None: what the reader's reader.json says.
    cross_precision: Literal["float32", "int8"] | None = None

    # Hybrid retrieval (index.hybrid): "auto" uses the convex weights fitted to the corpus at ingest
    # (index.fit); "rrf" pins weighted reciprocal-rank fusion with the four knobs below; "0.3,0.7" pins
    # convex weights dense,bm25 (read to fusion_depth).
    fusion: str = "auto"
    fusion_k0: float = Field(default=60.0, gt=0)
    fusion_dense_weight: float = Field(default=1.0, ge=0)
    fusion_bm25_weight: float = Field(default=1.0, ge=0)
    fusion_depth: int = Field(default=50, ge=1, description="how deep each ranking is read")

    @field_validator("fusion")
    @classmethod
    def _fusion_is_known(cls, value: str) -> str:
        fusion_weights(value)  # ValueError names the problem
        return value
