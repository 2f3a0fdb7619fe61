"""The plain data that flows out of ingest: documents, their own footnotes, and passages.

All offsets are character offsets into ``Document.text`` (the cleaned text), so for every passage
``document.text[passage.start:passage.end] == passage.text``; the same holds for each sentence span.
Footnote markers (``sufficiently¹``, ``[^3]``, ``<sup>3</sup>``) are removed from the clean text and
kept as ``Document.markers``: ``(offset, marker)`` pairs, the offset being where the marker stood.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any


@dataclass(frozen=True)
class Citation:
    """One of the document's own footnotes or endnotes."""

    marker: str
    text: str
    urls: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"marker": self.marker, "text": self.text, "urls": list(self.urls)}

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> Citation:
        return cls(marker=str(row["marker"]), text=row["text"], urls=tuple(row.get("urls", ())))


@dataclass(frozen=True)
class Section:
    """A heading path and the span of clean text it governs."""

    path: tuple[str, ...]
    start: int
    end: int
    # The heading's own anchor in the original (an HTML element id), when it has one.
    anchor: str | None = None


@dataclass(frozen=True)
class Document:
    """One ingested file: its clean text, structure and footnotes."""

    doc_id: str
    title: str
    path: str
    sha256: str
    text: str
    format: str = "txt"
    sections: tuple[Section, ...] = ()
    footnotes: tuple[Citation, ...] = ()
    markers: tuple[tuple[int, str], ...] = ()
    # Pages (0-based) whose text was read by OCR (a scanned PDF); written to documents.jsonl only when any.
    ocr_pages: tuple[int, ...] = ()
    # A PDF's page map (ingest.pages.align), set by ingest and written by the index beside its versions
    # (index.pages), never into documents.jsonl; None when the document was not just parsed or is no PDF.
    page_map: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def ocr(self) -> bool:
        """Whether some of the text was read by OCR rather than from the file's own text."""
        return bool(self.ocr_pages)

    def footnote(self, marker: str) -> Citation | None:
        return self._notes.get(marker)

    def citations_between(self, start: int, end: int) -> tuple[Citation, ...]:
        """The footnotes whose markers stand in ``[start, end]`` (a marker right after the end counts), in
        text order. Two binary searches in the sorted marker offsets, so chunking a document is not
        quadratic in its markers (a 50 MB text with 30,000 footnotes spent minutes here)."""
        offsets, markers = self._marker_index
        seen: dict[str, Citation] = {}
        for i in range(bisect_left(offsets, start), bisect_right(offsets, end)):
            marker = markers[i]
            if marker not in seen and (note := self._notes.get(marker)) is not None:
                seen[marker] = note
        return tuple(seen.values())

    # Built on first use; cached_property writes the instance __dict__, which a frozen dataclass allows.
    @cached_property
    def _notes(self) -> dict[str, Citation]:
        notes: dict[str, Citation] = {}
        for note in self.footnotes:
            notes.setdefault(note.marker, note)  # the first definition wins, as it always has
        return notes

    @cached_property
    def _marker_index(self) -> tuple[list[int], list[str]]:
        """Offsets sorted (stable: markers at one offset keep their order) and the markers in that order."""
        ordered = sorted(self.markers, key=lambda pair: pair[0])
        return [offset for offset, _ in ordered], [marker for _, marker in ordered]

    def to_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "doc_id": self.doc_id,
            "title": self.title,
            "path": self.path,
            "sha256": self.sha256,
            "format": self.format,
            "text": self.text,
            "sections": [
                {"path": list(s.path), "start": s.start, "end": s.end, **({"anchor": s.anchor} if s.anchor else {})}
                for s in self.sections
            ],
            "footnotes": [c.to_dict() for c in self.footnotes],
            "markers": [[offset, marker] for offset, marker in self.markers],
        }
        if self.ocr_pages:
            row["ocr"] = True
            row["ocr_pages"] = list(self.ocr_pages)
        return row

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> Document:
        return cls(
            doc_id=row["doc_id"],
            title=row["title"],
            path=row["path"],
            sha256=row["sha256"],
            text=row["text"],
            format=row.get("format", "txt"),
            sections=tuple(
                Section(tuple(s["path"]), int(s["start"]), int(s["end"]), s.get("anchor"))
                for s in row.get("sections", ())
            ),
            footnotes=tuple(Citation.from_dict(c) for c in row.get("footnotes", ())),
            markers=tuple((int(o), str(m)) for o, m in row.get("markers", ())),
            ocr_pages=tuple(int(n) for n in row.get("ocr_pages", ())),
        )


@dataclass(frozen=True)
class Passage:
    """A sentence-aware, token-budgeted span of one section of one document."""

    id: str
    doc_id: str
    title: str
    section: tuple[str, ...]
    text: str
    start: int
    end: int
    tokens: int
    citations: tuple[Citation, ...] = ()
    # Absolute (start, end) offsets of each sentence in the passage, in order.
    sentences: tuple[tuple[int, int], ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "doc_id": self.doc_id,
            "title": self.title,
            "section": list(self.section),
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "tokens": self.tokens,
            "citations": [c.to_dict() for c in self.citations],
            "sentences": [[s, e] for s, e in self.sentences],
        }

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> Passage:
        return cls(
            id=row["id"],
            doc_id=row["doc_id"],
            title=row["title"],
            section=tuple(row["section"]),
            text=row["text"],
            start=int(row["start"]),
            end=int(row["end"]),
            tokens=int(row["tokens"]),
            citations=tuple(Citation.from_dict(c) for c in row.get("citations", ())),
            sentences=tuple((int(s), int(e)) for s, e in row.get("sentences", ())),
        )
