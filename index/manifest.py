"""``manifest.json``: one typed object, read and written here only.

A version folder's manifest says what built it (model and its weights sha256, chunking, BM25 recipe),
what it holds (documents, counts), where its passage vectors live (``dense``: the vector store's own
section) and the size of every other file, so a truncated copy is refused on load.

A new section is a new field with a default. Its type may be plain JSON data or a frozen dataclass with
``to_dict()`` and ``from_dict()``; ``to_dict``/``from_dict`` below call those, so e.g. fitted parameters and
their evidence travel as one typed value::

    fusion: FusionFit | None = None   # FusionFit.to_dict() / FusionFit.from_dict(data)
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from footnote.errors import IndexIncompatible
from footnote.index.files import MANIFEST
from footnote.index.hybrid import FusionFit

FORMAT = "footnote-index"
FORMAT_VERSION = 1
# Bump when what the indexes see of a passage (index/text.py) changes: stored vectors become stale.
TEXT_RECIPE = "heading+text+sources/v1"
ROWS = "row i of every array, the vector store and bm25/ is line i of passages.jsonl"


@dataclass(frozen=True, kw_only=True)
class Manifest:
    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    version: str
    created: str
    model: dict[str, Any]  # name, sha256, dim, max_seq_length, path
    text_recipe: str = TEXT_RECIPE
    chunking: dict[str, Any]  # chunk_tokens, overlap, chunker
    bm25: dict[str, Any]
    rows: str = ROWS
    counts: dict[str, int]  # documents, passages, sentences
    documents: list[dict[str, Any]]  # doc_id, path, source, root, sha256, passages, added (ISO 8601 UTC)
    dense: dict[str, Any] = field(default_factory=dict)  # the vector store's section: {"store": ..., ...}
    files: dict[str, int] = field(default_factory=dict)  # every other file of the folder -> its size
    # The paths the ingest was given, the managed uploads folder apart (None: an index from before this field).
    sources: list[str] | None = None
    sentence_vectors: bool = True  # False: built for retrieval only (update_index(sentences=False))
    fusion: FusionFit | None = None  # the hybrid fusion fitted at ingest and its evidence (index.fit)

    @property
    def store(self) -> str:
        """The vector store that holds this version's passage vectors (faiss, milvus)."""
        return str(self.dense.get("store", "faiss"))

    @property
    def dim(self) -> int:
        return int(self.model["dim"])

    def replace(self, **changes: Any) -> Manifest:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.to_dict() if hasattr(value, "to_dict") else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """The manifest in ``data`` (KeyError/TypeError/ValueError when a required section is missing)."""
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            kind = _typed(hints[f.name])
            values[f.name] = kind.from_dict(value) if kind is not None and isinstance(value, dict) else value
        return cls(**values)

    def write(self, folder: Path) -> Manifest:
        """Write ``folder/manifest.json`` last, naming the size of every other file; returns what it wrote."""
        files = {p.relative_to(folder).as_posix(): p.stat().st_size
                 for p in sorted(folder.rglob("*")) if p.is_file() and p.name != MANIFEST}
        written = self.replace(files=files)
        (folder / MANIFEST).write_text(json.dumps(written.to_dict(), ensure_ascii=False, indent=2) + "\n",
                                       encoding="utf-8")
        return written


def _typed(hint: Any) -> Any:
    """The dataclass with ``from_dict`` in a field's type (``X`` or ``X | None``), else None."""
    for candidate in (hint, *typing.get_args(hint)):
        if isinstance(candidate, type) and hasattr(candidate, "from_dict"):
            return candidate
    return None


def rerun(index_dir: Path, why: str) -> IndexIncompatible:
    return IndexIncompatible(f"the index at {index_dir} {why}; re-run `footnote ingest`")


def read_manifest(folder: Path, index_dir: Path | None = None) -> Manifest:
    """The manifest of a version folder, checked for format and file sizes (truncation)."""
    shown = index_dir or folder
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise rerun(shown, "has no manifest.json") from exc
    except (OSError, ValueError) as exc:
        raise rerun(shown, f"has a damaged manifest.json ({exc.__class__.__name__})") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise rerun(shown, "is not a Footnote index")
    if data.get("format_version") != FORMAT_VERSION:
        raise rerun(shown, f"has format version {data.get('format_version')}, this Footnote reads "
                           f"version {FORMAT_VERSION}")
    try:
        manifest = Manifest.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise rerun(shown, f"has a damaged manifest.json ({exc.__class__.__name__}: {exc})") from exc
    for name, size in manifest.files.items():
        path = folder / name
        if not path.is_file():
            raise rerun(shown, f"is damaged: {name} is missing")
        if path.stat().st_size != size:
            raise rerun(shown, f"is damaged: {name} has {path.stat().st_size} bytes, expected {size}")
    return manifest
