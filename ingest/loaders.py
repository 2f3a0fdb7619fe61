"""Format dispatch: raw bytes -> blocks (``Loaded``), with one short reason when a file is unreadable."""

from __future__ import annotations

from footnote.errors import UnreadableDocument
from footnote.ingest.encoding import BinaryContent, decode
from footnote.ingest.units import Loaded

FORMATS = {
    ".txt": "txt",
    ".text": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
}


def load(raw: bytes, fmt: str, name: str) -> Loaded:
    if fmt == "pdf":
        from footnote.ingest.pdf_loader import load_pdf

        return load_pdf(raw, name)
    if fmt == "docx":
        from footnote.ingest.docx_loader import load_docx

        return load_docx(raw, name)
    try:
        text = decode(raw)
    except BinaryContent as exc:
        raise UnreadableDocument(name, "binary file") from exc
    if not text.strip():
        raise UnreadableDocument(name, "empty file")
    if fmt == "html":
        from footnote.ingest.html_loader import load_html

        return load_html(text)
    from footnote.ingest.text_loader import load_text

    return load_text(text, markdown=fmt == "md")
