"""Ingest: files -> clean documents (structure + their own footnotes) -> citable passages.

Public entry points (the index stage calls only these):

- ``discover(paths) -> (files, skipped)``: the supported files under the given files/folders, sorted,
  and ``(path, reason)`` for each file skipped as unsupported.
- ``parse(path, root=None) -> Document``: read one file; raises ``DocumentError`` with a reason.
- ``chunk(document, budget=160, overlap=0) -> list[Passage]``: sentence-aware, token-budgeted passages.
- ``count_tokens(text) -> int``: cl100k_base tokens (offline encoding).
"""

from __future__ import annotations

from footnote.ingest.chunking import chunk
from footnote.ingest.documents import discover, parse
from footnote.ingest.models import Citation, Document, Passage, Section
from footnote.ingest.tokens import count_tokens

__all__ = ["Citation", "Document", "Passage", "Section", "chunk", "count_tokens", "discover", "parse"]
