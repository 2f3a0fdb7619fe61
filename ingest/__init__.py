"""Ingest: files -> clean documents (structure + their own footnotes) -> citable passages.

Public entry points (the index stage calls only these):

- ``discover(paths) -> list[Path]``: the supported files under the given files/folders, sorted.
- ``parse(path, root=None) -> Document``: read one file; raises ``DocumentError`` with a reason.
- ``chunk(document, budget=160, overlap=0) -> list[Passage]``: sentence-aware, token-budgeted passages.
- ``count_tokens(text) -> int``: cl100k_base tokens (offline encoding).
"""

from __future__ import annotations

from ingest.models import Citation, Document, Passage, Section

__all__ = ["Citation", "Document", "Passage", "Section"]
