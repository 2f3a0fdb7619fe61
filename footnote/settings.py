"""The one settings object: every knob, read once from ``FOOTNOTE_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FOOTNOTE_", extra="ignore")

    # Where things live.
    index_dir: Path = Path(".footnote/index")
    corpus_dir: Path = Path("corpus")

    # Ingest: passages are token-budgeted with tiktoken's cl100k_base (offline copy).
    chunk_tokens: int = Field(default=160, ge=16, le=1024, description="token budget of one passage")
    chunk_overlap: int = Field(default=0, ge=0, le=3, description="sentences repeated between passages")

    # Embeddings: None means the packaged all-MiniLM-L6-v2 (verified by sha256).
    model_path: str | None = None
    embed_batch_size: int = 64
    # Where passage vectors live: None keeps what the index was built with (new indexes: FAISS).
    store: Literal["faiss", "milvus"] | None = None
    milvus_uri: str | None = None
    # FAISS: exact search for small corpora, HNSW above 30,000 passages ("auto"), or forced.
    dense_index: Literal["auto", "flat", "hnsw"] = "auto"

    # Service.
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    max_question_chars: int = 2000
    max_history_turns: int = 50
    max_top_k: int = 50


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
